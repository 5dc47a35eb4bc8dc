import { App } from 'aws-cdk-lib';
import type { ChaperoneProps } from './chaperone.js';

/** Options of {@link newApp}. */
export interface BuildAppOptions {
  /** Where the cloud assembly goes. @default - CDK's default (`cdk.out` under the CLI, a temp dir otherwise) */
  readonly outdir?: string;
  /**
   * Bundle the handlers with esbuild. `false` skips bundling (context
   * `aws:cdk:bundling-stacks: []`): functions get placeholder code, and synth
   * takes a second or two. Tests and the local runtime use `false`.
   * @default true
   */
  readonly bundle?: boolean;
  /** Extra context, e.g. `{ 'chaperone:approvalsFrom': 'approvals@acme.test' }`. @default {} */
  readonly context?: Record<string, unknown>;
  /**
   * Run CDK's built-in CloudFormation template validation at synth (it finds
   * dependency cycles and invalid properties, and costs several seconds).
   * `CDK_VALIDATION=false` in the environment turns it off as well.
   * @default true
   */
  readonly validate?: boolean;
}

/**
 * A CDK `App` with Chaperone's synth options: bundling on or off, CDK's
 * CloudFormation validation on or off, extra context. The example app, the
 * infra tests and the local runtime's fast path build their app with it.
 */
export function newApp(options: BuildAppOptions = {}): App {
  const context: Record<string, unknown> = { ...options.context };
  if (options.bundle === false) context['aws:cdk:bundling-stacks'] = [];
  return new App({
    outdir: options.outdir,
    context,
    builtinCloudFormationValidation: options.validate ?? true,
  });
}

/**
 * The construct props an app's context may set: `chaperone:approvalsFrom`
 * (default `approvals@example.com`), `chaperone:alertEmails`
 * (comma-separated), `chaperone:anthropicBaseUrl`.
 */
export function propsFromContext(
  app: App,
): Pick<ChaperoneProps, 'approvalsFrom' | 'alertEmails' | 'anthropicBaseUrl'> {
  return {
    approvalsFrom: stringContext(app, 'chaperone:approvalsFrom'),
    alertEmails: stringContext(app, 'chaperone:alertEmails')
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    anthropicBaseUrl: stringContext(app, 'chaperone:anthropicBaseUrl'),
  };
}

function stringContext(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

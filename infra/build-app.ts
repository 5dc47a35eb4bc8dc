import { App } from 'aws-cdk-lib';
import { workflows } from '../examples/index.js';
import { ChaperoneStack } from './chaperone-stack.js';

/** Options of {@link buildApp}. */
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

/** The stack's id, and its CloudFormation name. */
export const STACK_NAME = 'Chaperone';

/**
 * Build the Chaperone CDK app in-process (the CLI entry, tests and the local
 * runtime share it). Context read: `chaperone:approvalsFrom` (default
 * `approvals@example.com`), `chaperone:alertEmails` (comma-separated),
 * `chaperone:anthropicBaseUrl`.
 */
export function buildApp(options: BuildAppOptions = {}): { app: App; stack: ChaperoneStack } {
  const context: Record<string, unknown> = { ...options.context };
  if (options.bundle === false) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({
    outdir: options.outdir,
    context,
    builtinCloudFormationValidation: options.validate ?? true,
  });
  const stack = new ChaperoneStack(app, STACK_NAME, {
    workflows,
    approvalsFrom: stringContext(app, 'chaperone:approvalsFrom'),
    alertEmails: stringContext(app, 'chaperone:alertEmails')
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    anthropicBaseUrl: stringContext(app, 'chaperone:anthropicBaseUrl'),
  });
  return { app, stack };
}

function stringContext(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

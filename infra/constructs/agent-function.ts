import * as path from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { acknowledge } from '../acknowledge.js';
import { REPO_ROOT } from '../repo-root.js';
import { HANDLER_NODE_OPTIONS, handlerBuildOptions } from './handler-entries.js';

/** CloudFormation metadata key on the function resource: the handler's repo-relative path. */
export const HANDLER_METADATA_KEY = 'chaperone:handler';

export interface AgentFunctionProps {
  /**
   * The handler entry file exporting `handler` (and `createHandler(env)`):
   * absolute, or relative to the repository root. Recorded as
   * `chaperone:handler` metadata so the local runtime loads the same file
   * Lambda runs.
   */
  readonly handlerPath: string;
  /** The directory bundling runs in (esbuild's working directory). @default the Chaperone package root */
  readonly projectRoot?: string;
  /**
   * Accepted for compatibility and ignored: the bundle carries everything it
   * imports (nothing external, so nothing is installed beside it) and its
   * asset hash is that of its output.
   * @default - none
   */
  readonly depsLockFilePath?: string;
  /** Extra package.json `exports` conditions esbuild resolves with. @default - none */
  readonly bundlingConditions?: readonly string[];
  /** What the function is for, shown in the console. @default - none */
  readonly description?: string;
  /**
   * Hard limit of one invocation. Keep it above every timeout inside the
   * handler (model client, tool timeout) so the handler can fail with a named error.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /** Memory (and so CPU) of the function, MiB. @default 512 */
  readonly memorySize?: number;
  /** Extra environment variables. @default - only the Powertools and source-map variables */
  readonly environment?: Record<string, string>;
  /** `POWERTOOLS_SERVICE_NAME`: the `service` dimension of every metric and log line. @default 'chaperone' */
  readonly serviceName?: string;
  /** `POWERTOOLS_LOG_LEVEL`. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Retention of the function's log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Reserved concurrency. @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The one Lambda function shape of Chaperone: Node.js 22 on arm64, a
 * minified ESM bundle with source maps and the AWS SDK inside it, built by
 * esbuild's API with {@link handlerBuildOptions} (the options the cold-start
 * bench and the bundle tests build with: what is measured is what is
 * deployed; see `HANDLER_BUNDLING`), X-Ray tracing, Powertools configuration, its own
 * log group with a retention, and a role that starts with nothing but writing
 * to that log group (everything else is granted by intent).
 *
 * When the stack is synthesised without bundling (`aws:cdk:bundling-stacks`
 * excludes it: tests, the local runtime) the code is a placeholder and the
 * entry file need not exist yet; the `chaperone:handler` metadata still says
 * which file the function runs.
 */
export class AgentFunction extends lambda.Function {
  /** The function's log group (also reachable as `logGroup`). */
  public readonly functionLogGroup: logs.LogGroup;
  /** The repo-relative handler entry file. */
  public readonly handlerPath: string;

  constructor(scope: Construct, id: string, props: AgentFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.handlerPath}`,
    });
    // Only this function's own log group, instead of AWSLambdaBasicExecutionRole's logs:* on *.
    logGroup.grantWrite(role);
    const bundled = Stack.of(scope).bundlingRequired;
    super(scope, id, {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      ...(bundled
        ? {
            code: bundledCode(
              path.isAbsolute(props.handlerPath)
                ? props.handlerPath
                : path.join(REPO_ROOT, props.handlerPath),
              props.projectRoot ?? REPO_ROOT,
              props.bundlingConditions ?? [],
            ),
            handler: 'index.handler',
          }
        : {
            code: lambda.Code.fromInline('// bundling skipped at synth; see chaperone:handler metadata'),
            handler: 'index.handler',
          }),
      environment: {
        NODE_OPTIONS: HANDLER_NODE_OPTIONS,
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'chaperone',
        POWERTOOLS_METRICS_NAMESPACE: 'Chaperone',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        ...props.environment,
      },
    });
    this.functionLogGroup = logGroup;
    this.handlerPath = props.handlerPath;
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(HANDLER_METADATA_KEY, props.handlerPath);
    acknowledge(
      this,
      'AwsSolutions-L1',
      'Pinned to nodejs22.x, the runtime the handlers, Powertools and the local runtime are built and tested on; move to a newer one deliberately.',
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level permissions; every other statement names its resource.',
    );
  }
}

/**
 * The function's code: `entry` bundled at synth by esbuild's API, in this
 * process (esbuild is a dependency of Chaperone, so no Docker image is ever
 * needed), into the asset directory: `index.mjs` and the chunks it imports
 * (see `HANDLER_BUNDLING`). The asset hash is the output's, so the same
 * sources synthesise the same asset.
 */
function bundledCode(entry: string, projectRoot: string, conditions: readonly string[]): lambda.Code {
  return lambda.Code.fromAsset(path.dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling always succeeds or throws.
      image: DockerImage.fromRegistry('chaperone-bundles-locally'),
      local: {
        tryBundle(outputDir) {
          buildSync({
            ...handlerBuildOptions(entry, outputDir, conditions),
            absWorkingDir: projectRoot,
          });
          return true;
        },
      },
    },
  });
}

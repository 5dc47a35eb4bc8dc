/**
 * Synthesises the CDK app in-process and reads what the local runtime needs
 * from its template: functions (handler file, timeout, memory, resolved
 * environment), state machines (definitions with local Lambda ARNs), tables,
 * secrets and the REST API's routes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type LocalRestApi, readApiRoutes } from './api-routes.js';
import { TemplateLoadError, TemplateResolutionError } from './errors.js';
import {
  type CfnTemplate,
  IntrinsicResolver,
  localFunctionArn,
  localStateMachineArn,
  type ResolveOptions,
} from './intrinsics.js';

export type { LocalRestApi, LocalRoute } from './api-routes.js';
export type { CfnResource, CfnTemplate, ResolveOptions } from './intrinsics.js';

/** The repository root (this file is `local/runtime/template.ts`). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A Lambda function of the template, ready to run locally. */
export interface LocalFunction {
  logicalId: string;
  /** Function name (the logical id, unless the template sets `FunctionName`). */
  name: string;
  arn: string;
  /** Repo-relative handler file, from `Metadata["chaperone:handler"]`. */
  handlerPath: string;
  /** @default 3, as in Lambda */
  timeoutSeconds: number;
  /** @default 128, as in Lambda */
  memoryMb: number;
  /** The function's `Environment.Variables`, intrinsics resolved. */
  env: Record<string, string>;
}

/** A state machine of the template with its definition resolved. */
export interface LocalStateMachine {
  logicalId: string;
  arn: string;
  /** `Metadata["chaperone:workflow"]`, when set. */
  workflow?: string;
  /** The parsed Amazon States Language definition. */
  definition: Record<string, unknown>;
}

/** A DynamoDB table of the template, in CreateTable terms. */
export interface LocalTable {
  logicalId: string;
  tableName: string;
  keySchema: Array<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>;
  attributeDefinitions: Array<{ AttributeName: string; AttributeType: 'S' | 'N' | 'B' }>;
  globalSecondaryIndexes: Array<Record<string, unknown>>;
  localSecondaryIndexes: Array<Record<string, unknown>>;
}

/** A Secrets Manager secret of the template. */
export interface LocalSecret {
  logicalId: string;
  arn: string;
  /** `SecretString`, when the template sets one. */
  secretString?: string;
  /** `GenerateSecretString`, resolved. */
  generate?: Record<string, unknown>;
}

/** Everything the local runtime reads from one template. */
export interface LocalApp {
  functions: LocalFunction[];
  stateMachines: LocalStateMachine[];
  tables: LocalTable[];
  secrets: LocalSecret[];
  apis: LocalRestApi[];
}

interface BuildAppModule {
  buildApp(options: {
    outdir?: string;
    bundle?: false;
    validate?: false;
    context?: Record<string, unknown>;
  }): {
    app: { synth(): { getStackByName(name: string): { template: unknown } } };
    stack: { stackName: string };
  };
}

function isBuildAppModule(value: unknown): value is BuildAppModule {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { buildApp?: unknown }).buildApp === 'function'
  );
}

/**
 * Synthesises the app (`infra/build-app.ts`, no bundling, no CDK validation)
 * into a temporary directory and returns the stack's template.
 */
export async function synthTemplate(
  options: { context?: Record<string, unknown> } = {},
): Promise<CfnTemplate> {
  const outdir = await mkdtemp(join(tmpdir(), 'chaperone-synth-'));
  try {
    const mod: unknown = await import(pathToFileURL(join(REPO_ROOT, 'infra/build-app.ts')).href);
    if (!isBuildAppModule(mod)) throw new TemplateLoadError('infra/build-app.ts does not export buildApp()');
    // CDK's built-in CloudFormation validation takes seconds and prints to the
    // console; the infra tests run it, the local runtime only needs the template.
    const { app, stack } = mod.buildApp({
      outdir,
      bundle: false,
      validate: false,
      ...(options.context ? { context: options.context } : {}),
    });
    const template = app.synth().getStackByName(stack.stackName).template;
    if (!isTemplate(template))
      throw new TemplateLoadError(`stack ${stack.stackName} synthesised no Resources`);
    return template;
  } catch (err) {
    if (err instanceof TemplateLoadError) throw err;
    throw new TemplateLoadError(
      `could not synthesise the CDK app: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** True for parsed JSON that has a `Resources` object. */
export function isTemplate(value: unknown): value is CfnTemplate {
  if (typeof value !== 'object' || value === null) return false;
  const resources = (value as { Resources?: unknown }).Resources;
  return typeof resources === 'object' && resources !== null;
}

/** Reads functions, state machines, tables, secrets and APIs from a template. */
export function readLocalApp(template: CfnTemplate, options: ResolveOptions = {}): LocalApp {
  const r = new IntrinsicResolver(template, options);
  const app: LocalApp = {
    functions: [],
    stateMachines: [],
    tables: [],
    secrets: [],
    apis: readApiRoutes(template, r),
  };
  for (const [id, res] of Object.entries(template.Resources)) {
    const props = res.Properties ?? {};
    const at = (property: string) => ({ resource: id, property });
    switch (res.Type) {
      case 'AWS::Lambda::Function': {
        const handlerPath = res.Metadata?.['chaperone:handler'];
        if (typeof handlerPath !== 'string') break; // CDK's own helper functions: not ours to run
        const name =
          props.FunctionName === undefined
            ? id
            : r.resolveString(props.FunctionName, at('Properties.FunctionName'));
        const vars = r.resolve(
          (props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
          at('Properties.Environment.Variables'),
        );
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(isRecord(vars) ? vars : {})) {
          env[k] = typeof v === 'string' ? v : JSON.stringify(v);
        }
        app.functions.push({
          logicalId: id,
          name,
          arn: localFunctionArn(name),
          handlerPath,
          timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : 3,
          memoryMb: typeof props.MemorySize === 'number' ? props.MemorySize : 128,
          env,
        });
        break;
      }
      case 'AWS::StepFunctions::StateMachine':
        app.stateMachines.push(readStateMachine(id, res.Metadata, props, r));
        break;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        app.tables.push(readTable(id, props, r));
        break;
      case 'AWS::SecretsManager::Secret': {
        const secret: LocalSecret = { logicalId: id, arn: r.resolveString({ Ref: id }, at('Ref')) };
        if (props.SecretString !== undefined)
          secret.secretString = r.resolveString(props.SecretString, at('Properties.SecretString'));
        const gen = r.resolve(props.GenerateSecretString, at('Properties.GenerateSecretString'));
        if (isRecord(gen)) secret.generate = gen;
        app.secrets.push(secret);
        break;
      }
    }
  }
  // Functions named by FunctionName answer to that name; ARNs in definitions use logical ids.
  return app;
}

function readStateMachine(
  id: string,
  metadata: Record<string, unknown> | undefined,
  props: Record<string, unknown>,
  r: IntrinsicResolver,
): LocalStateMachine {
  const where = (property: string) => ({ resource: id, property });
  let text: string;
  if (props.DefinitionString !== undefined)
    text = r.resolveString(props.DefinitionString, where('Properties.DefinitionString'));
  else if (props.Definition !== undefined)
    text = JSON.stringify(r.resolve(props.Definition, where('Properties.Definition')));
  else
    throw new TemplateResolutionError(
      id,
      'Properties.DefinitionString',
      'state machine has no definition (DefinitionS3Location is not supported locally)',
    );
  const subs = r.resolve(props.DefinitionSubstitutions ?? {}, where('Properties.DefinitionSubstitutions'));
  if (isRecord(subs)) {
    for (const [k, v] of Object.entries(subs))
      text = text.replaceAll(`\${${k}}`, typeof v === 'string' ? v : JSON.stringify(v));
  }
  let definition: unknown;
  try {
    definition = JSON.parse(text);
  } catch (err) {
    throw new TemplateResolutionError(
      id,
      'Properties.DefinitionString',
      'the resolved definition is not JSON',
      { cause: err },
    );
  }
  if (!isRecord(definition))
    throw new TemplateResolutionError(id, 'Properties.DefinitionString', 'the definition is not an object');
  const workflow = metadata?.['chaperone:workflow'];
  const out: LocalStateMachine = { logicalId: id, arn: localStateMachineArn(id), definition };
  if (typeof workflow === 'string') out.workflow = workflow;
  return out;
}

function readTable(id: string, props: Record<string, unknown>, r: IntrinsicResolver): LocalTable {
  const get = (key: string): unknown =>
    r.resolve(props[key], { resource: id, property: `Properties.${key}` });
  const list = (key: string): Array<Record<string, unknown>> => {
    const v = get(key);
    return Array.isArray(v) ? v.filter(isRecord) : [];
  };
  const keySchema = list('KeySchema');
  if (keySchema.length === 0)
    throw new TemplateResolutionError(id, 'Properties.KeySchema', 'table has no key schema');
  const tableName =
    props.TableName === undefined
      ? id
      : r.resolveString(props.TableName, { resource: id, property: 'Properties.TableName' });
  return {
    logicalId: id,
    tableName,
    keySchema: keySchema as LocalTable['keySchema'],
    attributeDefinitions: list('AttributeDefinitions') as LocalTable['attributeDefinitions'],
    globalSecondaryIndexes: list('GlobalSecondaryIndexes'),
    localSecondaryIndexes: list('LocalSecondaryIndexes'),
  };
}

/** True for plain objects. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

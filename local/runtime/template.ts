/**
 * Synthesises the project's CDK app (as `cdk synth` does) and reads what the local runtime needs
 * from its template: functions (handler file, timeout, memory, resolved
 * environment), state machines (definitions with local Lambda ARNs), tables,
 * secrets and the REST API's routes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  /** `Architectures[0]`. @default x86_64, as in Lambda */
  architecture: 'arm64' | 'x86_64';
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

/** Where the app is: the directory of its `cdk.json`. */
export interface SynthOptions {
  /** The CDK project to run (its `cdk.json` names the app command). @default process.cwd() */
  projectDir?: string;
  /** Extra context, on top of `cdk.json`'s own. */
  context?: Record<string, unknown>;
}

/**
 * Synthesise the project's CDK app the way `cdk synth` does — run the
 * `cdk.json` app command with `CDK_OUTDIR` and `CDK_CONTEXT_JSON` — with
 * bundling and CloudFormation validation off, into a temporary directory,
 * and return the template of the stack that holds Chaperone's functions.
 */
export async function synthTemplate(options: SynthOptions = {}): Promise<CfnTemplate> {
  const projectDir = options.projectDir ?? process.cwd();
  const cdkJson = join(projectDir, 'cdk.json');
  let config: { app?: unknown; context?: Record<string, unknown> };
  try {
    config = JSON.parse(await readFile(cdkJson, 'utf8')) as typeof config;
  } catch (err) {
    throw new TemplateLoadError(
      `${cdkJson}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found: run this in your CDK project (the directory of its cdk.json)' : (err as Error).message}`,
      { cause: err },
    );
  }
  if (typeof config.app !== 'string' || config.app.trim() === '')
    throw new TemplateLoadError(
      `${cdkJson}: "app" must be the command that runs your CDK app (e.g. "npx tsx bin/app.ts")`,
    );
  const outdir = await mkdtemp(join(tmpdir(), 'chaperone-synth-'));
  try {
    const context = { ...config.context, ...options.context, 'aws:cdk:bundling-stacks': [] };
    const { code, output } = await runApp(config.app, projectDir, {
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      // CDK's CloudFormation validation takes seconds; `cdk synth` and the infra tests run it.
      CDK_VALIDATION: 'false',
    });
    if (code !== 0)
      throw new TemplateLoadError(
        `the CDK app (${config.app}) exited with ${code}:\n${output.trim().slice(-4000)}`,
      );
    return await chaperoneTemplate(outdir, config.app);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** Run the app command in a shell, as the CDK CLI does; its output is kept for the error message. */
function runApp(
  command: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      cwd,
      shell: true,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The one stack of the cloud assembly whose functions carry `chaperone:handler` metadata. */
async function chaperoneTemplate(outdir: string, app: string): Promise<CfnTemplate> {
  const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }>;
  };
  const found: Array<{ name: string; template: CfnTemplate }> = [];
  for (const [name, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const template: unknown = JSON.parse(
      await readFile(join(outdir, artifact.properties.templateFile), 'utf8'),
    );
    if (!isTemplate(template)) continue;
    const ours = Object.values(template.Resources).some(
      (r) => typeof r.Metadata?.['chaperone:handler'] === 'string',
    );
    if (ours) found.push({ name, template });
  }
  if (found.length === 1 && found[0]) return found[0].template;
  if (found.length === 0)
    throw new TemplateLoadError(
      `the CDK app (${app}) has no stack with a Chaperone construct: add new Chaperone(stack, 'Agents', { ... })`,
    );
  throw new TemplateLoadError(
    `the CDK app (${app}) has ${found.length} stacks with Chaperone (${found.map((f) => f.name).join(', ')}); run one at a time`,
  );
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
          architecture:
            Array.isArray(props.Architectures) && props.Architectures[0] === 'arm64' ? 'arm64' : 'x86_64',
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

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Metafile } from 'esbuild';
import { JUDGE_TOOL } from '../../lambdas/core/guardrails/model-judge.js';
import * as contract from '../../state-machines/contract.js';
import { definedSchemas, type JsonSchema } from '../../state-machines/schema.js';
import { precompiledValidatorsModule } from '../../state-machines/schema-precompile.js';

/** Chaperone's functions, by the handler file each runs (`tool-runner`: each tool's own function). */
export const HANDLER_KINDS = [
  'api',
  'agent-step',
  'tool-step',
  'tool-runner',
  'code-step',
  'finish',
  'approval-request',
] as const;
export type HandlerKind = (typeof HANDLER_KINDS)[number];

/** Where Chaperone's own handler modules are: `lambdas/handlers` beside `infra/` (sources, or the built package). */
const HANDLERS_DIR = fileURLToPath(new URL('../../lambdas/handlers/', import.meta.url));
/** `ts` beside the sources, `js` in the built package. */
const HANDLERS_EXT = existsSync(join(HANDLERS_DIR, 'agent-step.ts')) ? 'ts' : 'js';

/**
 * Packages a bundle takes from Chaperone instead of from node_modules, each
 * doing in Lambda what the original does there, with less code:
 * `@aws-sdk/credential-provider-node` (the SDK's default Node credential
 * chain: ini files, SSO, process, web identity, IMDS, with the STS and SSO
 * clients they carry) becomes environment variables and the container
 * endpoint (`lambdas/adapters/aws-credentials.ts`), the two links Lambda
 * ever uses; so does `@aws-sdk/credential-providers`, which the Bedrock model
 * SDK imports whole for its default chain. `mnemonist/lru-cache` (DynamoDB's
 * endpoint-discovery cache) becomes a `Map`-based LRU with the same interface
 * (`lambdas/handlers/wire/lru-cache.ts`).
 */
export const HANDLER_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': join(
    HANDLERS_DIR,
    '..',
    'adapters',
    `aws-credentials.${HANDLERS_EXT}`,
  ),
  '@aws-sdk/credential-providers': join(HANDLERS_DIR, '..', 'adapters', `aws-credentials.${HANDLERS_EXT}`),
  'mnemonist/lru-cache': join(HANDLERS_DIR, 'wire', `lru-cache.${HANDLERS_EXT}`),
};

/** Lets the ESM bundle `require()` the CommonJS parts of its dependencies. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __chaperoneCreateRequire } from 'node:module'; const require = __chaperoneCreateRequire(import.meta.url);";

/**
 * How every function is bundled, in esbuild's terms: the one place both
 * {@link AgentFunction} (which bundles at synth with esbuild's API) and the
 * cold-start bench (`local/bench/cold-start.ts`) and the bundle tests read,
 * through {@link handlerBuildOptions}, so what is measured is what is deployed.
 *
 * - Minified ESM for Node.js 22 (the functions' runtime), tree-shaken, no
 *   legal comments (the licences are those of the packages in the lock file).
 * - Nothing external: the AWS SDK v3 is bundled, so a handler carries only the
 *   clients and commands it imports, evaluated as ES modules instead of
 *   hundreds of CommonJS files resolved from the runtime's copy at cold start.
 * - Code splitting: the asset is `index.mjs` plus `chunks/*.mjs`. What a
 *   handler imports statically is what loads at cold start (`index.mjs` and
 *   the chunks it imports); what it reaches only through `import()` (a model
 *   provider's SDK, a client built on first use) is a chunk loaded then. The
 *   bench and the bundle tests count both, separately ({@link bundleSizes}).
 * - {@link HANDLER_ALIASES}: packages replaced by smaller ones that do the
 *   same in Lambda (the credential chain).
 * - `process.env.CHAPERONE_SCHEMA_COMPILE` is `first-use` in a bundle: the
 *   JSON Schemas of the workflows module compile when first used, not at
 *   import (synth already compiled each of them: a schema that does not
 *   compile fails `defineTool`/`defineWorkflow` there; see `state-machines/schema.ts`).
 * - `process.env.CHAPERONE_BUNDLE` is `"1"` in a bundle: validators come from
 *   the standalone code generated at synth ({@link writeHandlerEntries}), so
 *   ajv is no part of the cold start (only a lazy chunk, loaded if a schema
 *   has no generated validator).
 */
export const HANDLER_BUNDLING = {
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  banner: ESM_REQUIRE_BANNER,
  external: [] as readonly string[],
  define: {
    'process.env.CHAPERONE_SCHEMA_COMPILE': '"first-use"',
    'process.env.CHAPERONE_BUNDLE': '"1"',
  } as Readonly<Record<string, string>>,
  alias: HANDLER_ALIASES,
} as const;

/** `NODE_OPTIONS` of every function: stack traces through the bundle's source map. */
export const HANDLER_NODE_OPTIONS = '--enable-source-maps';

/** The file Lambda loads in a function's asset directory (`handler: 'index.handler'`). */
export const HANDLER_ENTRY_FILE = 'index.mjs';

/**
 * {@link HANDLER_BUNDLING} as esbuild API options: bundle `entry` into
 * `outdir` (`index.mjs`, its chunks and their source maps), resolving package
 * `exports` with the extra `conditions` as well as esbuild's defaults.
 */
export function handlerBuildOptions(
  entry: string,
  outdir: string,
  conditions: readonly string[] = [],
): BuildOptions {
  return {
    entryPoints: [{ in: entry, out: HANDLER_ENTRY_FILE.replace(/\.mjs$/, '') }],
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: HANDLER_BUNDLING.platform,
    format: HANDLER_BUNDLING.format,
    target: HANDLER_BUNDLING.target,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourcemap,
    legalComments: HANDLER_BUNDLING.legalComments,
    splitting: HANDLER_BUNDLING.splitting,
    chunkNames: HANDLER_BUNDLING.chunkNames,
    banner: { js: HANDLER_BUNDLING.banner },
    external: [...HANDLER_BUNDLING.external],
    define: { ...HANDLER_BUNDLING.define },
    alias: { ...HANDLER_BUNDLING.alias },
    conditions: handlerConditions(conditions),
    logLevel: 'warning',
  };
}

/** The code of one bundle, in bytes of JavaScript (source maps are separate files and not counted). */
export interface BundleSizes {
  /** `index.mjs` and every chunk it imports statically: what a cold start loads and evaluates. */
  readonly coldStartBytes: number;
  /** The chunks reached only through `import()`: loaded when first needed, if ever. */
  readonly lazyBytes: number;
  /** Everything shipped: the two above. */
  readonly totalBytes: number;
  /** The output files (relative to `outdir`) counted in `coldStartBytes`. */
  readonly coldStartFiles: readonly string[];
}

/**
 * {@link BundleSizes} of a build's metafile (esbuild's `metafile: true`), for
 * the bundle in `outdir`; the metafile's paths are relative to `workingDir`
 * (esbuild's `absWorkingDir`).
 */
export function bundleSizes(metafile: Metafile, outdir: string, workingDir = process.cwd()): BundleSizes {
  const outputs = metafile.outputs;
  const rel = (file: string) => relative(outdir, resolve(workingDir, file)).split(sep).join('/');
  const byRel = new Map(Object.keys(outputs).map((k) => [rel(k), k]));
  const entry = byRel.get(HANDLER_ENTRY_FILE);
  if (!entry) throw new Error(`bundleSizes: no ${HANDLER_ENTRY_FILE} among the outputs in ${outdir}`);
  const cold = new Set<string>();
  const queue = [entry];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (cold.has(next)) continue;
    cold.add(next);
    for (const imp of outputs[next]?.imports ?? [])
      if (imp.kind === 'import-statement' && outputs[imp.path]) queue.push(imp.path);
  }
  const code = Object.keys(outputs).filter((k) => k.endsWith('.mjs'));
  const bytes = (files: string[]) => files.reduce((sum, k) => sum + (outputs[k]?.bytes ?? 0), 0);
  const coldStartBytes = bytes([...cold]);
  const lazyBytes = bytes(code.filter((k) => !cold.has(k)));
  return {
    coldStartBytes,
    lazyBytes,
    totalBytes: coldStartBytes + lazyBytes,
    coldStartFiles: [...cold].map(rel).sort(),
  };
}

/**
 * The package `exports` conditions of a bundle: `module` first, then the
 * caller's. esbuild resolves `module` (a package's ES build, which it can
 * tree-shake: the AWS SDK's `dist-es`) only while no custom condition is
 * set, so it is named explicitly to stay on when one is (`chaperone-source`).
 */
export function handlerConditions(extra: readonly string[] = []): string[] {
  return [...new Set(['module', ...extra])];
}

/**
 * Write the entry file of each function: it imports the application's
 * workflows module and binds Chaperone's handler to it, so every bundle
 * carries that module and nothing else of the application's. The files are
 * content-addressed under `<projectRoot>/node_modules/.cache/chaperone/`, so
 * synthesising again writes nothing new, and the local runtime imports the
 * same files the bundles are built from (`createHandler(env)`, as Lambda's
 * `handler` builds itself from `process.env` at cold start).
 *
 * Beside each, a module of validators generated from every JSON Schema
 * defined in this process so far (`definedSchemas()`: call this after
 * importing the workflows module, as the `Chaperone` construct, which is
 * given the workflows, always does) and the function's own event contract, as
 * ajv standalone code (`state-machines/schema-precompile.ts`). Each entry
 * hands them to `usePrecompiledValidators` before its first invocation, so a
 * bundle validates without ajv; a schema missing from them (a workflows
 * module not imported yet) still validates: it compiles on first use, with
 * ajv loaded as a chunk of its own. A process that defines more than one
 * app's workflows (two Chaperone constructs with different modules in one
 * synth, or `npm run bench`) gives every function all of their schemas:
 * correct, only larger (the bench measures bundles in a fresh process).
 */
export function writeHandlerEntries(
  workflowsModule: string,
  projectRoot: string,
): Record<HandlerKind, string> {
  if (!isAbsolute(workflowsModule))
    throw new Error(`workflowsModule must be an absolute path, got ${JSON.stringify(workflowsModule)}`);
  if (!existsSync(workflowsModule))
    throw new Error(
      `workflowsModule ${workflowsModule} does not exist: point it at the file that exports your workflows`,
    );
  const ext = HANDLERS_EXT;
  const entries = {} as Record<HandlerKind, string>;
  for (const kind of HANDLER_KINDS) {
    const validators = writeContentAddressed(
      join(projectRoot, 'node_modules', '.cache', 'chaperone', 'validators'),
      '.mjs',
      precompiledValidatorsModule(schemasToPrecompile(kind)),
    );
    const source = entrySource(kind, workflowsModule, join(HANDLERS_DIR, `${kind}.${ext}`), validators);
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
    const dir = join(projectRoot, 'node_modules', '.cache', 'chaperone', hash);
    const file = join(dir, `${kind}.mts`);
    if (!existsSync(file) || readFileSync(file, 'utf8') !== source) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, source);
    }
    entries[kind] = file;
  }
  return entries;
}

/** Chaperone's own schemas each function validates: its event contract, and the judge's verdicts in the agent step. */
const OWN_SCHEMAS: Record<HandlerKind, readonly JsonSchema[]> = {
  api: [],
  'agent-step': [contract.agentStepEventSchema, JUDGE_TOOL.input_schema],
  'tool-step': [contract.toolStepEventSchema],
  'tool-runner': [contract.toolAttemptEventSchema],
  'code-step': [contract.codeStepEventSchema],
  finish: [contract.finishEventSchema],
  'approval-request': [contract.approvalRequestEventSchema],
};

/** The app's schemas defined so far, then the function's own. */
function schemasToPrecompile(kind: HandlerKind): JsonSchema[] {
  return [...definedSchemas().map((d) => d.schema), ...OWN_SCHEMAS[kind]];
}

/** Write `content` as `<dir>/<sha256 prefix><ext>` unless it is there already; returns the path. */
function writeContentAddressed(dir: string, ext: string, content: string): string {
  const file = join(dir, `${createHash('sha256').update(content).digest('hex').slice(0, 16)}${ext}`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, content);
  }
  return file;
}

function entrySource(
  kind: HandlerKind,
  workflowsModule: string,
  handlerModule: string,
  validatorsModule: string,
): string {
  const parseEvent = join(HANDLERS_DIR, handlerModule.endsWith('.ts') ? 'parse-event.ts' : 'parse-event.js');
  const modules = join(
    HANDLERS_DIR,
    '..',
    handlerModule.endsWith('.ts') ? 'workflows-module.ts' : 'workflows-module.js',
  );
  const usage = join(HANDLERS_DIR, '..', 'core', handlerModule.endsWith('.ts') ? 'usage.ts' : 'usage.js');
  const schema = join(
    HANDLERS_DIR,
    '..',
    '..',
    'state-machines',
    handlerModule.endsWith('.ts') ? 'schema.ts' : 'schema.js',
  );
  return `// Generated by chaperone/cdk: the ${kind} function, bound to the application's workflows.
import * as app from ${JSON.stringify(workflowsModule)};
import { createHandler as create } from ${JSON.stringify(handlerModule)};
import { fromProcessEnv } from ${JSON.stringify(parseEvent)};
import { workflowsOf } from ${JSON.stringify(modules)};
import { metered } from ${JSON.stringify(usage)};
import { usePrecompiledValidators } from ${JSON.stringify(schema)};
import { validators } from ${JSON.stringify(validatorsModule)};

const workflows = workflowsOf(app, ${JSON.stringify(workflowsModule)});
/**
 * The validators generated at synth, in place before the first invocation: the subjects of the
 * schemas that had none and compile on first use (ajv then loaded as a chunk); none after a synth.
 */
export const schemasCompiledOnFirstUse = await usePrecompiledValidators(validators);

/**
 * The function built from an explicit environment (the local runtime passes the template's),
 * each invocation metered for the run's cost (Lambda time, DynamoDB and S3 requests).
 */
export const createHandler = (env: Record<string, string | undefined>) => metered(create(env, workflows), env);

/** What Lambda invokes: built from process.env on the first invocation. */
export const handler = fromProcessEnv(createHandler);
`;
}

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

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

/** Lets the ESM bundle `require()` the CommonJS parts of its dependencies. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __chaperoneCreateRequire } from 'node:module'; const require = __chaperoneCreateRequire(import.meta.url);";

/**
 * How every function is bundled, in esbuild's terms: the one place both
 * {@link AgentFunction} (through `NodejsFunction`'s bundling props) and the
 * cold-start bench (`local/bench/cold-start.ts`, through esbuild's API) read,
 * so what is measured is what is deployed.
 *
 * - One minified ESM file for Node.js 22 (the functions' runtime), tree-shaken.
 * - Nothing external: the AWS SDK v3 is bundled, so a handler carries only the
 *   clients and commands it imports, evaluated as one ES module instead of
 *   hundreds of CommonJS files resolved from the runtime's copy at cold start.
 * - `process.env.CHAPERONE_SCHEMA_COMPILE` is `first-use` in a bundle: the
 *   JSON Schemas of the workflows module compile when first used, not at
 *   import (synth already compiled each of them: a schema that does not
 *   compile fails `defineTool`/`defineWorkflow` there; see `state-machines/schema.ts`).
 */
export const HANDLER_BUNDLING = {
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  banner: ESM_REQUIRE_BANNER,
  external: [] as readonly string[],
  define: { 'process.env.CHAPERONE_SCHEMA_COMPILE': '"first-use"' } as Readonly<Record<string, string>>,
} as const;

/** `NODE_OPTIONS` of every function: stack traces through the bundle's source map. */
export const HANDLER_NODE_OPTIONS = '--enable-source-maps';

/**
 * {@link HANDLER_BUNDLING} as esbuild API options: bundle `entry` into
 * `outfile` (and `outfile.map`), resolving package `exports` with the extra
 * `conditions` as well as esbuild's defaults (what `NodejsFunction` passes as
 * `--conditions`).
 */
export function handlerBuildOptions(
  entry: string,
  outfile: string,
  conditions: readonly string[] = [],
): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: HANDLER_BUNDLING.platform,
    format: HANDLER_BUNDLING.format,
    target: HANDLER_BUNDLING.target,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourcemap,
    banner: { js: HANDLER_BUNDLING.banner },
    external: [...HANDLER_BUNDLING.external],
    define: { ...HANDLER_BUNDLING.define },
    conditions: handlerConditions(conditions),
    logLevel: 'warning',
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

/** Where Chaperone's own handler modules are: `lambdas/handlers` beside `infra/` (sources, or the built package). */
const HANDLERS_DIR = fileURLToPath(new URL('../../lambdas/handlers/', import.meta.url));

/**
 * Write the entry file of each function: it imports the application's
 * workflows module and binds Chaperone's handler to it, so every bundle
 * carries that module and nothing else of the application's. The files are
 * content-addressed under `<projectRoot>/node_modules/.cache/chaperone/`, so
 * synthesising again writes nothing new, and the local runtime imports the
 * same files the bundles are built from (`createHandler(env)`, as Lambda's
 * `handler` builds itself from `process.env` at cold start).
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
  const ext = existsSync(join(HANDLERS_DIR, 'agent-step.ts')) ? 'ts' : 'js';
  const entries = {} as Record<HandlerKind, string>;
  for (const kind of HANDLER_KINDS) {
    const source = entrySource(kind, workflowsModule, join(HANDLERS_DIR, `${kind}.${ext}`));
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

function entrySource(kind: HandlerKind, workflowsModule: string, handlerModule: string): string {
  const parseEvent = join(HANDLERS_DIR, handlerModule.endsWith('.ts') ? 'parse-event.ts' : 'parse-event.js');
  const modules = join(
    HANDLERS_DIR,
    '..',
    handlerModule.endsWith('.ts') ? 'workflows-module.ts' : 'workflows-module.js',
  );
  const usage = join(HANDLERS_DIR, '..', 'core', handlerModule.endsWith('.ts') ? 'usage.ts' : 'usage.js');
  return `// Generated by chaperone/cdk: the ${kind} function, bound to the application's workflows.
import * as app from ${JSON.stringify(workflowsModule)};
import { createHandler as create } from ${JSON.stringify(handlerModule)};
import { fromProcessEnv } from ${JSON.stringify(parseEvent)};
import { workflowsOf } from ${JSON.stringify(modules)};
import { metered } from ${JSON.stringify(usage)};

const workflows = workflowsOf(app, ${JSON.stringify(workflowsModule)});

/**
 * The function built from an explicit environment (the local runtime passes the template's),
 * each invocation metered for the run's cost (Lambda time, DynamoDB and S3 requests).
 */
export const createHandler = (env: Record<string, string | undefined>) => metered(create(env, workflows), env);

/** What Lambda invokes: built from process.env on the first invocation. */
export const handler = fromProcessEnv(createHandler);
`;
}

/**
 * Cold start of each function: every handler bundled exactly as the CDK
 * construct bundles it (`handlerBuildOptions`, the options `AgentFunction`
 * builds its asset with), written to a temporary directory with nothing
 * beside it (no node_modules: the bundle must carry all it needs), then
 * imported in fresh `node` processes with the functions' `NODE_OPTIONS`.
 * `bundleBytes` is what that import loads: `index.mjs` and the chunks it
 * imports statically; `lazyBytes` the chunks loaded only through `import()`
 * when first needed (a model provider's SDK, a client built on first use);
 * `totalBytes` what the asset ships (JavaScript only; source maps aside).
 * The figure is the time of the `import()` itself in that process: module
 * loading and evaluation, what Lambda's init phase adds to Node's own start.
 * A one-line hello-world handler, bundled and imported the same way, is the
 * floor.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import {
  type BundleSizes,
  bundleSizes,
  HANDLER_ENTRY_FILE,
  HANDLER_KINDS,
  HANDLER_NODE_OPTIONS,
  handlerBuildOptions,
  writeHandlerEntries,
} from '../../infra/constructs/handler-entries.js';
import { REPO_ROOT } from '../../infra/repo-root.js';
import { stats, table } from './table.js';

const run = promisify(execFile);

export interface ColdStartOptions {
  /** Fresh processes per handler. @default 15 */
  readonly runs?: number;
  /** The workflows module the entries bind. @default the invoice example (`examples/index.ts`) */
  readonly workflowsModule?: string;
  /** Extra `exports` conditions, as the example app bundles. @default ['chaperone-source'] */
  readonly conditions?: readonly string[];
}

export interface HandlerFigures {
  /** `index.mjs` and the chunks it imports statically (what the cold start loads). */
  bundleBytes: number;
  /** Chunks reached only through `import()`. */
  lazyBytes: number;
  /** Everything shipped (JavaScript). */
  totalBytes: number;
  coldImportMsMedian: number;
  coldImportMsP95: number;
}

/** In the child: import the bundle, print how long the import took. */
const PROBE = `const url = process.argv[1];
const t0 = performance.now();
await import(url);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }));
process.exit(0);`;

async function importMs(file: string): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    [...HANDLER_NODE_OPTIONS.split(' '), '--input-type=module', '-e', PROBE, pathToFileURL(file).href],
    // Nothing of this process's environment leaks in: a handler must import without its env.
    { env: { PATH: process.env.PATH ?? '' }, maxBuffer: 1024 * 1024 },
  );
  const { ms } = JSON.parse(stdout) as { ms: number };
  return ms;
}

export async function benchColdStart(
  opts: ColdStartOptions = {},
): Promise<{ text: string; json: Record<string, unknown> }> {
  const runs = opts.runs ?? 15;
  const conditions = opts.conditions ?? ['chaperone-source'];
  const workflowsModule = opts.workflowsModule ?? join(REPO_ROOT, 'examples', 'index.ts');
  // Imported first, as synth has: the validators generated beside the entries cover its schemas.
  await import(pathToFileURL(workflowsModule).href);
  const entries = writeHandlerEntries(workflowsModule, REPO_ROOT);
  const out = mkdtempSync(join(tmpdir(), 'chaperone-cold-start-'));
  try {
    const hello = join(out, 'hello-world.mjs');
    writeFileSync(hello, "export const handler = async () => ({ statusCode: 200, body: 'hello' });\n");
    const bundles: Array<[string, string]> = [];
    const sizes = new Map<string, BundleSizes>();
    const bundle = async (kind: string, entry: string, extra: readonly string[]) => {
      const dir = join(out, kind);
      const { metafile } = await build({ ...handlerBuildOptions(entry, dir, extra), metafile: true });
      sizes.set(kind, bundleSizes(metafile, dir));
      bundles.push([kind, join(dir, HANDLER_ENTRY_FILE)]);
    };
    for (const kind of HANDLER_KINDS) await bundle(kind, entries[kind], conditions);
    await bundle('hello-world', hello, []);

    // Interleaved rounds, so a burst of load on the shared machine spreads over every handler.
    const samples = new Map<string, number[]>(bundles.map(([k]) => [k, []]));
    for (let i = 0; i < runs; i++) {
      for (const [kind, file] of bundles) samples.get(kind)?.push(await importMs(file));
    }
    const figures: Record<string, HandlerFigures> = {};
    for (const [kind] of bundles) {
      const s = stats(samples.get(kind) ?? []);
      const size = sizes.get(kind);
      figures[kind] = {
        bundleBytes: size?.coldStartBytes ?? 0,
        lazyBytes: size?.lazyBytes ?? 0,
        totalBytes: size?.totalBytes ?? 0,
        coldImportMsMedian: Math.round(s.p50 * 10) / 10,
        coldImportMsP95: Math.round(s.p95 * 10) / 10,
      };
    }
    const text = table(
      `Cold start: each handler bundled as deployed, imported in a fresh node (${runs} runs, ${process.version})`,
      ['handler', 'bundle KB', 'lazy KB', 'import ms p50', 'import ms p95'],
      Object.entries(figures).map(([k, f]) => [
        k,
        Math.round(f.bundleBytes / 102.4) / 10,
        Math.round(f.lazyBytes / 102.4) / 10,
        f.coldImportMsMedian,
        f.coldImportMsP95,
      ]),
    );
    const { 'hello-world': helloWorld, ...handlers } = figures;
    return { text, json: { handlers, coldStartHelloWorld: helloWorld } };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * {@link benchColdStart} in a fresh process that imports only the workflows
 * module, as `cdk synth` does: the validators generated beside each entry
 * cover the schemas defined in the synthesising process, so measured inside
 * `npm run bench` (whose other sections define workflows of their own) every
 * bundle would carry theirs too.
 */
export async function benchColdStartAlone(
  opts: { runs?: number } = {},
): Promise<{ text: string; json: Record<string, unknown> }> {
  const { stdout } = await run(
    process.execPath,
    [
      '--conditions=chaperone-source',
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--section',
      String(opts.runs ?? 15),
    ],
    { cwd: REPO_ROOT, env: process.env, maxBuffer: 16 * 1024 * 1024 },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as { text: string; json: Record<string, unknown> };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const section = process.argv.indexOf('--section');
  if (section >= 0) {
    // As one section of `npm run bench` (see benchColdStartAlone): both parts on one line.
    const result = await benchColdStart({ runs: Number(process.argv[section + 1] ?? 15) });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const { text, json } = await benchColdStart();
    process.stdout.write(`${text}\n`);
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(json)}\n`);
  }
}

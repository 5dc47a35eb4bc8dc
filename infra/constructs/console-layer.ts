import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../repo-root.js';

/** The console's files in the package, and Chart.js's minified UMD build from its npm package. */
export function consoleFiles(): Record<string, string> {
  // From sources, REPO_ROOT is the package root; built, it is `dist/` inside it.
  const assets =
    [REPO_ROOT, join(REPO_ROOT, '..')]
      .map((root) => join(root, 'lambdas', 'core', 'console', 'assets'))
      .find((dir) => existsSync(join(dir, 'console.js'))) ??
    join(REPO_ROOT, 'lambdas', 'core', 'console', 'assets');
  const chart = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
  return {
    'console.js': join(assets, 'console.js'),
    'console.css': join(assets, 'console.css'),
    'chart.umd.js': chart,
  };
}

/**
 * A directory laid out as the console layer's content (`chaperone-console/…`,
 * mounted at `/opt/chaperone-console` in Lambda), under the package's cache
 * and named by the files' hash, so an unchanged console reuses it.
 */
export function consoleLayerDir(): string {
  const files = consoleFiles();
  const hash = createHash('sha256');
  for (const [name, path] of Object.entries(files)) {
    if (!existsSync(path)) throw new Error(`the console file ${name} is missing at ${path}`);
    hash.update(name).update(readFileSync(path));
  }
  const root = join(
    REPO_ROOT,
    'node_modules',
    '.cache',
    'chaperone',
    `console-${hash.digest('hex').slice(0, 16)}`,
  );
  const dir = join(root, 'chaperone-console');
  mkdirSync(dir, { recursive: true });
  for (const [name, path] of Object.entries(files)) copyFileSync(path, join(dir, name));
  return root;
}

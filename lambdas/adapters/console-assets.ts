import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleAssets, ConsoleFile } from '../core/console/console-page.js';

/** Where the stack's console layer puts the files (`/opt` is where Lambda mounts layers). */
export const CONSOLE_LAYER_DIR = '/opt/chaperone-console';

/** The console's own files in the package (`lambdas/core/console/assets`). */
export function consoleSourceDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'chaperone')
          return join(dir, 'lambdas', 'core', 'console', 'assets');
      } catch {
        // not a readable package.json: keep walking up
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** Chart.js's minified UMD build inside its npm package (served as `chart.umd.js`). */
export function chartLibraryFile(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
  } catch {
    return undefined;
  }
}

/**
 * The console's files from disk: the Lambda layer the stack attaches to the
 * api function when present, else the package's sources and Chart.js from
 * node_modules (the local runtime, tests). Read once, then kept.
 */
export function createConsoleAssets(
  dirs: { layer?: string; source?: string; chart?: string } = {},
): ConsoleAssets {
  const cache = new Map<ConsoleFile, Promise<string>>();
  const candidates = (name: ConsoleFile): string[] => {
    const layer = dirs.layer ?? CONSOLE_LAYER_DIR;
    const out = [join(layer, name)];
    if (name === 'chart.umd.js') {
      const chart = dirs.chart ?? chartLibraryFile();
      if (chart) out.push(chart);
    } else {
      const source = dirs.source ?? consoleSourceDir();
      if (source) out.push(join(source, name));
    }
    return out;
  };
  return {
    read(name) {
      let hit = cache.get(name);
      if (!hit) {
        const path = candidates(name).find((p) => existsSync(p));
        hit = path
          ? readFile(path, 'utf8')
          : Promise.reject(
              new Error(`console file ${name} is missing (looked in ${candidates(name).join(', ')})`),
            );
        cache.set(name, hit);
      }
      return hit;
    },
  };
}

/** Loading a scenario from a module file, for the CLI and the local demo. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScenarioModuleError } from './errors.js';
import type { Scenario } from './types.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether a value has a scenario's shape: a name, and turns (objects) or a respond function. */
export function isScenario(value: unknown): value is Scenario {
  if (!isRecord(value) || typeof value.name !== 'string') return false;
  if (Array.isArray(value.turns)) return value.turns.every(isRecord);
  return typeof value.respond === 'function';
}

/** Imports `path` (relative to the working directory) and returns its default or `scenario` export. */
export async function loadScenario(path: string): Promise<Scenario> {
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (cause) {
    throw new ScenarioModuleError(`cannot import scenario module ${path}`, { cause });
  }
  const candidates = isRecord(mod) ? [mod.default, mod.scenario] : [];
  const found = candidates.find(isScenario);
  if (!found) {
    throw new ScenarioModuleError(
      `${path} exports no scenario: export default (or export const scenario) { name, turns } or { name, respond }`,
    );
  }
  return found;
}

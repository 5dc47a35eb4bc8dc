/**
 * `npm run bench`: measured figures for the guardrails and the orchestration,
 * printed as tables; `npm run -s bench -- --json` prints them as one JSON
 * object on standard output instead (the tables go nowhere). A plain script
 * (not a test): it starts its own dynalite and harness, and exits 0 when
 * every section ran.
 */

import { benchChainCompression } from './chain-compression.js';
import { benchColdStartAlone } from './cold-start.js';
import { benchConversationWindow } from './conversation-window.js';
import { benchCost } from './cost.js';
import { benchGuardrails } from './guardrails.js';
import { benchLedger } from './ledger-throughput.js';
import { benchMemory } from './memory.js';
import { benchMemoryIteration } from './memory-iteration.js';
import { benchAwsWork, benchOrchestration } from './orchestration.js';
import { benchPeer } from './peer.js';

type Section = { text: string; json: Record<string, unknown> };

const asJson = process.argv.includes('--json');
const started = performance.now();
const out = (text: string) => {
  if (!asJson) process.stdout.write(`${text}\n`);
};
const figures: Record<string, unknown> = {};
const section = async (run: () => Promise<Section> | Section) => {
  const { text, json } = await run();
  out(text);
  Object.assign(figures, json);
};

out(`Chaperone bench — node ${process.version}, ${new Date().toISOString()}`);
figures.machine = {
  node: process.version,
  cpus: (await import('node:os')).cpus().length,
  loadAverage: (await import('node:os')).loadavg(),
};
await section(() => benchGuardrails({ runsPerTier: 5 }));
await section(async () => ({
  text: await benchLedger({ reservations: 2_000, concurrency: 50, races: 5 }),
  json: {},
}));
await section(() => benchMemory());
await section(() => benchMemoryIteration());
await section(() => benchChainCompression());
await section(() => benchConversationWindow());
await section(() => benchAwsWork());
await section(() => benchOrchestration({ iterations: 10, runs: 5, concurrent: 10, rounds: 2 }));
await section(() => benchCost({ iterations: 10, runs: 3 }));
await section(() => benchColdStartAlone({ runs: 15 }));
await section(() => benchPeer({ iterations: 10, runs: 5, concurrent: 10, rounds: 9, warmupRuns: 5 }));
figures.benchSeconds = Math.round((performance.now() - started) / 100) / 10;
out(`\nbench finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (asJson) process.stdout.write(`${JSON.stringify(figures)}\n`);
process.exit(0);

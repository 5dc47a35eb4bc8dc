/**
 * `npm run bench`: measured figures for the guardrails and the orchestration,
 * printed as tables. A plain script (not a test): it starts its own dynalite
 * and harness, and exits 0 when every section ran.
 */
import { benchGuardrailQuality } from './guardrail-quality.js';
import { benchLedger } from './ledger-throughput.js';
import { benchMemory } from './memory.js';
import { benchOrchestration } from './orchestration.js';

const started = performance.now();
const out = (text: string) => process.stdout.write(`${text}\n`);

out(`Chaperone bench — node ${process.version}, ${new Date().toISOString()}`);
out(benchGuardrailQuality());
out(await benchLedger({ reservations: 2_000, concurrency: 50, races: 5 }));
out((await benchMemory()).text);
out(await benchOrchestration({ iterations: 10, runs: 5, concurrent: 10, rounds: 2 }));
out(`\nbench finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(0);

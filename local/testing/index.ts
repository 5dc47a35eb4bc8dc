/**
 * `chaperone/testing`: test your agents the way this repository tests its own.
 * The scripted model speaks the Anthropic Messages API on loopback (the real
 * SDK talks to it), plays scripted turns and faults, records every request
 * and fails loudly when it runs out; the local runtime runs your synthesised
 * stack — Step Functions interpreter, dynalite, the HTTP API, the outbox — in
 * the test's process.
 *
 * ```ts
 * import { ScriptedModel, scenario, toolUse, text } from 'chaperone/testing';
 * const model = await ScriptedModel.start();
 * model.use(scenario('greets', [toolUse('lookup', { id: 'A-1' }), text('Hello, A-1.')]));
 * ```
 */

export { approveViaLink } from '../cli/approve.js';
export { scenarioFromTrail } from '../replay/from-trail.js';
export { type LocalStack, startLocalStack } from '../runtime/stack.js';
export type { RecordedRequest, Scenario, ScriptedTurn } from '../scripted-model/index.js';
export {
  hang,
  lastToolResults,
  responder,
  ScriptedModel,
  scenario,
  status,
  text,
  toolUse,
  toolUses,
  withFaults,
  withUsage,
} from '../scripted-model/index.js';

/**
 * What the local runtime's files survive, chosen once for the execution
 * journals and the local DynamoDB's log together (they back each other: a
 * journal that says a tool ran is only as good as the claim the tool wrote).
 *
 * - `process` (the default): every line is written to the file (`write(2)`,
 *   the kernel's page cache) before anything acts on it, so a kill -9, a
 *   crash or Ctrl-C of the runtime loses nothing that was answered, invoked
 *   or reported; a power cut or kernel panic can take back what the kernel
 *   had not written out yet (seconds). This is SQLite's WAL with
 *   `synchronous=NORMAL`, what LangGraph's checkpointer runs at, and what
 *   DynamoDB Local and Step Functions Local give.
 * - `machine`: additionally, nothing is acted on before it is on the disk:
 *   each journal is `fdatasync`ed (a group commit) before a Lambda function is
 *   invoked, a callback leaves or an answer is sent, and each DynamoDB write
 *   is answered only after its log line is `fdatasync`ed (a group commit too),
 *   so a power cut loses only what nobody acted on. It costs a sync's wait
 *   (0.5–3 ms on a laptop's SSD) on each of those steps.
 *
 * Set it with `CHAPERONE_DURABILITY=machine` for `npm start`/`chaperone dev`,
 * or the `durability` option of the local stack, the harness, the Step
 * Functions service and the local DynamoDB.
 */
export type Durability = 'process' | 'machine';

export const DURABILITIES: readonly Durability[] = ['process', 'machine'];

export const DEFAULT_DURABILITY: Durability = 'process';

/** A `CHAPERONE_DURABILITY` that is neither level. */
export class DurabilityError extends Error {
  override readonly name = 'DurabilityError';
}

/** The level `CHAPERONE_DURABILITY` names, or the default when it is unset or empty; anything else is refused by name. */
export function durabilityFromEnv(env: Record<string, string | undefined>): Durability {
  const raw = env.CHAPERONE_DURABILITY?.trim();
  if (!raw) return DEFAULT_DURABILITY;
  if (isDurability(raw)) return raw;
  throw new DurabilityError(`CHAPERONE_DURABILITY=${JSON.stringify(raw)} ${NOT_A_LEVEL}`);
}

const isDurability = (value: unknown): value is Durability =>
  typeof value === 'string' && (DURABILITIES as readonly string[]).includes(value);

const NOT_A_LEVEL = `is not a durability level: use ${DURABILITIES.map((d) => `'${d}'`).join(' or ')}`;

/**
 * A `durability` option as a level (undefined: the default). A value the
 * types would refuse, from JavaScript or a parsed config, is refused here
 * naming `option`, not taken silently as `process`.
 */
export function durabilityOption(value: unknown, option: string): Durability {
  if (value === undefined) return DEFAULT_DURABILITY;
  if (isDurability(value)) return value;
  throw new DurabilityError(`${option} ${JSON.stringify(value)} ${NOT_A_LEVEL}`);
}

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { monotonicFactory } from 'ulid';
import type { LimitName } from '../../state-machines/edges.js';
import { StoreThrottledError } from '../core/errors.js';
import { pooledPrng } from '../core/id-random.js';
import type { Json } from '../core/model.js';
import type {
  Claim,
  Completion,
  KeyedEvent,
  Ledger,
  OpenReservation,
  PendingCall,
  Reservation,
  ReserveOutcome,
  RunMeta,
  RunStore,
  StoredMessage,
  StoredTrailEvent,
  ToolResultRecord,
  TrailEvent,
  TurnRecord,
  TurnReservation,
} from '../core/run-records.js';
import { isConditionFailure, storeError } from './dynamo-client.js';
import {
  BatchGetCommand,
  type DocumentClient,
  type DocumentCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from './dynamo-http.js';
import {
  parseClaim,
  parseLedger,
  parseOpenReservations,
  parseRunMeta,
  parseStoredMessage,
  parseTrailEvent,
} from './run-item-parsers.js';

const ulid = monotonicFactory(pooledPrng());
const pad = (n: number) => String(n).padStart(6, '0');
const pk = (runId: string) => `RUN#${runId}`;
const LEDGER = 'LEDGER';
/** DynamoDB's limit of items in one TransactWriteItems. */
const MAX_TRANSACTION_ITEMS = 100;

type Item = Record<string, unknown>;
type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

/**
 * The Runs single table: `RUN#id` with `META`, `LEDGER` (with the open
 * reservations under `open`), `EVT#<id>` (the trail, deterministic ids),
 * `MSG#step#iteration#1u|2a` (conversation), `CLAIM#<key>` (claims),
 * `CALL#…`/`RES#…` (accepted tool calls and results) and `OUT#step` (outputs).
 */
export class DynamoRunStore implements RunStore {
  constructor(
    private readonly db: DocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async createRun(meta: RunMeta, ledger: Ledger, first?: KeyedEvent): Promise<boolean> {
    // One transaction: the run is there whole (META, LEDGER and the trail's first event) or not
    // at all, whatever crashes when; a failed condition on any of them means it exists already.
    const items: TransactItem[] = [
      {
        Put: this.putIfAbsentRequest({
          pk: pk(meta.runId),
          sk: LEDGER,
          ...ledger,
          open: {},
          turns: {},
          failedCalls: [],
        }),
      },
      { Put: this.putIfAbsentRequest({ pk: pk(meta.runId), sk: 'META', ...meta }) },
      ...(first ? [{ Put: this.eventPut(meta.runId, first) }] : []),
    ];
    try {
      await this.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (err) {
      if (cancellationCodes(err)?.includes('ConditionalCheckFailed')) return false;
      throw err;
    }
  }

  async getRun(runId: string): Promise<RunMeta | undefined> {
    const item = await this.get(pk(runId), 'META');
    return item ? parseRunMeta(item) : undefined;
  }

  async updateRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<void> {
    await this.patch(runId, patch, false);
  }

  async closeRun(runId: string, patch: Partial<Omit<RunMeta, 'runId'>>): Promise<boolean> {
    return this.patch(runId, patch, true);
  }

  private async patch(
    runId: string,
    patch: Partial<Omit<RunMeta, 'runId'>>,
    onlyRunning: boolean,
  ): Promise<boolean> {
    const entries = Object.entries({ ...patch, updatedAt: new Date(this.now()).toISOString() }).filter(
      ([, v]) => v !== undefined,
    );
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([k, v], i) => {
      names[`#k${i}`] = k;
      values[`:v${i}`] = v;
      return `#k${i} = :v${i}`;
    });
    if (onlyRunning) {
      names['#status'] = 'status';
      values[':running'] = 'RUNNING';
    }
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(runId), sk: 'META' },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: onlyRunning
            ? 'attribute_exists(pk) AND #status = :running'
            : 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err) && onlyRunning) return false;
      throw err;
    }
  }

  async getLedger(runId: string): Promise<Ledger | undefined> {
    const item = await this.get(pk(runId), LEDGER);
    return item ? parseLedger(item) : undefined;
  }

  async openReservations(runId: string): Promise<Record<string, OpenReservation>> {
    const item = await this.get(pk(runId), LEDGER);
    return item ? parseOpenReservations(item) : {};
  }

  async getLedgerState(
    runId: string,
  ): Promise<{ ledger: Ledger; open: Record<string, OpenReservation> } | undefined> {
    const item = await this.get(pk(runId), LEDGER);
    return item ? { ledger: parseLedger(item), open: parseOpenReservations(item) } : undefined;
  }

  async reserve(
    runId: string,
    key: string,
    amount: Reservation,
  ): Promise<ReserveOutcome & { reused?: Reservation }> {
    const held: OpenReservation = { ...amount, caps: [] };
    const out = await this.reserveOn({ pk: pk(runId), sk: LEDGER }, key, held);
    if (out.ok || !out.held) return out;
    return { ok: true, ledger: out.ledger, reused: out.held };
  }

  async reserveTurn(
    runId: string,
    step: string,
    iteration: number,
    key: string,
    amount: Reservation,
    historyEvents = 0,
  ): Promise<TurnReservation> {
    const held: OpenReservation = { ...amount, caps: [] };
    try {
      const out = await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(runId), sk: LEDGER },
          UpdateExpression:
            'SET tokensRemaining = tokensRemaining - :t, costRemainingMicros = costRemainingMicros - :c, stepsRemaining = stepsRemaining - :s, #open.#k = :held ADD stepsUsed :s, historyEvents :h',
          ConditionExpression:
            'attribute_not_exists(#open.#k) AND (attribute_not_exists(#turns.#step) OR #turns.#step < :n) AND tokensRemaining >= :t AND costRemainingMicros >= :c AND stepsRemaining >= :s',
          ExpressionAttributeNames: { '#open': 'open', '#k': key, '#turns': 'turns', '#step': step },
          ExpressionAttributeValues: {
            ':t': amount.tokens,
            ':c': amount.costMicros,
            ':s': amount.steps,
            ':n': iteration,
            ':held': held,
            ':h': historyEvents,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'reserved', held, ledger: parseLedger(out.Attributes ?? {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const wire = (err as { Item?: Record<string, AttributeValue> }).Item;
      const old = wire ? unmarshall(wire) : await this.get(pk(runId), LEDGER);
      if (!old) throw err;
      const ledger = parseLedger(old);
      const open = parseOpenReservations(old)[key];
      if (open) return { kind: 'reused', held: open, ledger };
      const turns = (old.turns ?? {}) as Record<string, unknown>;
      if (Number(turns[step] ?? 0) >= iteration) return { kind: 'settled' };
      const limit =
        ledger.stepsRemaining < amount.steps
          ? 'steps'
          : ledger.tokensRemaining < amount.tokens
            ? 'tokens'
            : 'cost';
      return { kind: 'refused', limit, ledger };
    }
  }

  async chargeLostTurn(
    runId: string,
    key: string,
    held: OpenReservation,
    event: KeyedEvent,
  ): Promise<
    | { kind: 'reserved'; ledger: Ledger }
    | { kind: 'refused'; limit: 'tokens' | 'cost'; ledger: Ledger; cap?: string }
    | { kind: 'gone' }
  > {
    const ledgerKey = { pk: pk(runId), sk: LEDGER };
    // The daily caps the lost attempt held under this turn are charged alike (each its own hold).
    const caps: Array<{ cap: string; held: Reservation }> = [];
    for (const cap of held.caps) {
      const item = await this.get(`CAP#${cap}`, LEDGER);
      const open = item ? parseOpenReservations(item)[holderKey(runId, key)] : undefined;
      if (open) caps.push({ cap, held: open });
    }
    const charge = (
      item: { pk: string; sk: string },
      openKey: string,
      amount: Reservation,
      how: 'again' | 'close',
      steps = 0,
      /** The run's hold only: its count of charges after this one (names the next charge's event). */
      charged?: number,
    ): TransactItem => ({
      Update: {
        TableName: this.table,
        Key: item,
        ExpressionAttributeNames: { '#open': 'open', '#k': openKey },
        ...(how === 'again'
          ? {
              // The lost attempt's hold becomes used, and as much again is held for this one.
              UpdateExpression: `${charged !== undefined ? 'SET #open.#k.charged = :n ' : ''}ADD tokensUsed :t, costUsedMicros :c, tokensRemaining :nt, costRemainingMicros :nc`,
              ConditionExpression:
                'attribute_exists(#open.#k) AND tokensRemaining >= :t AND costRemainingMicros >= :c',
              ExpressionAttributeValues: {
                ':t': amount.tokens,
                ':c': amount.costMicros,
                ':nt': -amount.tokens,
                ':nc': -amount.costMicros,
                ...(charged !== undefined ? { ':n': charged } : {}),
              },
            }
          : {
              // The lost attempt's hold becomes used, and nothing stays held (its steps go back).
              UpdateExpression: `REMOVE #open.#k ADD tokensUsed :t, costUsedMicros :c${steps ? ', stepsRemaining :s, stepsUsed :ns' : ''}`,
              ConditionExpression: 'attribute_exists(#open.#k)',
              ExpressionAttributeValues: {
                ':t': amount.tokens,
                ':c': amount.costMicros,
                ...(steps ? { ':s': steps, ':ns': -steps } : {}),
              },
            }),
      },
    });
    const items = (how: 'again' | 'close'): TransactItem[] => [
      charge(ledgerKey, key, held, how, held.steps, (held.charged ?? 0) + 1),
      { Put: this.eventPut(runId, event) },
      ...caps.map((c) => charge({ pk: `CAP#${c.cap}`, sk: LEDGER }, holderKey(runId, key), c.held, how)),
    ];
    /** 'ok', 'event' (this very event is written: this attempt's charge is made already), or what refused. */
    const write = async (how: 'again' | 'close'): Promise<'ok' | 'event' | 'ledger' | { cap: string }> => {
      try {
        await this.send(new TransactWriteCommand({ TransactItems: items(how) }));
        return 'ok';
      } catch (err) {
        const reasons = cancellationCodes(err);
        if (!reasons) throw err;
        if (reasons[0] === 'ConditionalCheckFailed') return 'ledger';
        if (reasons[1] === 'ConditionalCheckFailed') return 'event';
        const capAt = reasons.slice(2).indexOf('ConditionalCheckFailed');
        if (capAt >= 0) return { cap: caps[capAt]?.cap ?? '' };
        throw err;
      }
    };
    const current = async () => {
      const item = await this.get(pk(runId), LEDGER);
      return item ? { ledger: parseLedger(item), open: parseOpenReservations(item)[key] } : undefined;
    };
    const again = await write('again');
    const now = await current();
    if (!now?.open) return { kind: 'gone' };
    if (again === 'ok' || again === 'event') return { kind: 'reserved', ledger: now.ledger };
    // No room to hold it again (the run's budget or a daily cap): the lost attempt is charged all
    // the same, and nothing stays held.
    const closed = await write('close');
    if (closed !== 'ok' && closed !== 'event') return { kind: 'gone' };
    const ledger = (await current())?.ledger ?? now.ledger;
    if (again === 'ledger')
      return { kind: 'refused', limit: now.ledger.tokensRemaining < held.tokens ? 'tokens' : 'cost', ledger };
    const capItem = await this.get(`CAP#${again.cap}`, LEDGER);
    const capLedger = capItem ? parseLedger(capItem) : undefined;
    const short = capLedger && capLedger.tokensRemaining < held.tokens ? 'tokens' : 'cost';
    return { kind: 'refused', limit: short, ledger, cap: again.cap };
  }

  async reserveMargin(runId: string, key: string, limit: LimitName): Promise<OpenReservation | undefined> {
    const item = await this.get(pk(runId), LEDGER);
    if (!item) return undefined;
    const open = parseOpenReservations(item)[key];
    if (open) return open.margin ? open : undefined;
    const ledger = parseLedger(item);
    const tokens = ledger.marginTokens ?? 0;
    const costMicros = ledger.marginCostMicros ?? 0;
    const steps = ledger.marginSteps ?? 0;
    if (tokens <= 0) return undefined;
    const held: OpenReservation = { tokens, costMicros, steps, caps: [], margin: limit };
    try {
      // All of the margin moves to one reservation, once: settling it gives back the unused part.
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(runId), sk: LEDGER },
          UpdateExpression:
            'SET #open.#k = :held, marginTokens = :zero, marginCostMicros = :zero, marginSteps = :zero ADD stepsUsed :s',
          ConditionExpression:
            'attribute_not_exists(#open.#k) AND marginTokens = :t AND marginCostMicros = :c AND marginSteps = :s',
          ExpressionAttributeNames: { '#open': 'open', '#k': key },
          ExpressionAttributeValues: {
            ':held': held,
            ':zero': 0,
            ':t': tokens,
            ':c': costMicros,
            ':s': steps,
          },
        }),
      );
      return held;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const again = await this.get(pk(runId), LEDGER);
      const mine = again ? parseOpenReservations(again)[key] : undefined;
      return mine?.margin ? mine : undefined;
    }
  }

  async extendLedger(
    runId: string,
    extension: { approvalId: string; limit: LimitName; amount: number },
    event: KeyedEvent,
  ): Promise<boolean> {
    const counters: Record<typeof extension.limit, string[]> = {
      tokens: ['tokenLimit', 'tokensRemaining', '#ext.tokens'],
      cost: ['costLimitMicros', 'costRemainingMicros', '#ext.costMicros'],
      steps: ['stepLimit', 'stepsRemaining', '#ext.steps'],
      // The agent step adds extended.seconds to the run's deadline.
      time: ['#ext.seconds'],
    };
    const adds = counters[extension.limit].map((c) => `${c} :a`).join(', ');
    for (let attempt = 1; ; attempt++) {
      try {
        await this.applyExtension(runId, extension, event, adds);
        return true;
      } catch (err) {
        if (!cancellationCodes(err)?.includes('ConditionalCheckFailed')) throw err;
        // Applied already (one transaction: the ledger part and its event went together), or a
        // ledger written before extensions existed, with no `extended` map to add to: give it one.
        if (attempt > 1 || !(await this.addExtensionsMap(runId))) return false;
      }
    }
  }

  /** Gives a ledger without one (a run started before extensions existed) its `extended` map; true when it had none. */
  private async addExtensionsMap(runId: string): Promise<boolean> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(runId), sk: LEDGER },
          UpdateExpression: 'SET #ext = :zero',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#ext)',
          ExpressionAttributeNames: { '#ext': 'extended' },
          ExpressionAttributeValues: { ':zero': { steps: 0, tokens: 0, costMicros: 0, seconds: 0 } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private async applyExtension(
    runId: string,
    extension: { approvalId: string; limit: LimitName; amount: number },
    event: KeyedEvent,
    adds: string,
  ): Promise<void> {
    await this.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.table,
              Key: { pk: pk(runId), sk: LEDGER },
              UpdateExpression: `SET appliedExtensions = list_append(if_not_exists(appliedExtensions, :empty), :ids) ADD ${adds}`,
              ConditionExpression: 'attribute_exists(#ext) AND NOT contains(appliedExtensions, :id)',
              ExpressionAttributeNames: { '#ext': 'extended' },
              ExpressionAttributeValues: {
                ':a': extension.amount,
                ':empty': [],
                ':ids': [extension.approvalId],
                ':id': extension.approvalId,
              },
            },
          },
          { Put: this.eventPut(runId, event) },
        ],
      }),
    );
  }

  async reserveCap(
    cap: string,
    limits: { tokens: number; costMicros: number },
    runId: string,
    key: string,
    amount: Reservation,
  ): Promise<ReserveOutcome> {
    const capKey = { pk: `CAP#${cap}`, sk: LEDGER };
    await this.putIfAbsent({
      ...capKey,
      tokenLimit: limits.tokens,
      tokensRemaining: limits.tokens,
      tokensUsed: 0,
      costLimitMicros: limits.costMicros,
      costRemainingMicros: limits.costMicros,
      costUsedMicros: 0,
      // A cap counts no steps and no tool failures: its step counter never refuses.
      stepLimit: Number.MAX_SAFE_INTEGER,
      stepsRemaining: Number.MAX_SAFE_INTEGER,
      stepsUsed: 0,
      toolFailureLimit: Number.MAX_SAFE_INTEGER,
      toolFailures: 0,
      open: {},
      // Daily counters expire a week after the day (TTL attribute).
      expiresAt: Math.floor(this.now() / 1000) + 8 * 86_400,
    });
    // The run's reservation names the cap before the cap is reserved: whoever settles
    // or releases the run's reservation then settles the cap too (a cap never reserved
    // is settled by nobody: its condition fails).
    await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(runId), sk: LEDGER },
        UpdateExpression: 'SET #open.#k.#caps = list_append(#open.#k.#caps, :cap)',
        ConditionExpression: 'attribute_exists(#open.#k) AND NOT contains(#open.#k.#caps, :capName)',
        ExpressionAttributeNames: { '#open': 'open', '#k': key, '#caps': 'caps' },
        ExpressionAttributeValues: { ':cap': [cap], ':capName': cap },
      }),
    ).catch((err: unknown) => {
      if (!isConditionFailure(err)) throw err;
    });
    const out = await this.reserveOn(capKey, holderKey(runId, key), { ...amount, steps: 0, caps: [] });
    if (out.ok || out.held) return { ok: true, ledger: out.ledger };
    return out;
  }

  async settle(
    runId: string,
    key: string,
    used: { tokens: number; costMicros: number },
    options: { giveBackSteps?: boolean } = {},
  ): Promise<Ledger | undefined> {
    const settling = await this.settling(runId, key, used);
    if (!settling) return undefined;
    const { open, update } = settling;
    if (options.giveBackSteps && open.steps > 0) {
      update.UpdateExpression += ', stepsRemaining :rs, stepsUsed :us';
      Object.assign(update.ExpressionAttributeValues, { ':rs': open.steps, ':us': -open.steps });
    }
    try {
      const out = await this.send(new UpdateCommand({ TableName: this.table, ...update }));
      return parseLedger(out.Attributes ?? {});
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  async settleRecorded(
    runId: string,
    key: string,
    used: { tokens: number; costMicros: number },
    event: KeyedEvent,
  ): Promise<boolean> {
    const settling = await this.settling(runId, key, used);
    if (!settling) return false;
    try {
      await this.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: { TableName: this.table, ...settling.update } },
            { Put: this.eventPut(runId, event) },
          ],
        }),
      );
      return true;
    } catch (err) {
      // The hold is gone or the event is there: another attempt settled and recorded it.
      if (cancellationCodes(err)?.includes('ConditionalCheckFailed')) return false;
      throw err;
    }
  }

  /**
   * The first half of settling the hold under `key`: its daily caps are settled, and the run
   * ledger's update is built for the caller to send (alone or in a transaction). Undefined
   * when nothing is held under `key`.
   */
  private async settling(
    runId: string,
    key: string,
    used: { tokens: number; costMicros: number },
  ): Promise<{ open: OpenReservation; update: ReturnType<typeof settleUpdate> } | undefined> {
    const open = (await this.openReservations(runId))[key];
    if (!open) return undefined;
    for (const cap of open.caps) await this.settleCap(cap, runId, key, used);
    return { open, update: settleUpdate({ pk: pk(runId), sk: LEDGER }, key, open, used) };
  }

  async settleCap(
    cap: string,
    runId: string,
    key: string,
    used: { tokens: number; costMicros: number },
  ): Promise<boolean> {
    const capKey = { pk: `CAP#${cap}`, sk: LEDGER };
    const item = await this.get(capKey.pk, capKey.sk);
    const held = item ? parseOpenReservations(item)[holderKey(runId, key)] : undefined;
    if (!held) return false;
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          ...settleUpdate(capKey, holderKey(runId, key), held, used),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Reserve on a ledger item (a run's or a daily cap's) under `remaining >= amount`
   * for every counter, held under `key` in its `open` map. A second reservation
   * under the same key reserves nothing and reports what is held.
   */
  private async reserveOn(
    item: { pk: string; sk: string },
    key: string,
    amount: OpenReservation,
  ): Promise<ReserveOutcome & { held?: OpenReservation }> {
    try {
      const out = await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: item,
          // DynamoDB conditions do no arithmetic: keep `remaining` counters and compare them with the amount.
          UpdateExpression:
            'SET tokensRemaining = tokensRemaining - :t, costRemainingMicros = costRemainingMicros - :c, stepsRemaining = stepsRemaining - :s, #open.#k = :held ADD stepsUsed :s',
          ConditionExpression:
            'attribute_not_exists(#open.#k) AND tokensRemaining >= :t AND costRemainingMicros >= :c AND stepsRemaining >= :s',
          ExpressionAttributeNames: { '#open': 'open', '#k': key },
          ExpressionAttributeValues: {
            ':t': amount.tokens,
            ':c': amount.costMicros,
            ':s': amount.steps,
            ':held': amount,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, ledger: parseLedger(out.Attributes ?? {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // The old item on a failed condition comes back in wire format (the document
      // client does not unmarshall errors); dynalite does not return it at all.
      const wire = (err as { Item?: Record<string, AttributeValue> }).Item;
      const old = wire ? unmarshall(wire) : await this.get(item.pk, item.sk);
      if (!old) throw err;
      const ledger = parseLedger(old);
      const held = parseOpenReservations(old)[key];
      if (held) return { ok: false, limit: 'tokens', ledger, held };
      const limit =
        ledger.stepsRemaining < amount.steps
          ? 'steps'
          : ledger.tokensRemaining < amount.tokens
            ? 'tokens'
            : 'cost';
      return { ok: false, limit, ledger };
    }
  }

  async getClaim(runId: string, key: string): Promise<Claim | undefined> {
    const item = await this.get(pk(runId), `CLAIM#${key}`);
    return item ? parseClaim(item) : undefined;
  }

  async beginClaim(runId: string, key: string, seen: Claim | undefined): Promise<Claim | undefined> {
    const attempts = (seen?.attempts ?? 0) + 1;
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(runId), sk: `CLAIM#${key}` },
          // A new attempt leaves any earlier question behind: if it dies too, a human is asked anew.
          UpdateExpression:
            'SET #key = :key, #state = :acting, attempts = :n, beganAt = :at REMOVE approvalId',
          ConditionExpression: seen ? '#state = :acting AND attempts = :seen' : 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#key': 'key', '#state': 'state' },
          ExpressionAttributeValues: {
            ':key': key,
            ':acting': 'acting',
            ':n': attempts,
            ':at': new Date(this.now()).toISOString(),
            ...(seen ? { ':seen': seen.attempts } : {}),
          },
        }),
      );
      const { approvalId: _asked, ...rest } = seen ?? ({} as Partial<Claim>);
      return { ...rest, key, state: 'acting', attempts };
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  async claimFirst(runId: string, key: string): Promise<{ began: Claim } | { existing: Claim }> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: pk(runId),
            sk: `CLAIM#${key}`,
            key,
            state: 'acting',
            attempts: 1,
            beganAt: new Date(this.now()).toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { began: { key, state: 'acting', attempts: 1 } };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // The old item comes back in wire format on real DynamoDB; dynalite returns none.
      const wire = (err as { Item?: Record<string, AttributeValue> }).Item;
      const old = wire ? unmarshall(wire) : await this.get(pk(runId), `CLAIM#${key}`);
      if (!old) throw err;
      return { existing: parseClaim(old) };
    }
  }

  async askAboutClaim(runId: string, key: string, approvalId: string, round: number): Promise<void> {
    await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(runId), sk: `CLAIM#${key}` },
        UpdateExpression: 'SET approvalId = :a, askedRounds = :r',
        ConditionExpression: '#state = :acting',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':a': approvalId, ':r': round, ':acting': 'acting' },
      }),
    );
  }

  async completeClaim(runId: string, key: string, completion: Completion): Promise<boolean> {
    const claim = this.claimDone(runId, key, completion.result);
    const parts = this.completionItems(runId, completion);
    if (completion.settle) {
      // Undefined when settled already (an earlier attempt's completion got that far).
      const settling = await this.settling(runId, completion.settle.key, completion.settle.used);
      if (settling) parts.push({ Update: { TableName: this.table, ...settling.update } });
    }
    if (parts.length + 1 <= MAX_TRANSACTION_ITEMS) {
      try {
        await this.send(new TransactWriteCommand({ TransactItems: [...parts, claim] }));
        return true;
      } catch (err) {
        const reasons = cancellationCodes(err);
        if (!reasons) throw err;
        // The claim was done already: its stored result counts and nothing else changes.
        if (reasons.at(-1) === 'ConditionalCheckFailed') return false;
        // A part exists already (written by an earlier, non-atomic completion): fall through
        // and write part by part, each once, then the claim.
      }
    }
    await this.writeEach(parts);
    try {
      await this.send(new UpdateCommand(claim.Update as NonNullable<TransactItem['Update']>));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The claim's completion: done with its result, unless another attempt completed it first. */
  private claimDone(runId: string, key: string, result: Json): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: { pk: pk(runId), sk: `CLAIM#${key}` },
        UpdateExpression:
          'SET #key = :key, #state = :done, #result = :result, doneAt = :at, attempts = if_not_exists(attempts, :zero)',
        ConditionExpression: 'attribute_not_exists(#state) OR #state <> :done',
        ExpressionAttributeNames: { '#key': 'key', '#state': 'state', '#result': 'result' },
        ExpressionAttributeValues: {
          ':key': key,
          ':done': 'done',
          ':result': result,
          ':at': new Date(this.now()).toISOString(),
          ':zero': 0,
        },
      },
    };
  }

  /** Write parts one by one, each once (an existing part is left as it is). */
  private async writeEach(parts: readonly TransactItem[]): Promise<void> {
    for (const part of parts) {
      try {
        if (part.Put) await this.send(new PutCommand(part.Put));
        else await this.send(new UpdateCommand(part.Update as NonNullable<TransactItem['Update']>));
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
  }

  /** The writes of a completion, each conditional so that writing it twice writes it once. */
  private completionItems(runId: string, c: Completion): TransactItem[] {
    const items: TransactItem[] = [];
    for (const e of c.events ?? []) items.push({ Put: this.eventPut(runId, e) });
    for (const r of c.results ?? []) {
      const { step, ...result } = r;
      items.push({
        Put: this.putIfAbsentRequest({ pk: pk(runId), sk: `RES#${step}#${r.toolUseId}`, ...result }),
      });
    }
    for (const call of c.calls ?? []) {
      const { step, ...pending } = call;
      items.push({
        Put: this.putIfAbsentRequest({ pk: pk(runId), sk: `CALL#${step}#${call.toolUseId}`, ...pending }),
      });
    }
    if (c.output)
      items.push({
        Put: this.putIfAbsentRequest({ pk: pk(runId), sk: `OUT#${c.output.step}`, output: c.output.value }),
      });
    if (c.failedCall) {
      items.push({
        Update: {
          TableName: this.table,
          Key: { pk: pk(runId), sk: LEDGER },
          // A list of failed call ids: counted once per call however often it completes.
          UpdateExpression:
            'SET failedCalls = list_append(if_not_exists(failedCalls, :empty), :call) ADD toolFailures :one',
          ConditionExpression: 'NOT contains(failedCalls, :id)',
          ExpressionAttributeValues: {
            ':empty': [],
            ':call': [c.failedCall],
            ':id': c.failedCall,
            ':one': 1,
          },
        },
      });
    }
    return items;
  }

  async appendEvent(runId: string, id: string, event: TrailEvent): Promise<boolean> {
    try {
      await this.send(new PutCommand(this.eventPut(runId, { id, event })));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private eventPut(runId: string, e: KeyedEvent) {
    const at = this.now();
    return this.putIfAbsentRequest({
      pk: pk(runId),
      sk: `EVT#${e.id}`,
      seq: ulid(at),
      at: new Date(at).toISOString(),
      event: e.event,
    });
  }

  async listEvents(runId: string): Promise<StoredTrailEvent[]> {
    const items = await this.query(runId, 'EVT#');
    return items
      .map((i) => ({
        ...parseTrailEvent(i.event),
        id: String(i.sk).slice(4),
        seq: String(i.seq),
        at: String(i.at),
      }))
      .sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  }

  async listMessages(runId: string, step: string): Promise<StoredMessage[]> {
    const items = await this.query(runId, `MSG#${step}#`);
    return items.map((i) => parseStoredMessage(i));
  }

  async commitTurn(runId: string, key: string, turn: TurnRecord, completion: Completion): Promise<boolean> {
    const msg = (record: StoredMessage, role: '1u' | '2a') =>
      this.putIfAbsentRequest({
        pk: pk(runId),
        sk: `MSG#${turn.step}#${pad(record.iteration)}#${role}`,
        ...record,
      });
    const { ReturnValues: _none, ...settle } = settleUpdate(
      { pk: pk(runId), sk: LEDGER },
      key,
      turn.held,
      turn.used,
      { step: turn.step, iteration: turn.iteration },
    );
    // Index 0 the claim, 1 the assistant message: either there already means another attempt
    // recorded this turn first. Index 2 the settlement: gone only if the run's end released it.
    const core: TransactItem[] = [
      this.claimDone(runId, key, completion.result),
      { Put: msg(turn.assistant, '2a') },
      { Update: { TableName: this.table, ...settle } },
      { Put: msg(turn.user, '1u') },
      { Put: this.eventPut(runId, turn.event) },
    ];
    const parts = this.completionItems(runId, completion);
    const attempt = async (items: TransactItem[]): Promise<'ok' | 'lost' | 'released' | 'parts'> => {
      try {
        await this.send(new TransactWriteCommand({ TransactItems: items }));
        return 'ok';
      } catch (err) {
        const reasons = cancellationCodes(err);
        if (!reasons) throw err;
        if (reasons[0] === 'ConditionalCheckFailed' || reasons[1] === 'ConditionalCheckFailed') return 'lost';
        if (reasons[2] === 'ConditionalCheckFailed') return 'released';
        return 'parts';
      }
    };
    let outcome: 'ok' | 'lost' | 'released' | 'parts' =
      core.length + parts.length <= MAX_TRANSACTION_ITEMS ? await attempt([...core, ...parts]) : 'parts';
    if (outcome === 'released') {
      // The run ended and released this reservation: record the turn without settling it.
      core.splice(2, 1);
      outcome =
        core.length + parts.length <= MAX_TRANSACTION_ITEMS ? await attempt([...core, ...parts]) : 'parts';
    }
    if (outcome !== 'parts') return outcome === 'ok';
    // Too many parts for one transaction, or one exists already: each part once, then the turn.
    await this.writeEach(parts);
    outcome = await attempt(core);
    if (outcome === 'released') {
      core.splice(2, 1);
      outcome = await attempt(core);
    }
    if (outcome === 'parts')
      throw new StoreThrottledError(`turn ${turn.iteration} of ${turn.step} could not be recorded`);
    return outcome === 'ok';
  }

  async listMessagesAfter(runId: string, step: string, after: number): Promise<StoredMessage[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': pk(runId),
            ':from': `MSG#${step}#${pad(after + 1)}`,
            ':to': `MSG#${step}#\uffff`,
          },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items.map((i) => parseStoredMessage(i));
  }

  async getPendingCall(runId: string, step: string, toolUseId: string): Promise<PendingCall | undefined> {
    const item = await this.get(pk(runId), `CALL#${step}#${toolUseId}`);
    if (!item) return undefined;
    const { toolUseId: id, tool, args, turn, approvalId } = item;
    return {
      toolUseId: String(id),
      tool: String(tool),
      args: args as Json,
      turn: Number(turn),
      ...(approvalId ? { approvalId: String(approvalId) } : {}),
    };
  }

  async putToolResult(runId: string, step: string, result: ToolResultRecord): Promise<boolean> {
    return this.putIfAbsent({ pk: pk(runId), sk: `RES#${step}#${result.toolUseId}`, ...result });
  }

  async getToolResults(
    runId: string,
    step: string,
    toolUseIds: readonly string[],
  ): Promise<Map<string, ToolResultRecord>> {
    const found = new Map<string, ToolResultRecord>();
    for (let i = 0; i < toolUseIds.length; i += 100) {
      const keys = toolUseIds.slice(i, i + 100).map((id) => ({ pk: pk(runId), sk: `RES#${step}#${id}` }));
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined =
        {
          [this.table]: { Keys: keys, ConsistentRead: true },
        };
      while (request && Object.keys(request).length > 0) {
        const out = await this.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of out.Responses?.[this.table] ?? []) {
          found.set(String(item.toolUseId), {
            toolUseId: String(item.toolUseId),
            content: String(item.content),
            isError: item.isError === true,
          });
        }
        request = out.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }

  async getStepOutputs(runId: string, steps: readonly string[]): Promise<Record<string, Json>> {
    const out: Record<string, Json> = {};
    for (const step of steps) {
      const item = await this.get(pk(runId), `OUT#${step}`);
      if (item) out[step] = item.output as Json;
    }
    return out;
  }

  private async get(hash: string, sort: string): Promise<Item | undefined> {
    const out = await this.send(
      new GetCommand({ TableName: this.table, Key: { pk: hash, sk: sort }, ConsistentRead: true }),
    );
    return out.Item;
  }

  private putIfAbsentRequest(item: Item) {
    return { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' };
  }

  /** Put an item once; false when it exists already. */
  private async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.send(new PutCommand(this.putIfAbsentRequest(item)));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private async query(runId: string, prefix: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk(runId), ':prefix': prefix },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Every call goes through here so throttling surfaces as the retryable
   * StoreThrottledError, and an unreachable table as StoreUnavailableError
   * (`storeError`). A transaction cancelled by a conflict or a throttle
   * of one of its items (parallel tool calls of one turn completing together,
   * a sibling branch reserving on the same ledger) — which the SDK does not
   * retry — is sent again up to 3 times first: every part of one is
   * conditional, so sending it again writes nothing twice, and the effect it
   * records is not left for a retry to guess about. Plain throttles are the
   * SDK's to retry (`maxAttempts`), then Step Functions'.
   */
  private readonly send = (async (command: DocumentCommand<unknown, unknown>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.send(command);
      } catch (err) {
        const contended =
          (err as { name?: unknown }).name === 'TransactionConflictException' ||
          cancellationCodes(err)?.some((c) => c === 'ThrottlingError' || c === 'TransactionConflict') ===
            true;
        if (contended && attempt < 4) {
          await new Promise((r) => setTimeout(r, Math.round(Math.random() * 25 * 2 ** attempt)));
          continue;
        }
        throw storeError(err, 'Runs table', contended);
      }
    }
  }) as DocumentClient['send'];
}

/** The key a daily cap holds a run's reservation under. */
const holderKey = (runId: string, key: string) => `${runId}#${key}`;

/** Settle a held reservation once: give back the unused part, add the used, drop the hold. */
function settleUpdate(
  item: { pk: string; sk: string },
  key: string,
  held: Reservation,
  used: { tokens: number; costMicros: number },
  /** Mark the model turn recorded, so that reserving it again answers `settled`. */
  turn?: { step: string; iteration: number },
) {
  return {
    Key: item,
    UpdateExpression: `${turn ? 'SET #turns.#step = :n ' : ''}REMOVE #open.#k ADD tokensRemaining :rt, costRemainingMicros :rc, tokensUsed :ut, costUsedMicros :uc`,
    ConditionExpression: 'attribute_exists(#open.#k)',
    ExpressionAttributeNames: {
      '#open': 'open',
      '#k': key,
      ...(turn ? { '#turns': 'turns', '#step': turn.step } : {}),
    },
    ExpressionAttributeValues: {
      ':rt': held.tokens - used.tokens,
      ':rc': held.costMicros - used.costMicros,
      ':ut': used.tokens,
      ':uc': used.costMicros,
      ...(turn ? { ':n': turn.iteration } : {}),
    },
    ReturnValues: 'ALL_NEW' as const,
  };
}

/** The per-item codes of a cancelled transaction, or undefined for any other error. */
function cancellationCodes(err: unknown): string[] | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; CancellationReasons?: Array<{ Code?: string }> };
  if (e.name !== 'TransactionCanceledException') return undefined;
  return (e.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

/**
 * Local Secrets Manager values. Generated secrets (the approval HMAC key) are
 * created once and kept in the data directory so signed links survive a
 * restart; secrets that come from the environment (the Anthropic key) are
 * served from memory and never written to disk.
 */
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One secret the local Secrets Manager serves. */
export interface SecretSpec {
  arn: string;
  /** The secret's name (what `SecretId` may be instead of the ARN). */
  name: string;
  /** A fixed value (from the template or the environment); not persisted. */
  value?: string;
  /** CloudFormation `GenerateSecretString` options, used when `value` is absent. */
  generate?: Record<string, unknown>;
}

/** A secret as GetSecretValue returns it. */
export interface SecretRecord {
  arn: string;
  name: string;
  secretString: string;
  versionId: string;
  /** Epoch seconds. */
  createdDate: number;
}

type Persisted = Record<string, { secretString: string; versionId: string; createdDate: number }>;

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** The secrets of one local stack, by ARN, name or partial ARN. */
export class LocalSecrets {
  private readonly byKey = new Map<string, SecretRecord>();

  /** Loads persisted generated secrets from `file`, generates missing ones and saves them. */
  static open(file: string, specs: SecretSpec[], now: () => number = Date.now): LocalSecrets {
    const persisted: Persisted = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as Persisted)
      : {};
    let changed = false;
    const secrets = new LocalSecrets();
    for (const spec of specs) {
      let record: SecretRecord;
      if (spec.value !== undefined) {
        record = {
          arn: spec.arn,
          name: spec.name,
          secretString: spec.value,
          versionId: 'local-v1',
          createdDate: Math.floor(now() / 1000),
        };
      } else {
        let saved = persisted[spec.arn];
        if (!saved) {
          saved = {
            secretString: generateSecretString(spec.generate ?? {}),
            versionId: 'local-v1',
            createdDate: Math.floor(now() / 1000),
          };
          persisted[spec.arn] = saved;
          changed = true;
        }
        record = { arn: spec.arn, name: spec.name, ...saved };
      }
      secrets.add(record);
    }
    if (changed) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(persisted, null, 2)}\n`, { mode: 0o600 });
    }
    return secrets;
  }

  private add(record: SecretRecord): void {
    this.byKey.set(record.arn, record);
    this.byKey.set(record.name, record);
    // A partial ARN (without the random six-character suffix) names the secret too.
    this.byKey.set(record.arn.replace(/-[A-Za-z0-9]{6}$/, ''), record);
  }

  /** The secret `SecretId` names, if any. */
  get(secretId: string): SecretRecord | undefined {
    return this.byKey.get(secretId);
  }
}

/** A value as CloudFormation's `GenerateSecretString` would make it. */
export function generateSecretString(options: Record<string, unknown>): string {
  const length = typeof options.PasswordLength === 'number' ? options.PasswordLength : 32;
  const exclude = typeof options.ExcludeCharacters === 'string' ? options.ExcludeCharacters : '';
  let chars = '';
  if (options.ExcludeLowercase !== true) chars += LOWER;
  if (options.ExcludeUppercase !== true) chars += UPPER;
  if (options.ExcludeNumbers !== true) chars += DIGITS;
  if (options.ExcludePunctuation !== true) chars += PUNCTUATION;
  if (options.IncludeSpace === true) chars += ' ';
  const pool = [...chars].filter((c) => !exclude.includes(c));
  if (pool.length === 0) pool.push(...LOWER);
  let value = '';
  for (let i = 0; i < length; i++) value += pool[randomInt(pool.length)];
  const key = options.GenerateStringKey;
  const template = options.SecretStringTemplate;
  if (typeof key === 'string' && typeof template === 'string') {
    const parsed: unknown = JSON.parse(template);
    return JSON.stringify({ ...(typeof parsed === 'object' && parsed !== null ? parsed : {}), [key]: value });
  }
  return value;
}

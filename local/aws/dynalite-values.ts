/**
 * Dynalite's check of one attribute value (`validateAttributeValue` in its
 * validations: one type, no empty or duplicate set, numbers in DynamoDB's
 * range and precision, written back in `big.js`'s canonical form), with the
 * values nearly every request holds checked here: strings, booleans, true
 * nulls, maps and lists of such, and numbers already in canonical form
 * (`12`, `-3`, `0.000453`), which `big.js` would parse and write back
 * unchanged. Anything else (sets, binaries, a number like `1e3` or `1.50`,
 * a value with no type or two) goes to dynalite's own check, which answers
 * (and rewrites the number) as before (`dynalite-values.test.ts` compares both).
 *
 * Why: the check runs on every value of every request, and parsed each
 * number with `big.js` and listed each value's keys.
 */

type AttributeValue = Record<string, unknown>;
type Check = (value: AttributeValue) => string | undefined;

/** An integer or a decimal without leading or trailing zeros. */
const CANONICAL_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** True when `text` is a number `big.js` writes back as it is, within DynamoDB's range and precision. */
export function canonicalNumber(text: unknown): boolean {
  return (
    typeof text === 'string' &&
    text !== '-0' &&
    CANONICAL_NUMBER.test(text) &&
    // At most 38 digits in all (so at most 38 significant ones, and the exponent within -38..37).
    text.length - (text.charCodeAt(0) === 45 ? 1 : 0) - (text.includes('.') ? 1 : 0) <= 38
  );
}

/** `validateAttributeValue` with the common values checked here and the rest by `original`. */
export function fastValueCheck(original: Check): Check {
  const check: Check = (value) => {
    let type: string | undefined;
    for (const key in value) {
      if (type !== undefined) return original(value);
      type = key;
    }
    const inner = type === undefined ? undefined : value[type];
    switch (type) {
      case 'S':
      case 'BOOL':
        return undefined;
      case 'NULL':
        return inner ? undefined : original(value);
      case 'N':
        return canonicalNumber(inner) ? undefined : original(value);
      case 'M': {
        if (inner === null || typeof inner !== 'object') return original(value);
        for (const attr in inner) {
          const msg = check((inner as Record<string, AttributeValue>)[attr] as AttributeValue);
          if (msg) return msg;
        }
        return undefined;
      }
      case 'L': {
        if (!Array.isArray(inner)) return original(value);
        for (let i = 0; i < inner.length; i++) {
          const msg = check(inner[i] as AttributeValue);
          if (msg) return msg;
        }
        return undefined;
      }
      default:
        return original(value);
    }
  };
  return check;
}

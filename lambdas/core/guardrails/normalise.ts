/**
 * Text normalisation before any guardrail judges it. An attacker does not need
 * a new attack to pass a pattern list, only a new spelling: a zero-width space
 * inside "Ignore", a Cyrillic "о", fullwidth letters, "I-g-n-o-r-e", or the
 * same sentence in base64. So every text is judged in several *views*: the
 * NFKC form with invisible controls removed, confusables folded in words that
 * mix scripts, separated letters joined, digit-for-letter swaps undone, and
 * every encoded segment (base64, hex, URL, `\u`/`\x` escapes, HTML entities)
 * decoded — each decoded text normalised and decoded again, two levels deep.
 */

/**
 * Invisible characters: Unicode's default-ignorable code points (zero-width
 * spaces and joiners, the soft hyphen, word joiners, invisible operators,
 * variation selectors, the BOM, Hangul fillers, the tag characters
 * U+E0000–E007F), less the bidi controls, which are handled on their own.
 */
const INVISIBLE = /(?![\u202A-\u202E\u2066-\u2069])\p{Default_Ignorable_Code_Point}/gu;
/**
 * Invisible characters ordinary text has: a variation selector or a zero-width
 * joiner next to an emoji. Only between letters do they count as hiding something.
 */
const EMOJI_INVISIBLE =
  /(?<![\p{L}\p{M}\p{N}])[\u200D\uFE00-\uFE0F]|[\u200D\uFE00-\uFE0F](?![\p{L}\p{M}\p{N}])/gu;
/** Bidirectional embeddings, overrides and isolates (the "Trojan Source" controls). */
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const BIDI_OVERRIDE = /[\u202D\u202E]/;

/**
 * Letters of other scripts that look like Latin ones (a subset of Unicode's
 * confusables.txt: the Cyrillic, Greek and Armenian letters used in
 * homoglyph attacks on English words).
 */
const CONFUSABLES: Readonly<Record<string, string>> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  һ: 'h',
  ӏ: 'l',
  ո: 'n',
  ս: 'u',
  օ: 'o',
  А: 'A',
  В: 'B',
  Е: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  Х: 'X',
  І: 'I',
  Ј: 'J',
  Ѕ: 'S',
  α: 'a',
  ο: 'o',
  ρ: 'p',
  ν: 'v',
  ι: 'i',
  κ: 'k',
  τ: 't',
  υ: 'u',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
};
/** Latin small capitals (ɪɢɴᴏʀᴇ), which NFKC leaves alone, as the letters they show. */
const SMALL_CAPITALS: Readonly<Record<string, string>> = {
  ᴀ: 'a',
  ʙ: 'b',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ꜰ: 'f',
  ɢ: 'g',
  ʜ: 'h',
  ɪ: 'i',
  ᴊ: 'j',
  ᴋ: 'k',
  ʟ: 'l',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ǫ: 'q',
  ʀ: 'r',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ʏ: 'y',
  ᴢ: 'z',
};
const SMALL_CAPITAL = /[ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ]/u;
const LATIN = /\p{Script=Latin}/u;
const FOREIGN_LOOKALIKE = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}]/u;

/** One way of reading a text. `label` says how it was derived (`decoded:base64`, …). */
export interface TextView {
  label: string;
  text: string;
}

/** What normalising found, for the trail: hidden characters are a signal of their own. */
export interface Normalised {
  /** The first view is always the plain normalised text. */
  views: TextView[];
  /** Obfuscations seen: `invisible`, `bidi`, `bidi_override`, `mixed_script`, `decoded:<kind>`, … */
  findings: string[];
}

const MAX_DECODE_DEPTH = 2;
const MAX_VIEWS = 24;

/** The NFKC form with invisible and bidi controls removed (no other change). */
export function basicForm(text: string): string {
  return text.normalize('NFKC').replace(INVISIBLE, '').replace(BIDI, '');
}

/**
 * Every view of `text` worth judging (see the module's note), plus what was
 * found on the way. Views are distinct; there are at most {@link MAX_VIEWS}.
 */
export function normalise(text: string): Normalised {
  const findings = new Set<string>();
  const views: TextView[] = [];
  const seen = new Set<string>();
  const add = (label: string, t: string) => {
    if (views.length >= MAX_VIEWS || t.trim() === '' || seen.has(t)) return;
    seen.add(t);
    views.push({ label, text: t });
  };
  expand(text, 'text', 0, add, findings);
  if (views.length === 0) views.push({ label: 'text', text: '' });
  return { views, findings: [...findings] };
}

function expand(
  raw: string,
  label: string,
  depth: number,
  add: (label: string, text: string) => void,
  findings: Set<string>,
): void {
  if (INVISIBLE.test(raw.replace(EMOJI_INVISIBLE, ''))) findings.add('invisible');
  INVISIBLE.lastIndex = 0;
  if (BIDI_OVERRIDE.test(raw)) findings.add('bidi_override');
  else if (BIDI.test(raw)) findings.add('bidi');
  BIDI.lastIndex = 0;
  const nfkc = raw.normalize('NFKC');
  if (nfkc !== raw && /[\uFF01-\uFF5E]/.test(raw)) findings.add('fullwidth');
  const base = basicForm(raw);
  add(label, base);
  if (BIDI_OVERRIDE.test(raw)) add(`${label}:reversed`, reverseOverridden(base));
  const folded = foldConfusables(base);
  if (folded !== base) {
    findings.add('mixed_script');
    add(`${label}:folded`, folded);
  }
  const joined = joinSeparatedLetters(folded);
  if (joined !== folded) {
    findings.add('separated_letters');
    add(`${label}:joined`, joined);
  }
  const unleet = undoLeet(joined);
  if (unleet !== joined) add(`${label}:unleet`, unleet);
  // Text that tells the reader how to decode it: read it that way too.
  // ROT13 is read whether or not the text says so: rotated ordinary text is gibberish to every heuristic.
  if (/[A-Za-z]{3,}/.test(base)) add(`${label}:rot13`, rot13(base));
  if (/\b(backwards|reversed?|in\s+reverse)\b/i.test(base)) add(`${label}:reversed`, reverseOverridden(base));
  if (depth >= MAX_DECODE_DEPTH) return;
  for (const decoded of decodeSegments(base)) {
    findings.add(`decoded:${decoded.kind}`);
    expand(decoded.text, `${label}:decoded:${decoded.kind}`, depth + 1, add, findings);
  }
}

/**
 * Fold look-alike letters in words that mix them with Latin letters ("Ignоre"
 * with a Cyrillic о), and in words made only of look-alikes ("Вураѕѕ") when the
 * text is mostly Latin: a Russian or Greek text is left as it is. Latin small
 * capitals ("ɪɢɴᴏʀᴇ") become the letters they show wherever they are.
 */
export function foldConfusables(text: string): string {
  const latin = (text.match(/\p{Script=Latin}/gu) ?? []).length;
  const foreign = (text.match(/[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}]/gu) ?? []).length;
  const mostlyLatin = latin > foreign;
  return text.replace(/[\p{L}\p{M}]+/gu, (raw) => {
    const word = SMALL_CAPITAL.test(raw) ? [...raw].map((c) => SMALL_CAPITALS[c] ?? c).join('') : raw;
    if (!FOREIGN_LOOKALIKE.test(word)) return word;
    const letters = [...word];
    const mixed = LATIN.test(word);
    const allLookalike = letters.length >= 3 && letters.every((c) => c in CONFUSABLES);
    if (!mixed && !(mostlyLatin && allLookalike)) return word;
    return letters.map((c) => CONFUSABLES[c] ?? c).join('');
  });
}

/**
 * Join letters spelled out one at a time with the same separator between
 * them: "I-g-n-o-r-e", "D.i.s.r.e.g.a.r.d", "i g n o r e   a l l" (words then
 * stand apart by a wider gap). Runs of four letters or more only, so "U.S."
 * and "a b c" stay as they are. A word broken once by `-`, `_` or `*` between
 * two letters on each side is joined too ("Dis-regard"; "e-mail" stays).
 */
export function joinSeparatedLetters(text: string): string {
  const spaced = text.replace(/(?:\p{L} ){3,}\p{L}(?:\s{2,}(?:\p{L} ){1,}\p{L})*/gu, (run) =>
    run
      .split(/\s{2,}/)
      .map((w) => w.replace(/ /g, ''))
      .join(' '),
  );
  const joined = spaced.replace(
    /(?<![\p{L}\p{N}])\p{L}(?:([-._*\u00B7])\p{L})(?:\1\p{L}){2,}(?![\p{L}\p{N}])/gu,
    (run) => run.replace(/[-._*\u00B7]/g, ''),
  );
  // Words broken by one inner separator ("Ig_nore", "prev_ious", "instruc-tions").
  return joined.replace(/(?<=\p{L}{2})[-_*](?=\p{L}{2})/gu, '');
}

const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
};

/** Undo digit-for-letter swaps inside words that are mostly letters ("1gn0re", "prev1ous"). */
export function undoLeet(text: string): string {
  return text.replace(/[\p{L}0-9@$]{3,}/gu, (word) => {
    const swaps = [...word].filter((c) => c in LEET).length;
    const letters = [...word].filter((c) => /\p{L}/u.test(c)).length;
    if (swaps === 0 || letters < 2 || letters < swaps) return word;
    return [...word].map((c) => LEET[c] ?? c).join('');
  });
}

function rot13(text: string): string {
  return text.replace(/[a-zA-Z]/g, (c) => {
    const a = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - a + 13) % 26) + a);
  });
}

/** Text inside a right-to-left override displays reversed: read it as shown. */
function reverseOverridden(text: string): string {
  return [...text].reverse().join('');
}

interface Decoded {
  kind: 'base64' | 'hex' | 'url' | 'escape' | 'html_entity';
  text: string;
}

/** Every encoded segment of `text` that decodes to readable text. */
export function decodeSegments(text: string): Decoded[] {
  const out: Decoded[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9+/_-]{16,}={0,2}/g)) {
    const segment = m[0];
    if (/^[0-9a-fA-F]+$/.test(segment)) continue; // hex below
    if (!/[A-Z]/.test(segment) || !/[a-z]/.test(segment)) continue; // base64 of text mixes cases
    const bytes = Buffer.from(segment.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const decoded = readable(bytes);
    if (decoded) out.push({ kind: 'base64', text: decoded });
  }
  for (const m of text.matchAll(/(?:0x)?((?:[0-9a-fA-F]{2}){8,})/g)) {
    const decoded = readable(Buffer.from(m[1] as string, 'hex'));
    if (decoded) out.push({ kind: 'hex', text: decoded });
  }
  if (/%[0-9a-fA-F]{2}/.test(text)) {
    const decoded = text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
    if (decoded !== text) out.push({ kind: 'url', text: decoded });
  }
  if (/\\(u[0-9a-fA-F]{4}|u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2})/.test(text)) {
    const decoded = text
      .replace(/\\u\{([0-9a-fA-F]{1,6})\}/g, (_, h: string) => codePoint(Number.parseInt(h, 16)))
      .replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => codePoint(Number.parseInt(h, 16)))
      .replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => codePoint(Number.parseInt(h, 16)));
    out.push({ kind: 'escape', text: decoded });
  }
  if (/&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-z]{2,8});/i.test(text)) {
    const decoded = text
      .replace(/&#x([0-9a-fA-F]{1,6});/g, (_, h: string) => codePoint(Number.parseInt(h, 16)))
      .replace(/&#(\d{1,7});/g, (_, d: string) => codePoint(Number.parseInt(d, 10)))
      .replace(/&(lt|gt|amp|quot|apos|nbsp);/g, (_, n: string) => HTML_NAMED[n] ?? '');
    if (decoded !== text) out.push({ kind: 'html_entity', text: decoded });
  }
  return out;
}

const HTML_NAMED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

function codePoint(n: number): string {
  return n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '';
}

/** Bytes as text when they are valid UTF-8 and mostly printable words, else undefined. */
function readable(bytes: Buffer): string | undefined {
  if (bytes.length < 8) return undefined;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD')) return undefined;
  const printable = [...text].filter((c) => /[\p{L}\p{N}\p{P}\p{Zs}]/u.test(c)).length;
  const letters = [...text].filter((c) => /\p{L}/u.test(c)).length;
  if (printable / [...text].length < 0.95 || letters / [...text].length < 0.5) return undefined;
  // Instructions have words; a segment without any is kept only when it is itself encoded (a second layer).
  if (!/\s/.test(text) && !/^[A-Za-z0-9+/_-]{16,}={0,2}$/.test(text)) return undefined;
  return text;
}

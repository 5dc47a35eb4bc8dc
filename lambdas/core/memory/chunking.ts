import { KnowledgeDocumentError } from './errors.js';

/** A document as read from disk: its path relative to the ingested folder, and its bytes. */
export interface KnowledgeDocument {
  path: string;
  bytes: Uint8Array;
}

/** A chunk before it is embedded. */
export interface Chunk {
  id: string;
  document: string;
  text: string;
}

/** Kinds of documents ingest reads, by extension. */
export const DOCUMENT_EXTENSIONS = ['.md', '.markdown', '.txt', '.json'] as const;

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The text sections of one document, or `KnowledgeDocumentError` naming what
 * is wrong: an unknown kind, bytes that are not UTF-8, a NUL byte (a binary
 * file), JSON that does not parse or is not `[{ "text": … }]`, or no text.
 */
export function sectionsOf(doc: KnowledgeDocument): string[] {
  const ext = DOCUMENT_EXTENSIONS.find((e) => doc.path.toLowerCase().endsWith(e));
  if (!ext)
    throw new KnowledgeDocumentError(
      doc.path,
      `not a knowledge document: ingest reads ${DOCUMENT_EXTENSIONS.join(', ')}`,
    );
  let text: string;
  try {
    text = decoder.decode(doc.bytes);
  } catch (err) {
    throw new KnowledgeDocumentError(doc.path, 'is not valid UTF-8 text', { cause: err });
  }
  if (text.includes('\u0000'))
    throw new KnowledgeDocumentError(doc.path, 'contains NUL bytes: a binary file, not text');
  let sections: string[];
  if (ext === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new KnowledgeDocumentError(doc.path, `is not valid JSON (${(err as Error).message})`, {
        cause: err,
      });
    }
    if (!Array.isArray(value))
      throw new KnowledgeDocumentError(
        doc.path,
        'must be a JSON array of { "title"?: string, "text": string }',
      );
    sections = value.map((item, i) => {
      const t = typeof item === 'object' && item !== null ? Reflect.get(item, 'text') : undefined;
      const title = typeof item === 'object' && item !== null ? Reflect.get(item, 'title') : undefined;
      if (typeof t !== 'string') throw new KnowledgeDocumentError(doc.path, `item ${i} has no string "text"`);
      return typeof title === 'string' ? `# ${title}\n\n${t}` : t;
    });
  } else {
    sections = [text];
  }
  const nonEmpty = sections
    .map((s) => s.normalize('NFKC').replace(/\r\n?/g, '\n').trim())
    .filter((s) => s !== '');
  if (nonEmpty.length === 0) throw new KnowledgeDocumentError(doc.path, 'has no text');
  return nonEmpty;
}

/**
 * Chunks of a document: a heading starts a new chunk and is kept at its head
 * (so a chunk says what it is about); paragraphs are packed up to `maxChars`;
 * a longer paragraph is cut at sentence ends. Ids are `<path>#<n>`, stable
 * for the same document.
 */
export function chunkDocument(doc: KnowledgeDocument, maxChars: number): Chunk[] {
  const chunks: Chunk[] = [];
  const push = (text: string) => {
    const t = text.trim();
    if (t) chunks.push({ id: `${doc.path}#${chunks.length}`, document: doc.path, text: t });
  };
  for (const section of sectionsOf(doc)) {
    let heading = '';
    let current = '';
    for (const para of section.split(/\n\s*\n/)) {
      const p = para.trim();
      if (!p) continue;
      if (/^#{1,6}\s/.test(p) && !p.includes('\n')) {
        push(current);
        heading = p.replace(/^#+\s*/, '');
        current = '';
        continue;
      }
      const head = heading && !current ? `${heading}\n` : '';
      if (current && current.length + p.length + 2 > maxChars) {
        push(current);
        current = '';
      }
      for (const piece of splitLong(p, maxChars - head.length)) {
        if (current && current.length + piece.length + 2 > maxChars) {
          push(current);
          current = '';
        }
        current = current ? `${current}\n\n${piece}` : `${heading ? `${heading}\n` : ''}${piece}`;
      }
    }
    push(current);
  }
  return chunks;
}

function splitLong(paragraph: string, maxChars: number): string[] {
  if (paragraph.length <= maxChars) return [paragraph];
  const out: string[] = [];
  let current = '';
  for (const sentence of paragraph.match(/[^.!?]+[.!?]*\s*/g) ?? [paragraph]) {
    if (current && current.length + sentence.length > maxChars) {
      out.push(current.trim());
      current = '';
    }
    // A single sentence longer than the limit is cut hard.
    let s = sentence;
    while (s.length > maxChars) {
      out.push(s.slice(0, maxChars));
      s = s.slice(maxChars);
    }
    current += s;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

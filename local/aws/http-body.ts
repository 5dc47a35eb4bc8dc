import type { IncomingMessage } from 'node:http';

/** A request's whole body, as bytes (the local AWS endpoints verify signatures over exactly these). */
export async function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(parts);
}

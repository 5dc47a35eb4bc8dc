import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a signed approval link carries besides the approval id. No task token, ever. */
export interface LinkClaims {
  approvalId: string;
  approver: string;
  /** Epoch seconds after which the link is refused with 410. */
  expires: number;
}

function signature(secret: string, c: LinkClaims): string {
  return createHmac('sha256', secret)
    .update(`${c.approvalId}\n${c.approver}\n${c.expires}`)
    .digest('base64url');
}

/** The approval page URL for one approver: `GET /approvals/{id}?approver=…&exp=…&sig=…`. */
export function signedLink(baseUrl: string, secret: string, claims: LinkClaims): string {
  const q = new URLSearchParams({
    approver: claims.approver,
    exp: String(claims.expires),
    sig: signature(secret, claims),
  });
  return `${baseUrl.replace(/\/$/, '')}/approvals/${encodeURIComponent(claims.approvalId)}?${q.toString()}`;
}

export type LinkCheck = { ok: true; claims: LinkClaims } | { ok: false; status: 403 | 410; message: string };

/**
 * Check a link's signature (constant-time) before its expiry: a forged or
 * tampered link gets 403, an expired one 410. Nothing else is looked at first.
 */
export function verifyLink(
  secret: string,
  approvalId: string,
  params: { approver?: string | undefined; exp?: string | undefined; sig?: string | undefined },
  nowMs: number,
): LinkCheck {
  const { approver, exp, sig } = params;
  if (!approver || !exp || !sig || !/^\d{1,12}$/.test(exp)) {
    return { ok: false, status: 403, message: 'this link is not signed: approver, exp and sig are required' };
  }
  const claims: LinkClaims = { approvalId, approver, expires: Number(exp) };
  const expected = Buffer.from(signature(secret, claims));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, status: 403, message: 'the link signature is not valid (forged or altered link)' };
  }
  if (nowMs > claims.expires * 1000) {
    return {
      ok: false,
      status: 410,
      message: `this link expired at ${new Date(claims.expires * 1000).toISOString()}`,
    };
  }
  return { ok: true, claims };
}

import { type ApprovalRequestEvent, approvalRequestEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { type Env, required } from '../config.js';
import { type ApprovalDeps, handleApprovalRequest } from '../core/approvals.js';
import { eventParser } from './parse-event.js';
import { sfnEngine } from './wire/engine.js';
import { sesMailer } from './wire/mail.js';
import { secretReader } from './wire/secrets.js';
import { approvalStore, coreDeps } from './wire/store.js';

const parse = eventParser<ApprovalRequestEvent>(approvalRequestEventSchema, 'approval request');

/** The waitForTaskToken task of a gate: keep the token server-side, email signed links. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  // Built once per container: every invocation shares these clients.
  const base = coreDeps(env, 'approval-request', app);
  const secretArn = required(env, 'APPROVAL_SECRET_ARN');
  // The link key: read on the first request and kept (a failed read is tried again on the next).
  const readSecret = secretReader(env);
  const shared: Omit<ApprovalDeps, 'linkSecret'> = {
    ...base,
    approvals: approvalStore(env, base.db),
    mailer: sesMailer(env),
    engine: sfnEngine(env),
    baseUrl: required(env, 'APPROVAL_BASE_URL'),
  };
  return async (event: unknown) =>
    handleApprovalRequest(parse(event), { ...shared, linkSecret: await readSecret(secretArn) });
}

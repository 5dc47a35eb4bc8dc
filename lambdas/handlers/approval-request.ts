import { type ApprovalRequestEvent, approvalRequestEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { approvalStore, coreDeps, type Env, engine, mailer, required, secrets } from '../config.js';
import { handleApprovalRequest } from '../core/approvals.js';
import { eventParser } from './parse-event.js';

const parse = eventParser<ApprovalRequestEvent>(approvalRequestEventSchema, 'approval request');

/** The waitForTaskToken task of a gate: keep the token server-side, email signed links. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const base = coreDeps(env, 'approval-request', app);
  const secret = secrets(env)(required(env, 'APPROVAL_SECRET_ARN'));
  const deps = async () => ({
    ...base,
    approvals: approvalStore(env, base.db),
    mailer: mailer(env),
    engine: engine(env),
    linkSecret: await secret,
    baseUrl: required(env, 'APPROVAL_BASE_URL'),
  });
  return async (event: unknown) => handleApprovalRequest(parse(event), await deps());
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../examples/invoice/app.js';
import { HANDLER_KINDS } from '../../infra/constructs/handler-entries.js';
import { REPO_ROOT } from '../../infra/repo-root.js';
import {
  type CfnResource,
  functionsByHandler,
  ofType,
  roleOf,
  type Statement,
  type Synthesised,
  statementsOfRole,
  synthChaperone,
} from './synth.js';

/** Every handler the construct deploys: the kinds it generates entries for. */
const HANDLERS = HANDLER_KINDS;
type Handler = (typeof HANDLERS)[number];

describe('Chaperone stack', () => {
  let synth: Synthesised;
  let fns: Map<string, { id: string; resource: CfnResource }>;
  let tables: Map<string, string>;
  const statements = (handler: Handler): Statement[] => {
    const fn = fns.get(handler);
    if (!fn) throw new Error(`no ${handler} function`);
    return statementsOfRole(synth.resources, roleOf(fn.resource));
  };
  const mentions = (stmts: Statement[], logicalId: string): boolean =>
    stmts.some((s) => JSON.stringify(s.Resource).includes(`"${logicalId}"`));
  const actions = (stmts: Statement[]): string[] => stmts.flatMap((s) => s.Action);
  const envOf = (resource: CfnResource | undefined): Record<string, unknown> =>
    (resource?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ??
    {};

  beforeAll(() => {
    synth = synthChaperone();
    fns = functionsByHandler(synth.resources);
    tables = new Map(
      ofType(synth.resources, 'AWS::DynamoDB::Table').map(([id, t]) => [
        String(t.Metadata?.['chaperone:table']),
        id,
      ]),
    );
  });

  describe('cdk-nag AwsSolutions', () => {
    it('reports no unacknowledged errors or warnings', () => {
      // Act: run the pack over the synthesised construct tree, as `cdk synth` does.
      const report = new AwsSolutionsChecks().validateScope(synth.app);
      const findings = report.violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );

      expect(findings).toEqual([]);
    });

    it('gives every acknowledgement a reason, and names the exact wildcard of every IAM5 one', () => {
      const acks: Array<{ id: string; reason: string; path: string }> = [];
      for (const c of synth.app.node.findAll()) {
        for (const entry of c.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
            acks.push({ id, reason, path: c.node.path });
        }
      }

      expect(acks.length).toBeGreaterThan(0);
      for (const ack of acks) {
        expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(10);
        if (ack.id.includes('IAM5') || ack.id.includes('IAM4'))
          expect(ack.id, ack.path).toMatch(/AwsSolutions-IAM[45]\[.+\]$/);
      }
    });
  });

  describe('functions', () => {
    it('runs every handler on nodejs22.x arm64 with active tracing', () => {
      expect([...fns.keys()].sort()).toEqual([...HANDLERS].sort());
      for (const [handler, { resource }] of fns) {
        const p = resource.Properties ?? {};

        expect(p.Runtime, handler).toBe('nodejs22.x');
        expect(p.Architectures, handler).toEqual(['arm64']);
        expect(p.TracingConfig, handler).toEqual({ Mode: 'Active' });
      }
    });

    it("points each function's chaperone:handler metadata at its generated entry, bound to the workflows module", () => {
      for (const [handler, { resource }] of fns) {
        const file = String(resource.Metadata?.['chaperone:handler']);
        const source = readFileSync(file, 'utf8');

        expect(file, handler).toMatch(
          new RegExp(`node_modules/\\.cache/chaperone/[0-9a-f]{16}/${handler}\\.mts$`),
        );
        expect(source, handler).toContain(JSON.stringify(join(REPO_ROOT, 'examples/index.ts')));
        expect(source, handler).toContain(JSON.stringify(join(REPO_ROOT, `lambdas/handlers/${handler}.ts`)));
        expect(source, handler).toContain('export const handler = fromProcessEnv(createHandler)');
      }
    });

    it('configures Powertools, source maps and a retained log group for every function', () => {
      for (const [handler, { resource }] of fns) {
        const env = envOf(resource);
        const logGroup =
          (resource.Properties?.LoggingConfig as { LogGroup: { Ref: string } } | undefined)?.LogGroup.Ref ??
          '';

        expect(env.NODE_OPTIONS, handler).toBe('--enable-source-maps');
        expect(env.POWERTOOLS_METRICS_NAMESPACE, handler).toBe('Chaperone');
        expect(env.POWERTOOLS_SERVICE_NAME, handler).toBeTypeOf('string');
        expect(env.POWERTOOLS_LOG_LEVEL, handler).toBeTypeOf('string');
        expect(synth.resources[logGroup]?.Properties?.RetentionInDays, handler).toBe(30);
      }
    });

    it('gives each function exactly the environment its handler reads', () => {
      const base = [
        'NODE_OPTIONS',
        'POWERTOOLS_LOG_LEVEL',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'RUNS_TABLE',
        'PAYLOAD_BUCKET',
      ];
      const expected: Record<Handler, string[]> = {
        // SES_FROM_ADDRESS: the api handler builds the shared approval deps, mailer included (no SES permission).
        api: [
          'APPROVALS_TABLE',
          'STATE_MACHINES',
          'ALERT_TOPIC_ARN',
          'APPROVAL_SECRET_ARN',
          'SES_FROM_ADDRESS',
        ],
        'agent-step': [
          'APPROVALS_TABLE',
          'BREAKERS_TABLE',
          'ALERT_TOPIC_ARN',
          'ANTHROPIC_SECRET_ARN',
          'CHAPERONE_MODEL_TIMEOUT_MS',
          'CHAPERONE_MODEL_MAX_RETRIES',
        ],
        'tool-step': ['BREAKERS_TABLE', 'ALERT_TOPIC_ARN', 'APPROVALS_TABLE', 'TOOL_FUNCTIONS'],
        // A tool's own function: which tool it runs, and what the app gave it (the backend's table).
        'tool-runner': ['CHAPERONE_TOOL', 'INVOICE_BACKEND_TABLE'],
        'code-step': [],
        finish: [],
        'approval-request': [
          'APPROVALS_TABLE',
          'APPROVAL_SECRET_ARN',
          'APPROVAL_BASE_URL',
          'SES_FROM_ADDRESS',
        ],
      };

      for (const handler of HANDLERS) {
        const env = envOf(fns.get(handler)?.resource);
        // A tool's function knows nothing of Chaperone's tables.
        const shared =
          handler === 'tool-runner' ? base.filter((k) => k !== 'RUNS_TABLE' && k !== 'PAYLOAD_BUCKET') : base;
        expect(Object.keys(env).sort(), handler).toEqual([...shared, ...expected[handler]].sort());
      }
    });

    it('lets the agent step outlive every attempt of its model client', () => {
      const fn = fns.get('agent-step')?.resource;
      const env = envOf(fn);
      const attempts = Number(env.CHAPERONE_MODEL_MAX_RETRIES) + 1;

      expect(Number(fn?.Properties?.Timeout)).toBeGreaterThan(
        (attempts * Number(env.CHAPERONE_MODEL_TIMEOUT_MS)) / 1000,
      );
    });

    it('hands the api function a JSON map from workflow name to state machine ARN', () => {
      const env = envOf(fns.get('api')?.resource);
      const text = JSON.stringify(env.STATE_MACHINES);

      for (const [id, sm] of ofType(synth.resources, 'AWS::StepFunctions::StateMachine')) {
        expect(text).toContain(String(sm.Metadata?.['chaperone:workflow']));
        expect(text).toContain(id);
      }
    });
  });

  describe('IAM, least privilege', () => {
    it("lets only the api and the approval task answer task tokens, of this stack's own state machines", () => {
      const holders = ofType(synth.resources, 'AWS::IAM::Role').filter(([id]) =>
        actions(statementsOfRole(synth.resources, id)).some((a) => a.startsWith('states:SendTask')),
      );

      expect(holders.map(([id]) => id).sort()).toEqual(
        [
          roleOf(fns.get('api')?.resource ?? ({} as CfnResource)),
          roleOf(fns.get('approval-request')?.resource ?? ({} as CfnResource)),
        ].sort(),
      );
      for (const [id] of holders) {
        const callbacks = statementsOfRole(synth.resources, id).filter((st) =>
          st.Action.some((a) => a.startsWith('states:SendTask')),
        );
        expect(callbacks.flatMap((st) => st.Action).sort()).toEqual([
          'states:SendTaskFailure',
          'states:SendTaskHeartbeat',
          'states:SendTaskSuccess',
        ]);
        const resources = JSON.stringify(callbacks.map((st) => st.Resource));
        expect(resources).not.toContain('"*"');
        expect(resources).toContain(':stateMachine:');
        expect(resources).toContain('Chaperone-invoice-reconciliation');
      }
    });

    it('touches only the tables each handler needs', () => {
      const expected: Record<Handler, string[]> = {
        api: ['approvals', 'runs'],
        'agent-step': ['approvals', 'breakers', 'runs'],
        'tool-step': ['approvals', 'breakers', 'runs'],
        'tool-runner': ['invoice-backend'],
        'code-step': ['runs'],
        finish: ['runs'],
        'approval-request': ['approvals', 'runs'],
      };

      for (const handler of HANDLERS) {
        const stmts = statements(handler);
        const touched = [...tables]
          .filter(([, id]) => mentions(stmts, id))
          .map(([role]) => role)
          .sort();
        expect(touched, handler).toEqual(expected[handler]);
      }
    });

    it('lets the tool step check approvals item by item, and keeps email and task callbacks away from it', () => {
      const stmts = statements('tool-step');
      const onApprovals = stmts.filter((s) => mentions([s], tables.get('approvals') ?? ''));

      // Approve what was approved: the gate's record is read when the call is about to run;
      // a bypassed gate is marked and an unknown outcome opens an approval. No listing, no delete.
      expect(onApprovals.flatMap((s) => s.Action).sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
      expect(actions(stmts).filter((a) => a.startsWith('ses:'))).toEqual([]);
      expect(actions(stmts).filter((a) => a.startsWith('states:'))).toEqual([]);
    });

    it('lets only the approval-request function send email, from its identity', () => {
      const identity = ofType(synth.resources, 'AWS::SES::EmailIdentity')[0]?.[0] ?? '';
      for (const handler of HANDLERS) {
        const ses = statements(handler).filter((s) => s.Action.some((a) => a.startsWith('ses:')));
        if (handler === 'approval-request') {
          expect(ses.flatMap((s) => s.Action)).toEqual(['ses:SendEmail']);
          expect(JSON.stringify(ses[0]?.Resource)).toContain(identity);
        } else {
          expect(ses, handler).toEqual([]);
        }
      }
    });

    it('has an alert topic that agent-step, tool-step and api may publish to', () => {
      const topics = ofType(synth.resources, 'AWS::SNS::Topic');
      const topicId = topics[0]?.[0] ?? '';
      const publishes = (h: Handler) =>
        statements(h).some((s) => s.Action.includes('sns:Publish') && mentions([s], topicId));

      expect(topics).toHaveLength(1);
      expect(topics[0]?.[1].Properties?.KmsMasterKeyId).toBeDefined();
      expect(publishes('agent-step')).toBe(true);
      expect(publishes('tool-step')).toBe(true);
      expect(publishes('api')).toBe(true);
      expect(publishes('code-step')).toBe(false);
      expect(publishes('finish')).toBe(false);
    });

    it('uses a wildcard resource only for X-Ray and for sending task results', () => {
      for (const handler of HANDLERS) {
        const wild = statements(handler).filter((s) => s.Resource.includes('*'));
        const allowed = handler === 'api' ? /^(xray:|states:SendTask(Success|Failure)$)/ : /^xray:/;
        for (const s of wild) for (const a of s.Action) expect(a, handler).toMatch(allowed);
      }
    });

    it('reads secrets only where needed: the model key in agent-step, the signing key in api and approval-request', () => {
      const secrets = ofType(synth.resources, 'AWS::SecretsManager::Secret').map(([id]) => id);
      const reads = (h: Handler) => secrets.filter((id) => mentions(statements(h), id)).length;

      expect(reads('agent-step')).toBe(1);
      expect(reads('api')).toBe(1);
      expect(reads('approval-request')).toBe(1);
      expect(reads('tool-step') + reads('code-step') + reads('finish')).toBe(0);
      expect(
        mentions(statements('api'), secrets.find((id) => mentions(statements('agent-step'), id)) ?? '-'),
      ).toBe(false);
    });
  });

  describe('tables', () => {
    it('creates runs, approvals and breakers: on demand, PITR, TTL on expiresAt', () => {
      expect([...tables.keys()].sort()).toEqual(['approvals', 'breakers', 'invoice-backend', 'runs']);
      for (const [role, id] of tables) {
        if (role === 'invoice-backend') continue;
        const t = synth.resources[id] as CfnResource;
        const keys = ((t.Properties?.KeySchema as Array<{ AttributeName: string }> | undefined) ?? []).map(
          (k) => k.AttributeName,
        );

        expect(t.Properties?.BillingMode, role).toBe('PAY_PER_REQUEST');
        expect(t.Properties?.PointInTimeRecoverySpecification, role).toEqual({
          PointInTimeRecoveryEnabled: true,
        });
        expect(t.Properties?.TimeToLiveSpecification, role).toEqual({
          AttributeName: 'expiresAt',
          Enabled: true,
        });
        expect(keys, role).toEqual(role === 'breakers' ? ['pk'] : ['pk', 'sk']);
      }
    });

    it("creates the invoice example's backend table: pk/sk, on demand, PITR, demo data not retained", () => {
      const t = synth.resources[tables.get('invoice-backend') ?? ''] as CfnResource;
      const keys = ((t.Properties?.KeySchema as Array<{ AttributeName: string }> | undefined) ?? []).map(
        (k) => k.AttributeName,
      );

      expect(keys).toEqual(['pk', 'sk']);
      expect(t.Properties?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties?.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.DeletionPolicy).toBe('Delete');
    });

    it('retains runs and approvals when the stack goes away', () => {
      expect(synth.resources[tables.get('runs') ?? '']?.DeletionPolicy).toBe('Retain');
      expect(synth.resources[tables.get('approvals') ?? '']?.DeletionPolicy).toBe('Retain');
    });

    it('lists approvals by status, oldest first, through the byStatus index', () => {
      const gsis = synth.resources[tables.get('approvals') ?? '']?.Properties
        ?.GlobalSecondaryIndexes as Array<Record<string, unknown>>;

      expect(gsis).toHaveLength(1);
      expect(gsis[0]?.IndexName).toBe('byStatus');
      expect(gsis[0]?.KeySchema).toEqual([
        { AttributeName: 'status', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ]);
    });
  });

  describe('API', () => {
    const route = (method: string, pathPart: string, parentPart?: string): CfnResource | undefined => {
      const resources = ofType(synth.resources, 'AWS::ApiGateway::Resource');
      const match = resources.find(([, r]) => {
        if (r.Properties?.PathPart !== pathPart) return false;
        if (!parentPart) return true;
        const parentRef = (r.Properties?.ParentId as { Ref?: string } | undefined)?.Ref ?? '';
        return synth.resources[parentRef]?.Properties?.PathPart === parentPart;
      });
      return ofType(synth.resources, 'AWS::ApiGateway::Method').find(
        ([, m]) =>
          m.Properties?.HttpMethod === method &&
          (m.Properties?.ResourceId as { Ref?: string } | undefined)?.Ref === match?.[0],
      )?.[1];
    };

    it('authorises runs and the approval list with IAM, and approval links by their signature', () => {
      expect(route('POST', 'runs')?.Properties?.AuthorizationType).toBe('AWS_IAM');
      expect(route('GET', '{id}', 'runs')?.Properties?.AuthorizationType).toBe('AWS_IAM');
      expect(route('GET', 'approvals')?.Properties?.AuthorizationType).toBe('AWS_IAM');
      expect(route('GET', '{id}', 'approvals')?.Properties?.AuthorizationType).toBe('NONE');
      expect(route('POST', '{id}', 'approvals')?.Properties?.AuthorizationType).toBe('NONE');
    });

    it('proxies every route to the api function', () => {
      const apiFn = fns.get('api')?.id ?? '';
      const methods = ofType(synth.resources, 'AWS::ApiGateway::Method');

      // POST/GET /runs, GET /runs/{id}, GET /approvals, GET|POST /approvals/{id},
      // GET /console, /console/metrics, /console/approvals, /console/{file}, POST /runs/{id}/redrive.
      expect(methods).toHaveLength(11);
      for (const [, m] of methods) {
        const integration = m.Properties?.Integration as { Type: string; Uri: unknown };
        expect(integration.Type).toBe('AWS_PROXY');
        expect(JSON.stringify(integration.Uri)).toContain(apiFn);
      }
    });

    it('marks the API for the local runtime and traces, logs and throttles the stage', () => {
      const [, api] = ofType(synth.resources, 'AWS::ApiGateway::RestApi')[0] ?? [];
      const [, stage] = ofType(synth.resources, 'AWS::ApiGateway::Stage')[0] ?? [];
      const settings = (stage?.Properties?.MethodSettings as Array<Record<string, unknown>> | undefined)?.[0];

      expect(api?.Metadata?.['chaperone:api']).toBe(true);
      expect(stage?.Properties?.TracingEnabled).toBe(true);
      expect(stage?.Properties?.AccessLogSetting).toBeDefined();
      expect(settings?.ThrottlingRateLimit).toBeGreaterThan(0);
      expect(settings?.DataTraceEnabled).toBe(false);
    });
  });

  // The dashboard's widgets and each alarm's metric and threshold: test/infra/monitoring.test.ts.

  it('reads the approvals from-address from context', () => {
    // Construction only (no synth): the stack carries the value into SES and the function.
    const { agents } = buildApp({
      bundle: false,
      context: { 'chaperone:approvalsFrom': 'approvals@acme.test' },
    });

    expect(agents.approvalMail.fromAddress).toBe('approvals@acme.test');
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecrets } from '../../../../local/aws/secrets.js';
import {
  type LocalAlert,
  type LocalServices,
  type OutboxEmail,
  startLocalServices,
} from '../../../../local/aws/services.js';

const clientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const HMAC_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ApprovalSecret-000000';
const KEY_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:AnthropicSecret-000000';

describe('local AWS services server', () => {
  let dir: string;
  let services: LocalServices;
  const openSecrets = () =>
    LocalSecrets.open(join(dir, 'secrets.json'), [
      { arn: HMAC_ARN, name: 'ApprovalSecret', generate: { PasswordLength: 48, ExcludePunctuation: true } },
      { arn: KEY_ARN, name: 'AnthropicSecret', value: 'sk-test' },
    ]);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chaperone-services-'));
    services = await startLocalServices({
      outboxDir: join(dir, 'outbox'),
      alertsFile: join(dir, 'alerts.jsonl'),
      secrets: openSecrets(),
    });
  });
  afterEach(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a SESv2 SendEmail into the outbox and emits it', async () => {
    const ses = new SESv2Client(clientConfig(services.url));
    const seen: OutboxEmail[] = [];
    services.events.on('email', (e) => seen.push(e));

    const out = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'chaperone@example.com',
        Destination: { ToAddresses: ['ap-approver@example.com'] },
        Content: {
          Simple: {
            Subject: { Data: 'Approve schedule_payment?' },
            Body: {
              Text: { Data: 'Review: http://127.0.0.1:1234/approvals/A1?sig=abc' },
              Html: { Data: '<a href="http://127.0.0.1:1234/approvals/A1?sig=abc">Review</a>' },
            },
          },
        },
      }),
    );
    ses.destroy();

    expect(out.MessageId).toBe(seen[0]?.messageId);
    expect(seen[0]).toMatchObject({
      to: ['ap-approver@example.com'],
      subject: 'Approve schedule_payment?',
      links: ['http://127.0.0.1:1234/approvals/A1?sig=abc'],
    });
    const files = readdirSync(join(dir, 'outbox')).sort();
    expect(files.map((f) => f.split('.').pop())).toEqual(['eml', 'json']);
    expect(readFileSync(seen[0]?.emlFile ?? '', 'utf8')).toContain('Subject: Approve schedule_payment?');
  });

  it('appends an SNS Publish to the alerts file and emits it', async () => {
    const sns = new SNSClient(clientConfig(services.url));
    const seen: LocalAlert[] = [];
    services.events.on('alert', (a) => seen.push(a));

    const out = await sns.send(
      new PublishCommand({
        TopicArn: 'arn:aws:sns:us-east-1:000000000000:Alerts',
        Subject: 'Guardrail: PolicyViolation',
        Message: 'reader tried void_invoice',
        MessageAttributes: { rule: { DataType: 'String', StringValue: 'access' } },
      }),
    );
    sns.destroy();

    expect(out.MessageId).toBe(seen[0]?.messageId);
    const lines = readFileSync(join(dir, 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LocalAlert);
    expect(lines).toEqual([
      expect.objectContaining({
        topicArn: 'arn:aws:sns:us-east-1:000000000000:Alerts',
        subject: 'Guardrail: PolicyViolation',
        message: 'reader tried void_invoice',
        attributes: { rule: 'access' },
      }),
    ]);
  });

  it('serves secrets by ARN and name, keeps the generated HMAC key across restarts, 404s unknown ones', async () => {
    const sm = new SecretsManagerClient(clientConfig(services.url));

    const hmac = await sm.send(new GetSecretValueCommand({ SecretId: HMAC_ARN }));
    const key = await sm.send(new GetSecretValueCommand({ SecretId: 'AnthropicSecret' }));
    const missing = sm.send(new GetSecretValueCommand({ SecretId: 'Nope' }));
    sm.destroy();

    expect(hmac.SecretString).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(openSecrets().get(HMAC_ARN)?.secretString).toBe(hmac.SecretString);
    expect(key).toMatchObject({ ARN: KEY_ARN, SecretString: 'sk-test' });
    await expect(missing).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(readFileSync(join(dir, 'secrets.json'), 'utf8')).not.toContain('sk-test');
  });
});

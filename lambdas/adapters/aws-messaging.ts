import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { AlertPublisher } from '../core/deps.js';
import { MessagingThrottledError } from '../core/errors.js';
import type { Mailer } from '../core/ports.js';
import { throttleAs } from './aws-errors.js';

/** Alerts to the SNS topic that pages someone. */
export function createSnsAlerts(options: {
  topicArn: string;
  region?: string;
  endpoint?: string;
}): AlertPublisher {
  const sns = new SNSClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  return {
    async publish(alert) {
      await throttleAs(MessagingThrottledError, 'SNS Publish', () =>
        sns.send(
          new PublishCommand({
            TopicArn: options.topicArn,
            Subject: alert.subject.slice(0, 99),
            Message: alert.message,
            MessageAttributes: Object.fromEntries(
              Object.entries(alert.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
            ),
          }),
        ),
      );
    },
  };
}

/** Email through SESv2 (the local runtime's outbox stands in for it). */
export function createSesMailer(options: { from: string; region?: string; endpoint?: string }): Mailer {
  const ses = new SESv2Client({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  return {
    async send(mail) {
      await throttleAs(MessagingThrottledError, 'SES SendEmail', () =>
        ses.send(
          new SendEmailCommand({
            FromEmailAddress: options.from,
            Destination: { ToAddresses: mail.to },
            Content: {
              Simple: {
                Subject: { Data: mail.subject, Charset: 'UTF-8' },
                Body: {
                  Text: { Data: mail.text, Charset: 'UTF-8' },
                  Html: { Data: mail.html, Charset: 'UTF-8' },
                },
              },
            },
          }),
        ),
      );
    },
  };
}

/** Read a secret once per container; the value never reaches a log. */
export function createSecretReader(options: {
  region?: string;
  endpoint?: string;
}): (secretId: string) => Promise<string> {
  const sm = new SecretsManagerClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  const cache = new Map<string, Promise<string>>();
  return (secretId) => {
    let p = cache.get(secretId);
    if (!p) {
      p = sm.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
        if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
        return out.SecretString;
      });
      p.catch(() => cache.delete(secretId));
      cache.set(secretId, p);
    }
    return p;
  };
}

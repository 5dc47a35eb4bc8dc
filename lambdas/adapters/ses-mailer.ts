import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { MessagingThrottledError } from '../core/errors.js';
import type { Mailer } from '../core/ports.js';
import { throttleAs } from './aws-errors.js';

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

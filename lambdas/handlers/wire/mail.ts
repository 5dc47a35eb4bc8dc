import { awsClientOptions, type Env, required } from '../../config.js';
import type { Mailer } from '../../core/ports.js';
import { onFirstUse } from './lazy.js';

/**
 * Email from `SES_FROM_ADDRESS` (read at cold start); the SESv2 adapter and
 * its client are loaded and built on the first email.
 */
export function sesMailer(env: Env): Mailer {
  const from = required(env, 'SES_FROM_ADDRESS');
  const options = awsClientOptions(env, 'AWS_ENDPOINT_URL_SESV2');
  const ses = onFirstUse(async () =>
    (await import('../../adapters/ses-mailer.js')).createSesMailer({ from, ...options }),
  );
  return { send: async (mail) => (await ses()).send(mail) };
}

import { createSesMailer } from '../../adapters/ses-mailer.js';
import { awsClientOptions, type Env, lazily, required } from '../../config.js';
import type { Mailer } from '../../core/ports.js';

/** Email from `SES_FROM_ADDRESS` (read at cold start); the SESv2 client is built on the first email. */
export function sesMailer(env: Env): Mailer {
  const from = required(env, 'SES_FROM_ADDRESS');
  const ses = lazily(() => createSesMailer({ from, ...awsClientOptions(env, 'AWS_ENDPOINT_URL_SESV2') }));
  return { send: (mail) => ses().send(mail) };
}

/**
 * SNS alerts, SES email and Secrets Manager reads, one module (and one SDK
 * client) each, so a handler bundles only the clients it uses; re-exported
 * here as one adapter.
 */
export { createSecretReader } from './secret-reader.js';
export { createSesMailer } from './ses-mailer.js';
export { createSnsAlerts } from './sns-alerts.js';

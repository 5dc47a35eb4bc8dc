import { createSnsAlerts } from '../../adapters/sns-alerts.js';
import { awsClientOptions, type Env, lazily, required } from '../../config.js';
import type { AlertPublisher } from '../../core/deps.js';

/** Alerts to `ALERT_TOPIC_ARN` (read at cold start); the SNS client is built on the first alert. */
export function snsAlerts(env: Env): AlertPublisher {
  const topicArn = required(env, 'ALERT_TOPIC_ARN');
  const sns = lazily(() => createSnsAlerts({ topicArn, ...awsClientOptions(env, 'AWS_ENDPOINT_URL_SNS') }));
  return { publish: (alert) => sns().publish(alert) };
}

import { awsClientOptions, type Env, required } from '../../config.js';
import type { AlertPublisher } from '../../core/deps.js';
import { onFirstUse } from './lazy.js';

/**
 * Alerts to `ALERT_TOPIC_ARN` (read at cold start); the SNS adapter and its
 * client are loaded and built on the first alert.
 */
export function snsAlerts(env: Env): AlertPublisher {
  const topicArn = required(env, 'ALERT_TOPIC_ARN');
  const options = awsClientOptions(env, 'AWS_ENDPOINT_URL_SNS');
  const sns = onFirstUse(async () =>
    (await import('../../adapters/sns-alerts.js')).createSnsAlerts({ topicArn, ...options }),
  );
  return { publish: async (alert) => (await sns()).publish(alert) };
}

import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { AlertPublisher } from '../core/deps.js';
import { MessagingThrottledError } from '../core/errors.js';
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

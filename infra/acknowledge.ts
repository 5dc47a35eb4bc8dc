import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledge one cdk-nag finding on one construct (and its children), with
 * the reason a reviewer needs. Wildcard findings name the exact wildcard,
 * e.g. `AwsSolutions-IAM5[Resource::*]`: cdk-nag v3 has no blanket form.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

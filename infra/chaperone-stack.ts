import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Chaperone, type ChaperoneProps } from './chaperone.js';

/** Props of {@link ChaperoneStack}. */
export interface ChaperoneStackProps extends StackProps, ChaperoneProps {}

/**
 * A stack holding nothing but {@link Chaperone} (id `Agents`), for an app
 * whose only resources are its supervised agents.
 */
export class ChaperoneStack extends Stack {
  public readonly agents: Chaperone;

  constructor(scope: Construct, id: string, props: ChaperoneStackProps) {
    super(scope, id, { description: 'Chaperone: supervised AI agent workflows on Step Functions', ...props });
    this.agents = new Chaperone(this, 'Agents', props);
  }
}

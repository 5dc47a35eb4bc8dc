import type { DescribeStateMachineOutput, ListStateMachinesOutput } from '@aws-sdk/client-sfn';
import { parseDefinition } from './definition.js';
import { SfnApiError } from './errors.js';
import { NAME_RE } from './service-types.js';
import type { MachineDef } from './types.js';

/** A registered state machine. */
export interface Machine {
  arn: string;
  name: string;
  definitionText: string;
  def: MachineDef;
  type: 'STANDARD' | 'EXPRESS';
  roleArn: string;
  creationDate: Date;
}

/** The state machines a runtime knows, validated at registration. */
export class MachineRegistry {
  private readonly machines = new Map<string, Machine>();

  constructor(
    private readonly accountId: string,
    private readonly allowUnsupportedResources: boolean,
  ) {}

  /** Validates and registers (throws DefinitionError); re-registering replaces. */
  register(
    arn: string,
    definition: object | string,
    o: { name?: string; type?: 'STANDARD' | 'EXPRESS'; roleArn?: string },
    now: Date,
  ): Machine {
    const def = parseDefinition(definition, { allowUnsupportedResources: this.allowUnsupportedResources });
    const machine: Machine = {
      arn,
      name: o.name ?? arn.split(':').pop() ?? arn,
      definitionText: typeof definition === 'string' ? definition : JSON.stringify(definition),
      def,
      type: o.type ?? 'STANDARD',
      roleArn: o.roleArn ?? `arn:aws:iam::${this.accountId}:role/chaperone-local`,
      creationDate: now,
    };
    this.machines.set(arn, machine);
    return machine;
  }

  /** The machine, or StateMachineDoesNotExist. */
  get(arn: string): Machine {
    const m = this.machines.get(arn);
    if (!m) throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  has(arn: string): boolean {
    return this.machines.has(arn);
  }

  /** CreateStateMachine: same name and definition is idempotent, a different definition is refused. */
  create(
    arn: string,
    input: { name: string; definition: string; roleArn?: string; type?: string },
    now: Date,
  ): Machine {
    if (!NAME_RE.test(input.name)) throw new SfnApiError('InvalidName', `Invalid Name: '${input.name}'`);
    const existing = this.machines.get(arn);
    if (existing && existing.definitionText !== input.definition) {
      throw new SfnApiError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    try {
      const type = input.type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
      return this.register(arn, input.definition, { name: input.name, roleArn: input.roleArn, type }, now);
    } catch (err) {
      throw new SfnApiError('InvalidDefinition', err instanceof Error ? err.message : String(err));
    }
  }

  /** ListStateMachines output. */
  list(): ListStateMachinesOutput {
    return {
      stateMachines: [...this.machines.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: m.type,
        creationDate: m.creationDate,
      })),
    };
  }

  /** DescribeStateMachine output. */
  describe(arn: string): DescribeStateMachineOutput {
    const m = this.get(arn);
    return {
      stateMachineArn: m.arn,
      name: m.name,
      status: 'ACTIVE',
      definition: m.definitionText,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: m.creationDate,
    };
  }
}

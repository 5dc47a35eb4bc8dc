import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflows } from '../../examples/index.js';
import {
  fakeArn,
  functionsByHandler,
  ofType,
  resolveFake,
  type Synthesised,
  synthChaperone,
} from './synth.js';

type AslValidator = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
// asl-validator is CommonJS (`module.exports = function validator`) without type declarations.
const validateAsl = createRequire(import.meta.url)('asl-validator') as AslValidator;

type State = Record<string, unknown>;

/** Every state of a definition, nested Map and Parallel states included. */
function allStates(states: Record<string, State>): Array<[string, State]> {
  const out: Array<[string, State]> = [];
  for (const [name, state] of Object.entries(states)) {
    out.push([name, state]);
    const processor = (state.ItemProcessor ?? state.Iterator) as
      | { States: Record<string, State> }
      | undefined;
    if (processor) out.push(...allStates(processor.States));
    for (const branch of (state.Branches as Array<{ States: Record<string, State> }> | undefined) ?? [])
      out.push(...allStates(branch.States));
  }
  return out;
}

describe('workflow state machines', () => {
  let synth: Synthesised;
  let definitions: Map<
    string,
    { id: string; definition: Record<string, unknown>; props: Record<string, unknown> }
  >;

  beforeAll(() => {
    // CloudFormation validation runs in stack.test.ts; the definitions do not need it.
    synth = synthChaperone({ validate: false });
    definitions = new Map();
    for (const [id, sm] of ofType(synth.resources, 'AWS::StepFunctions::StateMachine')) {
      const props = sm.Properties ?? {};
      const definition = JSON.parse(resolveFake(props.DefinitionString)) as Record<string, unknown>;
      definitions.set(String(sm.Metadata?.['chaperone:workflow']), { id, definition, props });
    }
  });

  it('deploys one Standard state machine per workflow, tagged with its name', () => {
    // Arrange: the examples' workflows. Act: synthesised in beforeAll.
    const machines = ofType(synth.resources, 'AWS::StepFunctions::StateMachine');

    expect(machines).toHaveLength(workflows.length);
    expect([...definitions.keys()].sort()).toEqual(workflows.map((w) => w.name).sort());
    for (const [, sm] of machines) expect(sm.Properties?.StateMachineType).toBe('STANDARD');
  });

  it('compiles each definition to JSONata that asl-validator accepts', () => {
    for (const [name, { definition }] of definitions) {
      const result = validateAsl(structuredClone(definition));

      expect(definition.QueryLanguage, name).toBe('JSONata');
      expect(result.errorsText(), name).toBe('');
      expect(result.isValid, name).toBe(true);
    }
  });

  it('sets the execution TimeoutSeconds above the workflow time limit', () => {
    for (const workflow of workflows) {
      const definition = definitions.get(workflow.name)?.definition;

      expect(definition?.TimeoutSeconds).toBeGreaterThan(workflow.limits.timeLimitSeconds);
    }
  });

  it('invokes only the five workflow functions, never the api function', () => {
    const fns = functionsByHandler(synth.resources);
    const allowed = ['agent-step', 'tool-step', 'code-step', 'finish', 'approval-request'].map((h) =>
      fakeArn(fns.get(h)?.id ?? h),
    );

    for (const [name, { definition }] of definitions) {
      const invoked = allStates(definition.States as Record<string, State>)
        .map(([, s]) => (s.Arguments as { FunctionName?: string } | undefined)?.FunctionName)
        .filter((f): f is string => typeof f === 'string');

      expect(invoked.length, name).toBeGreaterThan(0);
      for (const fn of invoked) expect(allowed, `${name}: ${fn}`).toContain(fn);
      expect(invoked, name).not.toContain(fakeArn(fns.get('api')?.id ?? 'api'));
    }
  });

  it('has a waitForTaskToken approval task with a timeout, handing the token to approval-request', () => {
    const approvalFn = fakeArn(functionsByHandler(synth.resources).get('approval-request')?.id ?? '');
    const gates = [...definitions.values()].flatMap(({ definition }) =>
      allStates(definition.States as Record<string, State>).filter(
        ([, s]) => s.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      ),
    );

    expect(gates.length).toBeGreaterThan(0);
    for (const [name, gate] of gates) {
      const args = gate.Arguments as { FunctionName: string; Payload: Record<string, unknown> };
      expect(gate.TimeoutSeconds, name).toBeDefined();
      expect(args.FunctionName, name).toBe(approvalFn);
      expect(args.Payload.taskToken, name).toBe('{% $states.context.Task.Token %}');
    }
  });

  it('traces executions and logs errors only, without execution data', () => {
    for (const [name, { props }] of definitions) {
      const logging = props.LoggingConfiguration as {
        Level: string;
        IncludeExecutionData: boolean;
        Destinations: unknown[];
      };

      expect(props.TracingConfiguration, name).toEqual({ Enabled: true });
      expect(logging.Level, name).toBe('ERROR');
      expect(logging.IncludeExecutionData, name).toBe(false);
      expect(logging.Destinations, name).toHaveLength(1);
    }
  });
});

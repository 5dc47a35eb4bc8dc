/**
 * `chaperone/cdk`: supervised agents in your own CDK app.
 *
 * ```ts
 * import { Chaperone } from 'chaperone/cdk';
 * new Chaperone(stack, 'Agents', { workflows, workflowsModule: fileURLToPath(new URL('./workflows.ts', import.meta.url)) });
 * ```
 */
export { acknowledge } from './acknowledge.js';
export { type BuildAppOptions, newApp, propsFromContext } from './build-app.js';
export { Chaperone, type ChaperoneProps } from './chaperone.js';
export { ChaperoneStack, type ChaperoneStackProps } from './chaperone-stack.js';
export { AgentFunction, type AgentFunctionProps, HANDLER_METADATA_KEY } from './constructs/agent-function.js';
export { TABLE_METADATA_KEY } from './constructs/chaperone-table.js';
export { HANDLER_KINDS, type HandlerKind } from './constructs/handler-entries.js';

import { type ToolAttemptEvent, toolAttemptEventSchema } from '../../state-machines/contract.js';
import { toolsOf, type Workflow } from '../../state-machines/workflow.js';
import { ConfigError, type Env, required } from '../config.js';
import { runToolAttempt } from '../core/tool-attempt.js';
import { eventParser } from './parse-event.js';

const parse = eventParser<ToolAttemptEvent>(toolAttemptEventSchema, 'tool attempt');

/**
 * The function of one tool (`CHAPERONE_TOOL`): runs one attempt with the
 * permissions granted to this tool alone. It builds no client of its own:
 * the bundle carries only the tool's code and what that code imports.
 */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const name = required(env, 'CHAPERONE_TOOL');
  const tool = toolsOf(app).get(name);
  if (!tool)
    throw new ConfigError(`CHAPERONE_TOOL names ${name}, which no workflow of this function's module has`);
  return async (event: unknown) => runToolAttempt(parse(event), tool);
}

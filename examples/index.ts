import type { Workflow } from 'chaperone';
import { invoiceWorkflow } from './invoice/workflow.js';

/**
 * The application's workflows: infra compiles one state machine per entry, the
 * Lambda handlers look steps, agents and tools up here. Replace with your own.
 */
export const workflows: readonly Workflow[] = [invoiceWorkflow];

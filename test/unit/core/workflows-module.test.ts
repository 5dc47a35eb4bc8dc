import { describe, expect, it } from 'vitest';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { WorkflowsModuleError, workflowsOf } from '../../../lambdas/workflows-module.js';

describe('the workflows module a construct points at', () => {
  it('gives its workflows export (or its default export)', () => {
    expect(workflowsOf({ workflows: [invoiceWorkflow] }, 'app/workflows.ts')).toEqual([invoiceWorkflow]);
    expect(workflowsOf({ default: [invoiceWorkflow] }, 'app/workflows.ts')).toEqual([invoiceWorkflow]);
  });

  it('refuses a module that exports nothing usable, naming the file and the export', () => {
    expect(() => workflowsOf({ greet: invoiceWorkflow }, 'app/workflows.ts')).toThrow(
      new WorkflowsModuleError(
        'app/workflows.ts exports no workflows: add `export const workflows = [myWorkflow]` (exports found: greet)',
      ),
    );
    expect(() => workflowsOf({ workflows: [] }, 'app/workflows.ts')).toThrow(
      /app\/workflows\.ts: export "workflows" must be a non-empty array/,
    );
    expect(() => workflowsOf({ workflows: [{ name: 'x' }] }, 'app/workflows.ts')).toThrow(
      /app\/workflows\.ts: workflows\[0\] is not a workflow/,
    );
    expect(() => workflowsOf({ workflows: [invoiceWorkflow, invoiceWorkflow] }, 'app/workflows.ts')).toThrow(
      /workflow "invoice-reconciliation" is exported twice/,
    );
  });
});

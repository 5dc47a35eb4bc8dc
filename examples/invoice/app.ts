#!/usr/bin/env node
/**
 * The invoice example's CDK app (`cdk.json`): a stack with the supervised
 * invoice agent and the accounts-payable backend its tools use, checked by
 * cdk-nag's AwsSolutions pack. It uses Chaperone exactly as your app would.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type BuildAppOptions, Chaperone, newApp, propsFromContext } from 'chaperone/cdk';
import { workflows } from '../index.js';
import { ExampleBackendTable } from './backend-table.js';

/** The stack's id, and its CloudFormation name. */
export const STACK_NAME = 'Chaperone';

/** The module every function is bundled with: it exports the workflows. */
export const WORKFLOWS_MODULE = fileURLToPath(new URL('../index.ts', import.meta.url));

/** Build the app in-process (`cdk synth` runs this file; tests and the local runtime call it). */
export function buildApp(options: BuildAppOptions = {}) {
  const app = newApp(options);
  const stack = new Stack(app, STACK_NAME, {
    description: 'Chaperone: supervised AI agent workflows on Step Functions (invoice example)',
  });
  const agents = new Chaperone(stack, 'Agents', {
    workflows,
    workflowsModule: WORKFLOWS_MODULE,
    projectRoot: fileURLToPath(new URL('../..', import.meta.url)),
    // This repository bundles `chaperone` from its own sources (package.json exports).
    bundlingConditions: ['chaperone-source'],
    ...propsFromContext(app),
  });
  // The example's own system: invoices, vendors and payments. Only its tools reach it, each
  // with what its access class allows: the reads read, the payment writes.
  const backend = new ExampleBackendTable(stack, 'InvoiceBackend');
  for (const tool of ['lookup_invoice', 'find_vendor', 'find_vendor_cached'])
    backend.grantRead(agents.toolRole(tool));
  backend.grantReadWrite(agents.toolRole('schedule_payment'));
  for (const tool of agents.tools.values()) tool.addEnvironment('INVOICE_BACKEND_TABLE', backend.tableName);
  backend.seedAtDeploy();
  return { app, stack, agents, backend };
}

const isMain =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { app } = buildApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

import {
  policyWorkflow,
  readOnly,
  tester,
  testWorkflow,
  tightBudgetWorkflow,
  timeLimitedWorkflow,
} from './fixtures.js';
import { threeLayerSuite } from './three-layers.suite.js';

// The agents on the Anthropic API (their `model`), through the real Anthropic SDK.
threeLayerSuite(
  { tester, readOnly, testWorkflow, policyWorkflow, tightBudgetWorkflow, timeLimitedWorkflow },
  'messages',
);

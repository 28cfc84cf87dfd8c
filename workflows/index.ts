// Every workflow the worker registers; the worker bundles this file.
export { planWorkflow, planStatusQuery } from './plan-workflow';
export { triggerRunWorkflow } from './trigger-run-workflow';
export { conditionCheckWorkflow } from './condition-check-workflow';

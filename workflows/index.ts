// Every workflow the worker registers; the worker bundles this file.
export { planWorkflow } from './plan-workflow';

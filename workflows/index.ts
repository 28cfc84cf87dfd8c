// Every workflow the worker registers; the worker bundles this file.
export { planWorkflow } from './plan-workflow';
export { pluginInstallWorkflow } from './plugin-install-workflow';
export { pluginUninstallWorkflow } from './plugin-uninstall-workflow';
export { pluginUpgradeWorkflow } from './plugin-upgrade-workflow';
export { triggerRunWorkflow } from './trigger-run-workflow';
export { conditionCheckWorkflow } from './condition-check-workflow';

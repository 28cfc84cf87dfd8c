-- Plugins upgrade in place (plugin-upgrade-<id>-<version>): the plugin is 'upgrading' while the
-- workflow runs, so no install, uninstall, enable/disable or other upgrade of it starts meanwhile.
ALTER TABLE plugins DROP CONSTRAINT plugins_status_check;
ALTER TABLE plugins ADD CONSTRAINT plugins_status_check
  CHECK (status IN ('installing', 'installed', 'enabled', 'disabled', 'upgrading', 'uninstalling', 'error'));

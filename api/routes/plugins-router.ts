import { Router, type Request } from 'express';
import { ListPluginsQuery, PluginIdParams, PluginStorageKeyParams, StorageValueBody, PluginForceQuery, UpdateConfigBody } from '../../activities/plugins/plugin-api-schemas';
import type { PluginService } from '../../activities/plugins/plugin-service';
import { StorageListQuery } from '../../activities/plugins/plugin-storage';
import { AppError } from '../../platform/errors';
import { requireAdmin } from '../auth-middleware';
import { parse, principalOf } from '../validate';

/** A plugin principal reaches only its own plugin. */
function assertMayAccess(principal: string, pluginId: string): void {
  if (principal.startsWith('plugin:') && principal !== `plugin:${pluginId}`) {
    throw new AppError('FORBIDDEN', `${principal} may not access plugin '${pluginId}'`, { pluginId });
  }
}

/** A plugin as `principal` may see it: its config (which may hold credentials) only for admin and the plugin itself. */
function withConfigFor<P extends { id: string; config?: unknown }>(principal: string, plugin: P): P | Omit<P, 'config'> {
  if (principal === 'admin' || principal === `plugin:${plugin.id}`) return plugin;
  const { config: _hidden, ...rest } = plugin;
  return rest;
}

/** A plugin's storage is its own and admin's: users never read what a plugin kept of other users' events. */
function assertMayUseStorage(principal: string, pluginId: string): void {
  if (principal !== 'admin' && principal !== `plugin:${pluginId}`) {
    throw new AppError('FORBIDDEN', `${principal} may not use the storage of plugin '${pluginId}'`, { pluginId });
  }
}

/**
 * /api/v1/plugins: install/upgrade/uninstall (Temporal workflows), enable/disable, config, scoped storage.
 * Lifecycle is admin-only: a plugin's subscriptions see every user's events.
 */
export function pluginsRouter(plugins: PluginService): Router {
  const router = Router();
  router.post('/', requireAdmin, async (req, res) => {
    res.status(202).json(await plugins.install(req.body, principalOf(req)));
  });
  router.get('/', async (req, res) => {
    const all = await plugins.listPlugins(parse(ListPluginsQuery, req.query).status);
    const principal = principalOf(req);
    res.json((principal.startsWith('plugin:') ? all.filter((p) => `plugin:${p.id}` === principal) : all).map((p) => withConfigFor(principal, p)));
  });
  router.get('/:id', async (req, res) => {
    const { id } = parse(PluginIdParams, req.params);
    assertMayAccess(principalOf(req), id);
    res.json(withConfigFor(principalOf(req), await plugins.getPlugin(id)));
  });
  router.delete('/:id', requireAdmin, async (req, res) => {
    const { force } = parse(PluginForceQuery, req.query);
    res.status(202).json(await plugins.uninstall(parse(PluginIdParams, req.params).id, principalOf(req), { force }));
  });
  router.post('/:id/upgrade', requireAdmin, async (req, res) => {
    const { force } = parse(PluginForceQuery, req.query);
    res.status(202).json(await plugins.upgrade(parse(PluginIdParams, req.params).id, req.body, principalOf(req), { force }));
  });
  router.post('/:id/enable', requireAdmin, async (req, res) => {
    res.json(await plugins.enable(parse(PluginIdParams, req.params).id));
  });
  router.post('/:id/disable', requireAdmin, async (req, res) => {
    res.json(await plugins.disable(parse(PluginIdParams, req.params).id));
  });
  router.put('/:id/config', requireAdmin, async (req, res) => {
    res.json(await plugins.updateConfig(parse(PluginIdParams, req.params).id, parse(UpdateConfigBody, req.body).config));
  });

  const storageOf = async (req: Request, pluginId: string) => {
    assertMayUseStorage(principalOf(req), pluginId);
    await plugins.getPlugin(pluginId); // NOT_FOUND for an unknown plugin
    return plugins.getStorage(pluginId);
  };
  router.get('/:id/storage', async (req, res) => {
    const { id } = parse(PluginIdParams, req.params);
    res.json(await (await storageOf(req, id)).list(parse(StorageListQuery, req.query)));
  });
  router.delete('/:id/storage', async (req, res) => {
    const { id } = parse(PluginIdParams, req.params);
    res.json({ cleared: await (await storageOf(req, id)).clear() });
  });
  router.get('/:id/storage/:key', async (req, res) => {
    const { id, key } = parse(PluginStorageKeyParams, req.params);
    const value = await (await storageOf(req, id)).get(key);
    if (value === undefined) throw new AppError('NOT_FOUND', `plugin '${id}' stores no key '${key}'`, { key });
    res.json({ key, value });
  });
  router.put('/:id/storage/:key', async (req, res) => {
    const { id, key } = parse(PluginStorageKeyParams, req.params);
    await (await storageOf(req, id)).set(key, parse(StorageValueBody, req.body).value);
    res.status(204).end();
  });
  router.delete('/:id/storage/:key', async (req, res) => {
    const { id, key } = parse(PluginStorageKeyParams, req.params);
    if (!(await (await storageOf(req, id)).delete(key))) throw new AppError('NOT_FOUND', `plugin '${id}' stores no key '${key}'`, { key });
    res.status(204).end();
  });
  return router;
}

import { Router } from 'express';
import { AppError } from '../../platform/errors';
import { ExecuteToolBody, IdempotencyKeyHeader, ListToolsQuery, ToolNameParams } from '../../activities/tools/tool-api-schemas';
import type { ToolRegistry } from '../../activities/tools/tool-registry';
import { parse, principalOf } from '../validate';

/** /api/v1/tools: list/search, get, enable, disable, delete and execute tools. */
export function toolsRouter(tools: ToolRegistry): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const q = parse(ListToolsQuery, req.query);
    const tags = q.tag === undefined ? undefined : Array.isArray(q.tag) ? q.tag : [q.tag];
    res.json({ tools: await tools.searchTools(q.q, { source: q.source, category: q.category, tags, enabled: q.enabled }, principalOf(req)) });
  });
  router.get('/:name', async (req, res) => {
    const { name } = parse(ToolNameParams, req.params);
    const tool = await tools.getTool(name, principalOf(req));
    if (!tool) throw new AppError('NOT_FOUND', `tool '${name}' does not exist`, { name });
    res.json(tool);
  });
  router.post('/:name/enable', async (req, res) => {
    const { name } = parse(ToolNameParams, req.params);
    await tools.enableTool(name, principalOf(req));
    res.json(await tools.getTool(name, principalOf(req)));
  });
  router.post('/:name/disable', async (req, res) => {
    const { name } = parse(ToolNameParams, req.params);
    await tools.disableTool(name, principalOf(req));
    res.json(await tools.getTool(name, principalOf(req)));
  });
  router.delete('/:name', async (req, res) => {
    await tools.unregisterTool(parse(ToolNameParams, req.params).name, principalOf(req));
    res.status(204).end();
  });
  router.post('/:name/execute', async (req, res) => {
    const { name } = parse(ToolNameParams, req.params);
    const body = parse(ExecuteToolBody, req.body ?? {});
    const principal = principalOf(req);
    if (body.approved === true && principal !== 'admin') throw new AppError('FORBIDDEN', 'only admin may approve a tool call', { tool: name });
    const result = await tools.executeTool(name, body.args, {
      requesterId: principal,
      approved: body.approved,
      idempotencyKey: parse(IdempotencyKeyHeader, req.header('idempotency-key')),
    });
    res.status(result.status === 'completed' ? 200 : 202).json(result);
  });
  return router;
}

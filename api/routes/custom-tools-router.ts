import { Router } from 'express';
import { CreateCustomToolBody, CustomToolIdParams } from '../../activities/tools/tool-api-schemas';
import type { ToolRegistry } from '../../activities/tools/tool-registry';
import { CustomToolPatch } from '../../activities/tools/tool-schemas';
import { parsePrincipal } from '../../activities/tools/tool-permissions';
import { AppError } from '../../platform/errors';
import { parse, principalOf } from '../validate';

/** The user a new custom tool belongs to: the calling user, or the one admin names. */
function ownerFor(principal: string, requested: string | undefined): string {
  const p = parsePrincipal(principal);
  if (p.kind === 'user' && (requested === undefined || requested === p.id)) return p.id;
  if (p.kind === 'admin' && requested !== undefined) return requested;
  if (p.kind === 'admin') throw new AppError('UNPROCESSABLE', 'admin must give the userId that owns the tool');
  throw new AppError('FORBIDDEN', `${principal} may not create custom tools${requested ? ` for ${requested}` : ''}`);
}

/** /api/v1/custom-tools: a user's own JavaScript tools (admin sees and manages all). */
export function customToolsRouter(tools: ToolRegistry): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const { userId, ...definition } = parse(CreateCustomToolBody, req.body);
    const id = await tools.registerCustomTool(ownerFor(principalOf(req), userId), definition);
    res.status(201).json(await tools.getCustomTool(id, principalOf(req)));
  });
  router.get('/', async (req, res) => {
    res.json({ customTools: await tools.listCustomTools(principalOf(req)) });
  });
  router.get('/:id', async (req, res) => {
    res.json(await tools.getCustomTool(parse(CustomToolIdParams, req.params).id, principalOf(req)));
  });
  router.patch('/:id', async (req, res) => {
    const { id } = parse(CustomToolIdParams, req.params);
    res.json(await tools.updateCustomTool(id, principalOf(req), parse(CustomToolPatch, req.body)));
  });
  router.delete('/:id', async (req, res) => {
    await tools.deleteCustomTool(parse(CustomToolIdParams, req.params).id, principalOf(req));
    res.status(204).end();
  });
  return router;
}

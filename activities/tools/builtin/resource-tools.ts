import { z } from 'zod';
import { createSchema, ListResourcesQuery, RESOURCE_TYPES, ResourceId, updateSchema, type ResourceType } from '../../resources/resource-definitions';
import type { ResourceService } from '../../resources/resource-service';
import { defineTool, type BuiltinTool } from '../tool-types';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
const IdArgs = z.strictObject({ id: ResourceId });

function toolsFor(type: ResourceType, resources: Pick<ResourceService, 'create' | 'get' | 'list' | 'update' | 'delete'>): BuiltinTool[] {
  const label = type.replace('_', ' ');
  const base = { category: 'resources', tags: ['resource', type] };
  const UpdateArgs = z.strictObject({ id: ResourceId, changes: updateSchema(type) });
  const ListArgs = ListResourcesQuery.strict();
  return [
    defineTool({
      definition: { ...base, name: `core.${type}.create`, description: `Creates one of the caller's ${label} (idempotent per idempotency key)`, parameters: schema(createSchema(type)) },
      args: createSchema(type),
      execute: (args, ctx) => resources.create(type, ctx.requesterId, args, ctx.idempotencyKey),
    }),
    defineTool({
      definition: { ...base, name: `core.${type}.get`, description: `Reads one of the caller's ${label} by id`, parameters: schema(IdArgs) },
      args: IdArgs,
      execute: ({ id }, ctx) => resources.get(type, ctx.requesterId, id),
    }),
    defineTool({
      definition: { ...base, name: `core.${type}.list`, description: `Lists the caller's ${label}, newest first`, parameters: schema(ListArgs) },
      args: ListArgs,
      execute: async (args, ctx) => ({ items: await resources.list(type, ctx.requesterId, args) }),
    }),
    defineTool({
      definition: { ...base, name: `core.${type}.update`, description: `Changes fields of one of the caller's ${label}`, parameters: schema(UpdateArgs) },
      args: UpdateArgs,
      execute: ({ id, changes }, ctx) => resources.update(type, ctx.requesterId, id, changes),
    }),
    defineTool({
      definition: { ...base, name: `core.${type}.delete`, description: `Deletes one of the caller's ${label}`, parameters: schema(IdArgs) },
      args: IdArgs,
      execute: ({ id }, ctx) => resources.delete(type, ctx.requesterId, id),
    }),
  ];
}

/** core.<resource>.create|get|list|update|delete for every personal-data resource. */
export function createResourceTools(resources: Pick<ResourceService, 'create' | 'get' | 'list' | 'update' | 'delete'>): readonly BuiltinTool[] {
  return RESOURCE_TYPES.flatMap((type) => toolsFor(type, resources));
}

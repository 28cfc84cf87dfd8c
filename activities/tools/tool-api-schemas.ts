import { z } from 'zod';
import { CustomToolDefinition } from './tool-schemas';
import { ToolName, ToolSource } from './tool-types';
import { QueryFlag } from '../../platform/query-flag';

/** GET /api/v1/tools query: all filters optional; `tag` may repeat. */
export const ListToolsQuery = z.object({
  q: z.string().max(200).default(''),
  source: ToolSource.optional(),
  category: z.string().max(100).optional(),
  tag: z.union([z.string().max(50), z.array(z.string().max(50)).max(20)]).optional(),
  enabled: QueryFlag.optional(),
});

export const ToolNameParams = z.object({ name: ToolName });

/** POST /api/v1/tools/:name/execute body; `approved` is accepted from admin only. */
export const ExecuteToolBody = z.object({ args: z.unknown().default({}), approved: z.boolean().optional() });

/** POST /api/v1/custom-tools: admin must name the owning user; a user creates for themself. */
export const CreateCustomToolBody = CustomToolDefinition.extend({ userId: z.string().min(1).max(200).optional() });

export const CustomToolIdParams = z.object({ id: z.string().min(1).max(100) });

export const IdempotencyKeyHeader = z.string().min(1).max(200).optional();

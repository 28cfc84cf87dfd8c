import { z } from 'zod';
import { Principal } from './principal';

/** Body of POST /api/v1/keys. */
export const CreateApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    principal: Principal,
  })
  .strict();
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

/** Route params naming an API key. */
export const ApiKeyIdParams = z.object({ id: z.string().min(1).max(64) });

/** An operator-chosen bootstrap key (OWNPILOT_ADMIN_KEY) must be long enough to resist guessing. */
export const BootstrapKey = z.string().min(24, 'OWNPILOT_ADMIN_KEY must be at least 24 characters').max(512);

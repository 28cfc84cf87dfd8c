import { z } from 'zod';

/** The kinds of principal an API key or a workflow can act as. */
export const PRINCIPAL_KINDS = ['admin', 'user', 'plugin'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

const PRINCIPAL_PATTERN = /^(admin|(user|plugin):[a-z0-9][a-z0-9_-]{0,62})$/;

/** `admin`, `user:<id>` or `plugin:<id>` (ids: lower-case letters, digits, `_`, `-`). */
export const Principal = z.string().regex(PRINCIPAL_PATTERN, "'admin', 'user:<id>' or 'plugin:<id>'");
export type Principal = z.infer<typeof Principal>;

/** The kind of a principal string; undefined for anything that is not a well-formed principal. */
export function principalKind(principal: string): PrincipalKind | undefined {
  if (!PRINCIPAL_PATTERN.test(principal)) return undefined;
  if (principal === 'admin') return 'admin';
  return principal.startsWith('user:') ? 'user' : 'plugin';
}

/** The principal a plugin acts as. */
export function pluginPrincipal(pluginId: string): string {
  return `plugin:${pluginId}`;
}

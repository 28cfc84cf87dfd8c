import type { Prisma } from '../prisma/generated/client';

/** Marks a value that came through a zod schema (hence JSON-safe) as a Prisma JSON input. */
export function asJson(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}

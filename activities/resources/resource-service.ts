import type { PrismaClient } from '../../platform/database';
import { isUniqueViolation } from '../../platform/database-errors';
import { AppError, notFound } from '../../platform/errors';
import { newId } from '../../platform/ids';
import type { EventPublisher } from '../events/event-types';
import { parsePrincipal } from '../tools/tool-permissions';
import { createSchema, ListResourcesQuery, RESOURCE_STORAGE, updateSchema, type ResourceType } from './resource-definitions';

type Row = Record<string, unknown> & { id: string; ownerId: string; idempotencyKey?: string | null };
interface ResourceDelegate {
  create(args: { data: Record<string, unknown> }): Promise<Row>;
  findUnique(args: { where: Record<string, unknown> }): Promise<Row | null>;
  findMany(args: Record<string, unknown>): Promise<Row[]>;
  update(args: { where: { id: string }; data: Record<string, unknown> }): Promise<Row>;
  delete(args: { where: { id: string } }): Promise<Row>;
}


/** Maps Prisma's "record to update/delete not found" (a concurrent delete) to NOT_FOUND. */
function orNotFound<T>(type: string, id: string, write: Promise<T>): Promise<T> {
  return write.catch((error: unknown) => {
    throw (error as { code?: string }).code === 'P2025' ? notFound(type, id) : error;
  });
}

function publicRow({ idempotencyKey: _key, ...row }: Row): Record<string, unknown> {
  return row;
}

function toStored(type: ResourceType, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  for (const f of RESOURCE_STORAGE[type].dateFields) if (typeof out[f] === 'string') out[f] = new Date(out[f] as string);
  return out;
}

function assertConsistent(type: ResourceType, row: Record<string, unknown>): void {
  if (type === 'calendar_events' && row.endsAt instanceof Date && row.startsAt instanceof Date && row.endsAt < row.startsAt) {
    throw new AppError('UNPROCESSABLE', 'endsAt is before startsAt', { issues: [{ path: '/endsAt', message: 'must not be before startsAt' }] });
  }
}

/**
 * CRUD over the personal-data resources (tasks, notes, ...). Each row belongs to the principal
 * that created it; only that principal (or admin) sees or changes it. Every change emits
 * resource.created|updated|deleted with { resourceType, id, data|changes }.
 */
export function createResourceService({ prisma, events }: { prisma: PrismaClient; events: EventPublisher }) {
  const delegate = (type: ResourceType) => (prisma as unknown as Record<string, ResourceDelegate>)[RESOURCE_STORAGE[type].model]!;
  const visible = (row: Row | null, principal: string) => row !== null && (parsePrincipal(principal).kind === 'admin' || row.ownerId === principal);

  const owned = async (type: ResourceType, principal: string, id: string): Promise<Row> => {
    const row = await delegate(type).findUnique({ where: { id } });
    if (!row || !visible(row, principal)) throw notFound(type, id);
    return row;
  };

  return {
    /**
     * Creates a row owned by `principal`. With an idempotency key, a repeated create (same
     * principal and key) returns the first row and emits nothing. Throws ZodError on bad input.
     */
    async create(type: ResourceType, principal: string, input: unknown, idempotencyKey?: string) {
      const fields = toStored(type, createSchema(type).parse(input));
      assertConsistent(type, fields);
      const key = idempotencyKey === undefined ? null : `${principal}|${idempotencyKey}`;
      if (key !== null) {
        const existing = await delegate(type).findUnique({ where: { idempotencyKey: key } });
        if (existing) return publicRow(existing);
      }
      let row: Row;
      try {
        row = await delegate(type).create({ data: { id: newId(), ownerId: principal, idempotencyKey: key, ...fields } });
      } catch (error) {
        if (key !== null && isUniqueViolation(error)) {
          const winner = await delegate(type).findUnique({ where: { idempotencyKey: key } });
          if (winner) return publicRow(winner);
        }
        throw error;
      }
      const data = publicRow(row);
      events.emit('resource.created', { resourceType: type, id: row.id, data }, principal);
      return data;
    },

    /** One row; NOT_FOUND when absent or not the principal's. */
    async get(type: ResourceType, principal: string, id: string) {
      return publicRow(await owned(type, principal, id));
    },

    /** The principal's rows (all rows for admin), newest first. */
    async list(type: ResourceType, principal: string, query: ListResourcesQuery = {}) {
      const { limit, offset } = ListResourcesQuery.parse(query);
      const where = parsePrincipal(principal).kind === 'admin' ? {} : { ownerId: principal };
      const rows = await delegate(type).findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: limit, skip: offset });
      return rows.map(publicRow);
    },

    /** Applies changes; NOT_FOUND when absent or not the principal's; emits resource.updated with the changes. */
    async update(type: ResourceType, principal: string, id: string, input: unknown) {
      const changes = updateSchema(type).parse(input) as Record<string, unknown>;
      const current = await owned(type, principal, id);
      const stored = toStored(type, changes);
      assertConsistent(type, { ...current, ...stored });
      const row = await orNotFound(type, id, delegate(type).update({ where: { id }, data: { ...stored, updatedAt: new Date() } }));
      events.emit('resource.updated', { resourceType: type, id, changes }, principal);
      return publicRow(row);
    },

    /** Deletes a row; NOT_FOUND when absent or not the principal's; emits resource.deleted. */
    async delete(type: ResourceType, principal: string, id: string) {
      await owned(type, principal, id);
      const row = await orNotFound(type, id, delegate(type).delete({ where: { id } }));
      events.emit('resource.deleted', { resourceType: type, id, data: publicRow(row) }, principal);
      return { id, deleted: true as const };
    },
  };
}
export type ResourceService = ReturnType<typeof createResourceService>;

import { z } from 'zod';

const Title = z.string().trim().min(1).max(500);
const Text = z.string().max(20_000);
const Tags = z.array(z.string().trim().min(1).max(50)).max(50);
const When = z.iso.datetime({ offset: true });

/**
 * The JSON Schema `email` format as the API document's readers check it (ajv-formats' full mode):
 * zod's default pattern accepts addresses it refuses (a domain label ending in '-'), and an
 * address the API stores must also be valid where its document says `format: email`.
 */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

/** The zod schema of each resource's fields on create; update accepts any subset (at least one). */
export const RESOURCE_FIELDS = {
  tasks: z.strictObject({
    title: Title,
    description: Text.optional(),
    status: z.enum(['open', 'in_progress', 'done', 'cancelled']).optional(),
    priority: z.number().int().min(0).max(5).optional(),
    dueAt: When.optional(),
    tags: Tags.optional(),
  }),
  notes: z.strictObject({ title: Title, content: Text.optional(), tags: Tags.optional() }),
  bookmarks: z.strictObject({ url: z.url({ protocol: /^https?$/ }).max(4000), title: Title, description: Text.optional(), tags: Tags.optional() }),
  contacts: z.strictObject({
    name: Title,
    email: z.email({ pattern: EMAIL }).max(320).optional(),
    phone: z.string().trim().max(50).optional(),
    company: z.string().trim().max(200).optional(),
    notes: Text.optional(),
  }),
  calendar_events: z.strictObject({ title: Title, description: Text.optional(), location: z.string().max(500).optional(), startsAt: When, endsAt: When.optional() }),
  memories: z.strictObject({ content: Text.min(1), kind: z.string().trim().min(1).max(50).optional(), importance: z.number().int().min(0).max(10).optional(), tags: Tags.optional() }),
  goals: z.strictObject({
    title: Title,
    description: Text.optional(),
    status: z.enum(['active', 'achieved', 'abandoned']).optional(),
    progress: z.number().int().min(0).max(100).optional(),
    targetDate: When.optional(),
  }),
} as const;

export type ResourceType = keyof typeof RESOURCE_FIELDS;
export const RESOURCE_TYPES = Object.keys(RESOURCE_FIELDS) as ResourceType[];
export const ResourceTypeSchema = z.enum(RESOURCE_TYPES as [ResourceType, ...ResourceType[]]);

/** Prisma model delegate name and the fields stored as timestamps, per resource. */
export const RESOURCE_STORAGE: Record<ResourceType, { model: string; dateFields: readonly string[] }> = {
  tasks: { model: 'task', dateFields: ['dueAt'] },
  notes: { model: 'note', dateFields: [] },
  bookmarks: { model: 'bookmark', dateFields: [] },
  contacts: { model: 'contact', dateFields: [] },
  calendar_events: { model: 'calendarEvent', dateFields: ['startsAt', 'endsAt'] },
  memories: { model: 'memory', dateFields: [] },
  goals: { model: 'goal', dateFields: ['targetDate'] },
};

/** Create input of a resource. */
export function createSchema(type: ResourceType): z.ZodType<Record<string, unknown>> {
  return RESOURCE_FIELDS[type];
}

/** Update input of a resource: any subset of its fields, at least one. */
export function updateSchema(type: ResourceType): z.ZodType<Record<string, unknown>> {
  const fields = RESOURCE_FIELDS[type] as z.ZodObject;
  return fields.partial().refine((v) => Object.keys(v).length > 0, 'give at least one field to change');
}

export const ResourceId = z.string().min(1).max(100);
export const ListResourcesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type ListResourcesQuery = z.input<typeof ListResourcesQuery>;

import { z } from 'zod';
import { defineTool, type BuiltinTool } from '../tool-types';
import { deepMerge, getAt, parsePath, setAt } from './json-path';

const Json = z.json();
const Path = z.string().max(500);
const schema = (s: z.ZodType) => z.toJSONSchema(s, { unrepresentable: 'any' }) as Record<string, unknown>;

const GetArgs = z.object({ value: Json, path: Path, default: Json.optional() });
const SetArgs = z.object({ value: Json, path: Path, newValue: Json });
const MergeArgs = z.object({ values: z.array(Json).min(1).max(100) });
const PickArgs = z.object({ value: Json, paths: z.array(Path).min(1).max(100) });
const TransformArgs = z.object({ value: Json, mapping: z.record(z.string().min(1).max(200), Path) });

/** core.json.get|set|merge|pick|transform: pure JSON reshaping by `a.b[0]` paths. */
export const JSON_TOOLS: readonly BuiltinTool[] = [
  defineTool({
    definition: { name: 'core.json.get', description: 'Reads the value at a path such as a.b[0].c', category: 'json', parameters: schema(GetArgs), tags: ['json', 'transform'] },
    args: GetArgs,
    execute: async ({ value, path, default: fallback }) => ({ value: getAt(value, parsePath(path)) ?? fallback ?? null }),
  }),
  defineTool({
    definition: { name: 'core.json.set', description: 'Returns a copy of a JSON value with a path set to a new value', category: 'json', parameters: schema(SetArgs), tags: ['json', 'transform'] },
    args: SetArgs,
    execute: async ({ value, path, newValue }) => ({ value: setAt(value, parsePath(path), newValue) }),
  }),
  defineTool({
    definition: { name: 'core.json.merge', description: 'Deep-merges JSON objects, later ones winning', category: 'json', parameters: schema(MergeArgs), tags: ['json', 'transform'] },
    args: MergeArgs,
    execute: async ({ values }) => ({ value: values.reduce<unknown>((acc, v) => deepMerge(acc, v), {}) }),
  }),
  defineTool({
    definition: { name: 'core.json.pick', description: 'Builds an object holding only the given paths of a JSON value', category: 'json', parameters: schema(PickArgs), tags: ['json', 'transform'] },
    args: PickArgs,
    execute: async ({ value, paths }) => ({
      value: paths.reduce<unknown>((acc, p) => {
        const path = parsePath(p);
        const found = getAt(value, path);
        return found === undefined ? acc : setAt(acc, path, found);
      }, {}),
    }),
  }),
  defineTool({
    definition: { name: 'core.json.transform', description: 'Builds a new object whose keys are read from paths of a JSON value', category: 'json', parameters: schema(TransformArgs), tags: ['json', 'transform'] },
    args: TransformArgs,
    execute: async ({ value, mapping }) => ({
      value: Object.entries(mapping).reduce<unknown>((acc, [target, source]) => setAt(acc, parsePath(target), getAt(value, parsePath(source)) ?? null), {}),
    }),
  }),
];

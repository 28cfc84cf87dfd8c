import { z } from 'zod';
import { defineTool, type BuiltinTool } from '../tool-types';
import { renderTemplate } from './template-render';

const MAX_OUTPUT_BYTES = 1024 * 1024;
const TemplateArgs = z.object({ template: z.string().max(100_000), data: z.json().default({}) });

/** core.string.template: mustache-like rendering over JSON data (no code execution). */
export const STRING_TOOLS: readonly BuiltinTool[] = [
  defineTool({
    definition: {
      name: 'core.string.template',
      description: 'Renders a mustache-like template ({{a.b}}, {{#list}}…{{/list}}, {{^x}}…{{/x}}) with JSON data',
      category: 'string',
      parameters: z.toJSONSchema(TemplateArgs, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>,
      tags: ['string', 'template', 'text'],
    },
    args: TemplateArgs,
    execute: async ({ template, data }) => ({ text: renderTemplate(template, data, MAX_OUTPUT_BYTES) }),
  }),
];

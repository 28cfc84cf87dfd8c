import { AppError } from '../../../platform/errors';
import { getAt, parsePath } from './json-path';

type Node = { kind: 'text'; text: string } | { kind: 'var'; path: string } | { kind: 'section'; path: string; inverted: boolean; children: Node[] };

const TAG = /\{\{\s*([#^/]?)\s*([^}\s]*)\s*\}\}/g;

function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: { path: string; children: Node[] }[] = [{ path: '', children: root }];
  let last = 0;
  for (const m of template.matchAll(TAG)) {
    const top = stack[stack.length - 1]!;
    if (m.index > last) top.children.push({ kind: 'text', text: template.slice(last, m.index) });
    last = m.index + m[0].length;
    const [, sigil, path] = m as unknown as [string, string, string];
    if (path === '') throw new AppError('UNPROCESSABLE', `empty tag at offset ${m.index}`);
    if (sigil === '/') {
      if (stack.length === 1 || top.path !== path) throw new AppError('UNPROCESSABLE', `unexpected {{/${path}}} at offset ${m.index}`);
      stack.pop();
    } else if (sigil === '#' || sigil === '^') {
      if (stack.length > 32) throw new AppError('UNPROCESSABLE', 'sections nest deeper than 32');
      const section: Node = { kind: 'section', path, inverted: sigil === '^', children: [] };
      top.children.push(section);
      stack.push({ path, children: section.children });
    } else {
      top.children.push({ kind: 'var', path });
    }
  }
  if (stack.length > 1) throw new AppError('UNPROCESSABLE', `section '${stack[stack.length - 1]!.path}' is not closed`);
  if (last < template.length) root.push({ kind: 'text', text: template.slice(last) });
  return root;
}

function lookup(scopes: unknown[], path: string): unknown {
  if (path === '.') return scopes[scopes.length - 1];
  const segments = parsePath(path);
  for (let i = scopes.length - 1; i >= 0; i--) {
    const found = getAt(scopes[i], segments);
    if (found !== undefined) return found;
  }
  return undefined;
}

const asText = (value: unknown) => (value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));

/**
 * Renders a mustache-like template: `{{path}}`, `{{#path}}…{{/path}}` (arrays repeat, truthy
 * values enter), `{{^path}}…{{/path}}` (falsy or empty), `{{.}}`. Pure data lookup, no code;
 * throws UNPROCESSABLE for malformed templates or output over `maxBytes`.
 */
export function renderTemplate(template: string, data: unknown, maxBytes: number): string {
  let out = '';
  const emit = (text: string) => {
    out += text;
    if (out.length > maxBytes) throw new AppError('UNPROCESSABLE', `rendered output exceeds ${maxBytes} bytes`);
  };
  const render = (nodes: Node[], scopes: unknown[]) => {
    for (const node of nodes) {
      if (node.kind === 'text') emit(node.text);
      else if (node.kind === 'var') emit(asText(lookup(scopes, node.path)));
      else {
        const value = lookup(scopes, node.path);
        const empty = !value || (Array.isArray(value) && value.length === 0);
        if (node.inverted) {
          if (empty) render(node.children, scopes);
        } else if (Array.isArray(value)) {
          for (const item of value) render(node.children, [...scopes, item]);
        } else if (!empty) {
          render(node.children, [...scopes, value]);
        }
      }
    }
  };
  render(parseTemplate(template), [data]);
  return out;
}

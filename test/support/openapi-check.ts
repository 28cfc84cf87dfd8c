import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../../api/openapi/openapi-document';

type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }> };

/** Validates real responses against the document's response schemas (JSON Schema 2020-12, formats checked). */
export function createResponseChecker(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
  const checked = new Set<string>();
  return {
    /** Errors of `body` against the schema documented for `method path` at `status` (null when valid); throws when undocumented. */
    check(method: string, path: string, status: number, body: unknown): unknown[] | null {
      const operation = (document.paths as Record<string, Record<string, Operation>>)[path]?.[method.toLowerCase()];
      if (!operation) throw new Error(`${method} ${path} is not documented`);
      const response = operation.responses[String(status)];
      if (!response) throw new Error(`${method} ${path} does not document status ${status}`);
      const schema = response.content?.['application/json']?.schema;
      if (!schema) throw new Error(`${method} ${path} ${status} has no JSON schema`);
      checked.add(`${method.toUpperCase()} ${path}`);
      const resolved = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as object;
      const validate = ajv.compile(resolved);
      return validate(body) ? null : (validate.errors ?? []);
    },
    /** The operations whose responses were checked so far. */
    checked: () => [...checked].sort(),
  };
}

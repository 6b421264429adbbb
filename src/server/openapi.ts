import { z } from 'zod';
import { errorSchema } from './schemas.ts';

/** What one route contributes to `/openapi.json`: the same zod schemas its handler validates with. */
export interface RouteDoc {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  auth?: boolean;
}

function parameters(doc: RouteDoc): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', doc.params],
    ['query', doc.query],
  ] as const) {
    if (!schema) continue;
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    for (const [name, s] of Object.entries(json.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: s });
    }
  }
  return out;
}

/**
 * zod names a schema that has `.meta({id})` in a local `definitions` block with `#/definitions/…`
 * refs; in an OpenAPI document refs resolve from the root, so those go to `components.schemas`.
 */
function hoistDefinitions(schema: unknown, components: Record<string, unknown>): unknown {
  const json = JSON.stringify(schema).replaceAll('"#/definitions/', '"#/components/schemas/');
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const defs = parsed.definitions as Record<string, unknown> | undefined;
  if (defs) {
    Object.assign(components, defs);
    delete parsed.definitions;
  }
  return parsed;
}

export function openApiDocument(docs: readonly RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, unknown> = {};
  const jsonSchema = (s: z.ZodType): unknown =>
    hoistDefinitions(z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }), components);
  for (const doc of docs) {
    const path = doc.path.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(doc.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { 'application/json': { schema: jsonSchema(r.schema) } } } : {}),
      };
    }
    responses.default = { description: 'Error', content: { 'application/json': { schema: jsonSchema(errorSchema) } } };
    paths[path] ??= {};
    paths[path][doc.method] = {
      summary: doc.summary,
      parameters: parameters(doc),
      ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body) } } } } : {}),
      responses,
      ...(doc.auth === false ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Operator API', version, description: 'Conversational AI agents for customer service.' },
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Metrics, Runtime } from '../../runtime/index.ts';
import type { RouteDoc } from '../openapi.ts';
import { agentSchema, listSchema } from '../schemas.ts';
import { agentJson } from '../serialize.ts';

const health = z.object({ status: z.literal('ok') });

export const systemDocs: RouteDoc[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', auth: false, responses: { 200: { description: 'OK', schema: health } } },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics (text format)', responses: { 200: { description: 'Metrics' } } },
  { method: 'get', path: '/openapi.json', summary: 'This document', auth: false, responses: { 200: { description: 'OpenAPI 3' } } },
  {
    method: 'get',
    path: '/v1/agents',
    summary: 'The configured agents',
    responses: { 200: { description: 'Agents', schema: listSchema(agentSchema).omit({ nextCursor: true }) } },
  },
];

export function systemRoutes(
  app: FastifyInstance,
  deps: { runtime: Runtime; metrics: Metrics; openapi: () => Record<string, unknown> },
): void {
  app.get('/healthz', { config: { public: true } }, () => ({ status: 'ok' }));
  app.get('/openapi.json', { config: { public: true } }, () => deps.openapi());
  app.get('/metrics', async (_req, reply) => {
    deps.metrics.poolIdle.set(deps.runtime.pool.idle);
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
  app.get('/v1/agents', () => ({ data: deps.runtime.listAgents().map(agentJson) }));
}

import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { OperatorConfig } from '../config/index.ts';
import type { AsyncConversations, Metrics, Runtime } from '../runtime/index.ts';
import type { Store } from '../store/index.ts';
import type { ApiKeys } from './auth.ts';
import { errorBody, errorHandler, notFoundHandler } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import { realtimeRoutes } from './realtime/socket.ts';
import { asyncDocs, asyncRoutes } from './routes/async.ts';
import { conversationDocs, conversationRoutes } from './routes/conversations.ts';
import { customerDocs, customerRoutes } from './routes/customers.ts';
import { twilioSmsRoutes } from './routes/twilio-sms.ts';
import { exampleRoutes } from './routes/examples.ts';
import { systemDocs, systemRoutes } from './routes/system.ts';
import type { TwilioRestClient } from '../channels/twilio/rest.ts';
import { callDocs, callRoutes } from './twilio/calls.ts';
import { mediaStreamRoutes } from './twilio/media-stream.ts';

export interface AppDeps {
  config: OperatorConfig;
  store: Store;
  runtime: Runtime;
  conversations: AsyncConversations;
  /** `rest` is set when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are (calls, transfers, hang-ups). */
  twilio: { authToken: string | undefined; publicUrl: string; rest?: TwilioRestClient };
  nodeId?: string;
  metrics: Metrics;
  logger: Logger;
  apiKeys: ApiKeys;
  version: string;
  exampleToolSecret?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without an API key. */
    public?: boolean;
  }
}

/** The HTTP + WebSocket server: routes only; the runtime and the store are passed in. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { limits } = deps.config;
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: limits.bodyBytes,
    // Per-request lines are off: conversations log what matters, with their conversationId.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    return503OnClosing: true,
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  await app.register(rateLimit, {
    max: limits.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per accepted key, else per client address: made-up keys must not each get a fresh budget.
    keyGenerator: (req) => deps.apiKeys.rateKey(req) ?? `ip:${req.ip}`,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      ...errorBody('rate_limited', `Too many requests: the limit is ${ctx.max} per minute; retry in ${ctx.after}`),
    }),
  });
  await app.register(websocket, {
    // Frames over frameBytes get a JSON error; only absurd ones make the socket library close (1009).
    options: { maxPayload: limits.frameBytes * 16 },
  });

  app.addHook('onRequest', (req, _reply, done) => {
    try {
      if (!req.routeOptions.config.public) deps.apiKeys.check(req);
      done();
    } catch (err) {
      done(err as Error);
    }
  });

  const docs = [...systemDocs, ...conversationDocs, ...asyncDocs, ...callDocs, ...customerDocs];
  const openapi = openApiDocument(docs, deps.version);
  systemRoutes(app, { runtime: deps.runtime, metrics: deps.metrics, openapi: () => openapi });
  conversationRoutes(app, { store: deps.store, runtime: deps.runtime, conversations: deps.conversations });
  customerRoutes(app, { store: deps.store, runtime: deps.runtime, conversations: deps.conversations });
  asyncRoutes(app, { store: deps.store, runtime: deps.runtime, conversations: deps.conversations, config: deps.config });
  twilioSmsRoutes(app, {
    config: deps.config, store: deps.store, conversations: deps.conversations,
    authToken: deps.twilio.authToken, publicUrl: deps.twilio.publicUrl, helpText: '',
  });
  const { authToken, publicUrl, rest } = deps.twilio;
  callRoutes(app, { config: deps.config, store: deps.store, runtime: deps.runtime, authToken, publicUrl, rest, nodeId: deps.nodeId ?? 'node' });
  mediaStreamRoutes(app, { runtime: deps.runtime, store: deps.store, logger: deps.logger, authToken, publicUrl, rest });
  realtimeRoutes(app, {
    runtime: deps.runtime,
    logger: deps.logger,
    frameBytes: limits.frameBytes,
    messageChars: limits.messageChars,
    sessionsPerIp: limits.sessionsPerIp,
  });
  if (deps.config.examples.enabled) exampleRoutes(app, deps.exampleToolSecret);
  return app;
}

import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig, type OperatorConfig } from '../config/index.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { describeOffline } from '../models/index.ts';
import {
  AsyncConversations, LocalEventBus, PostgresEventBus, Runtime, chatWebhookSender, createMetrics, linkContactHandler,
  sendMessageHandler, smtpEmailSender, startRetention, twilioSmsSender, type AsyncDeps, type EventBus, type Metrics,
} from '../runtime/index.ts';
import { createEmbeddedQueue, createPgBossQueue, openStore, type Store } from '../store/index.ts';
import { TwilioRestClient } from '../channels/twilio/rest.ts';
import { buildApp } from './app.ts';
import { startEmailChannel } from './email-channel.ts';
import { createLogger } from './logger.ts';
import type { ServerSettings } from './settings.ts';

export { settingsFromEnv, type ServerSettings } from './settings.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  config: OperatorConfig;
  store: Store;
  runtime: Runtime;
  conversations: AsyncConversations;
  logger: Logger;
  /** The SMTP receiver's port, when email channels are configured. */
  smtpPort: number | undefined;
  close(): Promise<void>;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function exampleSecret(config: OperatorConfig): string | undefined {
  for (const a of config.agents) {
    for (const t of a.tools) if (t.kind === 'webhook' && t.url.endsWith('/examples/order-status')) return t.secret;
  }
  return undefined;
}

/**
 * Starts a node: config (all-or-nothing), store + migrations, crash recovery, warm pool, the
 * durable work queue, channels, HTTP. Any failure before listening closes what was opened, so an
 * invalid setup never half-starts.
 */
export async function startServer(
  settings: ServerSettings,
  opts: { logger?: Logger; clock?: Clock; allowTestHooks?: boolean } = {},
): Promise<RunningServer> {
  const config = await loadConfig(settings.configPath);
  const logger = opts.logger ?? createLogger(config.logging);
  const clock = opts.clock ?? systemClock;
  const store = await openStore({
    ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
    dataDir: settings.dataDir,
    nodeId: settings.nodeId,
  });
  const closers: (() => Promise<unknown>)[] = [() => store.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    await store.migrate();
    const metrics = createMetrics();
    const runtime = new Runtime({ config, store, metrics, logger, clock, nodeId: settings.nodeId, allowTestHooks: opts.allowTestHooks ?? false });
    closers.push(() => runtime.close());
    await runtime.start();
    const conversations = await startAsync({ settings, config, store, runtime, metrics, logger, clock, closers });
    runtime.setRequestHandlers({
      send_message: sendMessageHandler({ store, conversations, channels: config.channels }),
      link_contact: linkContactHandler(conversations.deps),
    });
    conversations.answerTextsInLiveConversations((customerId, agentId) => runtime.liveFor(customerId, agentId));
    const retention = startRetention({ store, queue: conversations.deps.queue, clock, logger, agents: config.agents });
    closers.push(() => Promise.resolve(retention.stop()));
    const smtp = await startEmailChannel({ config, store, conversations, logger, port: settings.smtpPort, host: settings.smtpHost });
    if (smtp) closers.push(() => smtp.close());
    const secret = exampleSecret(config);
    const app = await buildApp({
      config, store, runtime, conversations, metrics, logger, apiKeys: settings.apiKeys, version: version(),
      twilio: {
        authToken: settings.twilio?.authToken,
        publicUrl: settings.publicUrl,
        ...(settings.twilio ? { rest: new TwilioRestClient({ ...settings.twilio, baseUrl: settings.twilio.apiUrl }) } : {}),
      },
      nodeId: settings.nodeId,
      ...(secret ? { exampleToolSecret: secret } : {}),
    });
    closers.push(() => app.close());
    // Closed first: live conversations end (clients get session.ended) while sockets are still open.
    closers.push(() => runtime.close());
    await app.listen({ port: settings.port, host: settings.host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : settings.port;
    const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
    logger.info(
      {
        url, store: store.dialect, queue: conversations.deps.queue.kind, nodeId: settings.nodeId,
        agents: config.agents.map((a) => a.id), auth: settings.apiKeys.enabled,
        channels: { voice: settings.twilio ? 'twilio' : 'off', sms: settings.twilio ? 'twilio' : 'off', smtp: smtp ? smtp.port : 'off', emailReplies: settings.smtpOutboundUrl ? 'on' : 'off' },
      },
      'operator listening',
    );
    for (const a of config.agents) {
      if (a.model.provider === 'offline') logger.warn({ agent: a.id }, describeOffline());
    }
    return { app, url, config, store, runtime, conversations, logger, smtpPort: smtp?.port, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function startAsync(a: {
  settings: ServerSettings; config: OperatorConfig; store: Store; runtime: Runtime; metrics: Metrics;
  logger: Logger; clock: Clock; closers: (() => Promise<unknown>)[];
}): Promise<AsyncConversations> {
  const { settings, store, clock, logger } = a;
  const queue = settings.databaseUrl
    ? createPgBossQueue({ databaseUrl: settings.databaseUrl, logger, clock, ...(settings.queueSchema ? { schema: settings.queueSchema } : {}) })
    : createEmbeddedQueue(store, { clock, logger });
  const onBusError = (err: unknown): void => logger.warn({ err: String(err) }, 'event bus error');
  const events: EventBus = settings.databaseUrl ? await PostgresEventBus.connect(settings.databaseUrl, onBusError) : new LocalEventBus();
  a.closers.push(() => events.close());
  const agents = new Map(a.config.agents.map((x) => [x.id, x]));
  const senders: AsyncDeps['senders'] = { chat: chatWebhookSender(store, agents) };
  if (settings.twilio) senders.sms = twilioSmsSender({ ...settings.twilio, publicUrl: settings.publicUrl });
  if (settings.smtpOutboundUrl) {
    const email = smtpEmailSender(settings.smtpOutboundUrl);
    senders.email = email;
    a.closers.push(() => Promise.resolve(email.close()));
  }
  const conversations = new AsyncConversations({
    store, queue, pool: a.runtime.pool, clock, logger, metrics: a.metrics, events, agents, senders, nodeId: settings.nodeId,
    requests: { link_contact: linkContactHandler({ store, clock, logger, events, agents }) },
  });
  a.closers.push(() => queue.stop());
  a.closers.push(() => Promise.resolve(conversations.stop()));
  await conversations.start();
  return conversations;
}

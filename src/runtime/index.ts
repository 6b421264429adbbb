export { Runtime, type RuntimeOptions, type StartLiveRequest } from './runtime.ts';
export { LiveConversation } from './live-conversation.ts';
export type { LiveEvent, LiveSink } from './live-events.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { AsyncConversations, type StartRequest } from './async/service.ts';
export type { AsyncDeps, ChannelSender, InboundMessage, ReplyAddress } from './async/types.ts';
export { LocalEventBus, PostgresEventBus, type ConversationEvent, type EventBus } from './event-bus.ts';
export { chatWebhookSender, smtpEmailSender, twilioSmsSender } from './async/senders.ts';

export { Runtime, type RuntimeOptions, type StartLiveRequest } from './runtime.ts';
export { LiveConversation } from './live-conversation.ts';
export type { LiveEvent, LiveSink } from './live-events.ts';
export { createMetrics, type Metrics } from './metrics.ts';

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The Prometheus metrics of one server instance (a registry per instance, so tests can run several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    liveConversations: new Gauge({
      name: 'operator_live_conversations',
      help: 'Conversations currently running in a worker',
      labelNames: ['channel'],
      registers: [registry],
    }),
    poolIdle: new Gauge({
      name: 'operator_worker_pool_idle',
      help: 'Prewarmed conversation workers ready to be taken',
      registers: [registry],
    }),
    poolWaitSeconds: new Histogram({
      name: 'operator_worker_acquire_seconds',
      help: 'Time to get a worker for a new conversation (near zero when the pool is warm)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    voiceTurnSeconds: new Histogram({
      name: 'operator_voice_turn_seconds',
      help: 'Calls: end of caller speech to first agent audio out (stage total), split by stage (endpointing, sttFinal, modelFirstToken, sentence, ttsFirstAudio, overhead)',
      labelNames: ['agent', 'stage'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    turnFirstDeltaSeconds: new Histogram({
      name: 'operator_turn_first_delta_seconds',
      help: 'User message received to first agent delta sent',
      labelNames: ['agent', 'channel'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    turnDurationSeconds: new Histogram({
      name: 'operator_turn_duration_seconds',
      help: 'User message received to the agent answer complete',
      labelNames: ['agent', 'channel', 'interrupted'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    toolCallSeconds: new Histogram({
      name: 'operator_tool_call_seconds',
      help: 'Tool call latency',
      labelNames: ['agent', 'tool', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    toolCallErrors: new Counter({
      name: 'operator_tool_call_errors_total',
      help: 'Tool calls that returned an error to the model',
      labelNames: ['agent', 'tool'],
      registers: [registry],
    }),
    conversationsEnded: new Counter({
      name: 'operator_conversations_ended_total',
      help: 'Conversations ended, by reason',
      labelNames: ['channel', 'reason'],
      registers: [registry],
    }),
    workerCrashes: new Counter({
      name: 'operator_worker_crashes_total',
      help: 'Conversation workers that crashed or exceeded their resource limits',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

import { defaultVoiceSettings } from '../config/voice-schema.ts';
import type { AgentSpec } from '../core/agent.ts';

/** A complete AgentSpec with the config file's defaults, for tests that build agents in code. */
export function testAgent(overrides: Partial<AgentSpec> = {}): AgentSpec {
  return {
    id: 'support',
    name: 'Acme Support',
    instructions: 'You help Acme customers.',
    model: { provider: 'offline' },
    modelSettings: {},
    tools: [],
    maxSteps: 8,
    turnTimeoutMs: 60_000,
    channelStyle: {},
    async: {
      inactivityTimeoutMs: { sms: 86_400_000, email: 86_400_000, chat: 86_400_000 },
      debounceMs: { sms: 0, email: 0, chat: 0 },
    },
    memory: { recallWindowMs: 14 * 86_400_000, tokenBudget: 1500, verbatimTurns: 6, retentionMs: 365 * 86_400_000 },
    voice: defaultVoiceSettings(),
    ...overrides,
  };
}

import { z } from 'zod';
import { duration } from './duration-schema.ts';
import { voiceSchema } from './voice-schema.ts';

/**
 * The config file's schema. Every key is documented in docs/configuration.md; keep the two in step.
 * Unknown keys are errors (`strict`), so a typo is caught at start instead of silently ignored.
 */

const toolName = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, 'must start with a letter and use only letters, digits, _ and - (max 64)');

const jsonSchemaObject = z
  .record(z.string(), z.unknown())
  .refine((s) => s.type === undefined || s.type === 'object', 'must be a JSON Schema with "type": "object"');

const webhook = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }),
    method: z.enum(['POST', 'PUT']).default('POST'),
    headers: z.record(z.string(), z.string()).default({}),
    secret: z.string().min(16, 'must be at least 16 characters').optional(),
    timeout: duration.optional(),
  })
  .strict();

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');

export const toolSchema = z
  .object({
    name: toolName,
    description: z.string().min(1, 'must describe what the tool does (the model reads it)'),
    parameters: jsonSchemaObject.default({ type: 'object', properties: {} }),
    examples: z.array(z.string()).default([]),
    timeout: duration.optional(),
    webhook: webhook.optional(),
    /** In a `.ts` config: the tool's implementation, run inside the conversation's worker. */
    execute: fn.optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const n = Number(t.webhook !== undefined) + Number(t.execute !== undefined);
    if (n !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs exactly one of "webhook" (an HTTP endpoint) or "execute" (a function, in a .ts config)',
      });
    }
  });

const modelSchema = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('offline') }).strict(),
  z
    .object({
      provider: z.literal('openai'),
      model: z.string().min(1),
      apiKey: z.string().optional(),
      baseUrl: z.url().optional(),
    })
    .strict(),
  z
    .object({
      provider: z.literal('anthropic'),
      model: z.string().min(1),
      apiKey: z.string().optional(),
      baseUrl: z.url().optional(),
    })
    .strict(),
  z
    .object({
      provider: z.literal('openai-compatible'),
      model: z.string().min(1),
      baseUrl: z.url({ error: 'must be the server base URL, e.g. http://127.0.0.1:11434/v1' }),
      apiKey: z.string().optional(),
      name: z.string().optional(),
    })
    .strict(),
  z
    .object({
      provider: z.literal('scripted'),
      steps: z
        .array(
          z
            .object({
              deltas: z.array(z.string()).optional(),
              toolCalls: z
                .array(z.object({ name: z.string(), args: z.record(z.string(), z.unknown()).default({}) }))
                .optional(),
              delayMs: z.number().int().min(0).optional(),
              error: z.string().optional(),
            })
            .strict(),
        )
        .min(1),
      loop: z.boolean().default(false),
    })
    .strict(),
]);

const channelStyle = z
  .object({
    voice: z.string().optional(),
    chat: z.string().optional(),
    sms: z.string().optional(),
    email: z.string().optional(),
  })
  .strict();

const perAsyncChannel = (fallback: number) =>
  z
    .object({ sms: duration.optional(), email: duration.optional(), chat: duration.optional() })
    .strict()
    .default({})
    .transform((v) => ({ sms: v.sms ?? fallback, email: v.email ?? fallback, chat: v.chat ?? fallback }));

const asyncSettings = z
  .object({
    /** An async conversation with no message for this long ends with reason `timeout`. */
    inactivityTimeout: perAsyncChannel(86_400_000),
    /** Messages arriving within this window of each other are answered together. */
    debounce: perAsyncChannel(0),
  })
  .strict()
  // prefault, not default: zod 4 returns a `default` as is, which would skip the transforms above
  // and leave an agent without an `async:` block with no timeouts at all.
  .prefault({});

const DAY_MS = 86_400_000;

/** Customer memory (docs/memory.md). */
const memorySettings = z
  .object({
    /** Conversations ended this recently are recalled when the customer comes back; 0 = memory off. */
    recallWindow: duration.default(14 * DAY_MS),
    /** Size cap of the memory block in the system prompt, in tokens (estimated as characters / 4). */
    tokenBudget: z.number().int().min(0).max(100_000).default(1500),
    /** Messages of the customer's most recent other conversation given verbatim. */
    verbatimTurns: z.number().int().min(0).max(50).default(6),
    /** Ended conversations older than this are purged by the daily retention job; 0 = never. */
    retention: duration.default(365 * DAY_MS),
  })
  .strict()
  .prefault({});

const outboundWebhook = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }),
    secret: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .strict();

/** Names of the built-in tools; an agent's own tool may not take them. */
const BUILTIN_TOOL_NAMES = new Set(['end_conversation', 'transfer_call', 'collect_digits']);

export const agentSchema = z
  .object({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    instructions: z.string().min(1, 'must say what the agent does'),
    greeting: z.string().optional(),
    model: modelSchema.default({ provider: 'offline' }),
    temperature: z.number().min(0).max(2).optional(),
    maxOutputTokens: z.number().int().positive().optional(),
    maxSteps: z.number().int().min(1).max(50).default(8),
    turnTimeout: duration.default(60_000),
    channelStyle: channelStyle.default({}),
    tools: z.array(toolSchema).default([]),
    async: asyncSettings,
    memory: memorySettings,
    /** Async-chat replies and status changes are POSTed here, signed like tool calls. */
    webhook: outboundWebhook.optional(),
    /** Phone calls and browser voice (docs/configuration.md#voice). */
    voice: voiceSchema,
  })
  .strict()
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.tools.forEach((t, i) => {
      if (seen.has(t.name) || BUILTIN_TOOL_NAMES.has(t.name)) {
        ctx.addIssue({ code: 'custom', path: ['tools', i, 'name'], message: `"${t.name}" is already defined` });
      }
      seen.add(t.name);
    });
  });

export const configSchema = z
  .object({
    agents: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'agent ids use a-z, 0-9, _ and -'), agentSchema)
      .refine((a) => Object.keys(a).length > 0, 'must declare at least one agent'),
    channels: z
      .object({
        sms: z
          .array(
            z
              .object({
                number: z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 phone number like +15557654321'),
                agent: z.string(),
              })
              .strict(),
          )
          .default([]),
        /** Incoming calls to these numbers reach these agents (docs/channels.md#phone-calls-twilio). */
        voice: z
          .array(
            z
              .object({
                number: z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 phone number like +15557654321'),
                agent: z.string(),
              })
              .strict(),
          )
          .default([]),
        email: z
          .array(
            z
              .object({
                address: z.email('must be an email address').transform((a) => a.toLowerCase()),
                agent: z.string(),
                /** Display name of replies: "Acme Support" <support@acme.test>. */
                name: z.string().optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({ sms: [], voice: [], email: [] }),
    pool: z
      .object({
        size: z.number().int().min(0).max(512).default(4),
        /**
         * Conversations running in workers at once (the idle pool comes on top). Each worker holds
         * ~140 memory mappings; past vm.max_map_count (65,530 by default) V8 aborts the whole
         * process, so new conversations are refused (`at_capacity`) well before that.
         */
        maxWorkers: z.number().int().min(1).max(4096).default(350),
        maxOldGenerationSizeMb: z.number().int().min(16).max(4096).default(96),
        maxYoungGenerationSizeMb: z.number().int().min(1).max(512).default(16),
        /** Run one scripted voice turn in each new worker before it joins the pool (see runtime/worker/warm-up.ts). */
        warmUp: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        bodyBytes: z.number().int().min(1024).default(1_048_576),
        frameBytes: z.number().int().min(256).default(65_536),
        messageChars: z.number().int().min(1).default(8000),
        rateLimitPerMinute: z.number().int().min(1).default(600),
        sessionsPerIp: z.number().int().min(1).default(200),
      })
      .strict()
      .default({
        bodyBytes: 1_048_576,
        frameBytes: 65_536,
        messageChars: 8000,
        rateLimitPerMinute: 600,
        sessionsPerIp: 200,
      }),
    logging: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        redactPii: z.boolean().default(false),
      })
      .strict()
      .default({ level: 'info', redactPii: false }),
    examples: z
      .object({ enabled: z.boolean().default(false) })
      .strict()
      .default({ enabled: false }),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const kind of ['sms', 'voice', 'email'] as const) {
      const seen = new Set<string>();
      c.channels[kind].forEach((ch, i) => {
        if (!(ch.agent in c.agents)) {
          ctx.addIssue({ code: 'custom', path: ['channels', kind, i, 'agent'], message: `no agent "${ch.agent}" is defined` });
        }
        const key = 'number' in ch ? ch.number : ch.address;
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['channels', kind, i], message: `${key} is listed twice` });
        seen.add(key);
      });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedTool = z.output<typeof toolSchema>;

import { jsonSchema, tool, type ToolSet } from 'ai';
import { testAgent } from '../../src/testing/agent.ts';
import type { LanguageModelV3CallOptions, LanguageModelV3FunctionTool, LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { AgentSpec, ToolSpec } from '../../src/core/agent.ts';

/** A customer-service agent with the kinds of tools the offline model has to tell apart. */
export const TOOLS: ToolSpec[] = [
  {
    kind: 'webhook',
    name: 'get_order_status',
    description: "Looks up the status of the customer's order.",
    parameters: {
      type: 'object',
      properties: { order_id: { type: 'string', pattern: '^[A-Z]\\d{5}$', description: 'Like A12345' } },
      required: ['order_id'],
    },
    examples: ['Where is my order?', 'Has my package shipped yet?', 'track my order'],
    timeoutMs: 5000,
    url: 'https://example.test/orders',
    method: 'POST',
    headers: {},
  },
  {
    kind: 'function',
    name: 'cancelOrder',
    description: 'Cancel an order that has not shipped yet.',
    parameters: {
      type: 'object',
      properties: { orderNumber: { type: 'string' }, email: { type: 'string', format: 'email' } },
      required: ['orderNumber', 'email'],
    },
    examples: ['Cancel my order', 'I want to cancel my purchase'],
    timeoutMs: 5000,
  },
  {
    kind: 'function',
    name: 'book_appointment',
    description: 'Book an appointment at one of our stores.',
    parameters: {
      type: 'object',
      properties: {
        date: { type: 'string', format: 'date' },
        party_size: { type: 'integer' },
        store: { type: 'string', enum: ['downtown', 'airport'] },
      },
      required: ['date', 'party_size'],
    },
    examples: ['I would like to book an appointment', 'Can I schedule a visit to the store?'],
    timeoutMs: 5000,
  },
  {
    kind: 'builtin',
    name: 'transfer_to_human',
    description: 'Transfer the customer to a human agent.',
    parameters: { type: 'object', properties: {} },
    examples: ['Let me talk to a person', 'I want a human'],
    timeoutMs: 5000,
  },
  {
    kind: 'builtin',
    name: 'end_conversation',
    description: 'End the conversation when the customer is done.',
    parameters: { type: 'object', properties: {} },
    examples: [],
    timeoutMs: 5000,
  },
];

export function makeAgent(tools: ToolSpec[] = TOOLS): AgentSpec {
  return testAgent({ tools, maxSteps: 4, turnTimeoutMs: 30_000 });
}

/** The tools as the AI SDK hands them to a model. */
export function callTools(tools: ToolSpec[] = TOOLS): LanguageModelV3FunctionTool[] {
  return tools.map((t) => ({ type: 'function', name: t.name, description: t.description, inputSchema: t.parameters }));
}

/** The tools as `streamText` takes them (no `execute`: calls come back to the test). */
export function sdkTools(tools: ToolSpec[] = TOOLS): ToolSet {
  return Object.fromEntries(
    tools.map((t) => [t.name, tool({ description: t.description, inputSchema: jsonSchema(t.parameters) })]),
  );
}

export function userPrompt(text: string): LanguageModelV3Prompt {
  return [
    { role: 'system', content: 'You help Acme customers.' },
    { role: 'user', content: [{ type: 'text', text }] },
  ];
}

export function callOptions(text: string, extra: Partial<LanguageModelV3CallOptions> = {}): LanguageModelV3CallOptions {
  return { prompt: userPrompt(text), tools: callTools(), ...extra };
}

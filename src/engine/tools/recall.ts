import type { BuiltinToolSpec } from '../../core/agent.ts';
import type { MemoryHit } from '../../core/memory.ts';
import { type ToolOutcome, failure, success } from './outcome.ts';

export const RECALL_HISTORY = 'recall_history';

/** Offered when the conversation has customer memory (a known customer, memory on). */
export function recallHistorySpec(): BuiltinToolSpec {
  return {
    kind: 'builtin',
    name: RECALL_HISTORY,
    description:
      "Search this customer's earlier conversations (all channels, within the recall window) for a detail " +
      'that the summaries in your instructions do not give: an order number, an address, what was agreed. ' +
      'Returns the matching messages, newest and best matches first.',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', description: 'Words to look for, e.g. "refund kettle".' } },
      required: ['query'],
      additionalProperties: false,
    },
    examples: ['what did we talk about last time', 'do you remember what I told you', 'what did I say before', 'as I mentioned earlier'],
    timeoutMs: 5000,
  };
}

/** At most this many hits go back to the model. */
const MAX_HITS = 8;

export async function runRecall(args: Record<string, unknown>, recall: ((query: string) => Promise<MemoryHit[]>) | undefined): Promise<ToolOutcome> {
  if (!recall) return failure('tool_not_implemented', 'there is no customer memory in this conversation');
  const query = typeof args.query === 'string' ? args.query : '';
  const hits = (await recall(query)).slice(0, MAX_HITS);
  return success({
    matches: hits.map((h) => ({
      when: new Date(h.createdAt).toISOString().slice(0, 16) + 'Z',
      channel: h.channel,
      from: h.role === 'user' ? 'customer' : 'agent',
      text: h.text,
    })),
    ...(hits.length === 0 ? { note: 'Nothing in the earlier conversations matches. Ask the customer.' } : {}),
  });
}

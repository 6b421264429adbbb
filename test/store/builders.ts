import type { Conversation, Item } from '../../src/core/conversation.ts';
import { newId } from '../../src/core/ids.ts';

export const T0 = Date.UTC(2026, 0, 1);

export function makeConversation(overrides: Partial<Conversation> = {}): Conversation {
  const at = overrides.createdAt ?? T0;
  return {
    id: newId('conv', at),
    agent: 'support',
    channel: 'chat',
    mode: 'async',
    status: 'active',
    context: {},
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export function makeItem(conversationId: string, overrides: Partial<Item> = {}): Item {
  const at = overrides.createdAt ?? T0;
  return {
    id: newId('itm', at),
    conversationId,
    role: 'user',
    type: 'message',
    text: 'hello',
    interrupted: false,
    createdAt: at,
    ...overrides,
  };
}

/** n conversations one millisecond apart, so their ids sort in creation order. */
export function conversationsInOrder(n: number, overrides: (i: number) => Partial<Conversation> = () => ({})) {
  return Array.from({ length: n }, (_, i) => makeConversation({ createdAt: T0 + i, ...overrides(i) }));
}

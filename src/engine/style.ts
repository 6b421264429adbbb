import type { AgentSpec } from '../core/agent.ts';
import type { Channel } from '../core/conversation.ts';

/** How to write for each channel, unless the agent's `channelStyle` says otherwise. */
export const DEFAULT_CHANNEL_STYLE: Readonly<Record<Channel, string>> = {
  voice:
    'You are speaking with the customer on a phone call; everything you write is read aloud. ' +
    'Use short spoken sentences, one idea at a time. No markdown, lists, emoji or links. ' +
    'Write numbers, dates, times and amounts as words a person would say.',
  chat:
    'You are in a live chat. Be concise and to the point. ' +
    'Markdown is allowed where it helps, such as a short list or bold for a key fact.',
  sms:
    'You are replying by SMS. Plain text only, no markdown. ' +
    'Keep it short: one or two sentences, well under 320 characters.',
  email:
    'You are replying by email. Write a complete answer that needs no follow-up question where possible, ' +
    'formatted in short paragraphs (plain lists are fine), with a greeting and a sign-off.',
};

/** The style instructions for a channel: the agent's own when configured, else the default. */
export function channelStyle(agent: AgentSpec, channel: Channel): string {
  return agent.channelStyle[channel] ?? DEFAULT_CHANNEL_STYLE[channel];
}

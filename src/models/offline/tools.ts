import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import type { AgentSpec } from '../../core/agent.ts';
import { SAVE_CONTACT, SAVE_CONTACT_EXAMPLES } from './contact-phrasing.ts';
import { builtinExamples } from './message-phrasing.ts';
import { contentStems, normalize, words } from './text.ts';

/** The builtin the engine treats as "hang up / close the conversation". */
export const END_CONVERSATION = 'end_conversation';

/** A tool offered in this call, with the examples its agent config gives. */
export interface OfferedTool {
  name: string;
  description: string | undefined;
  inputSchema: Record<string, unknown>;
  examples: string[];
}

/** The tools the call offers (honouring `toolChoice`), joined with the agent's tool specs by name. */
export function offeredTools(options: LanguageModelV3CallOptions, agent: AgentSpec): OfferedTool[] {
  const choice = options.toolChoice;
  if (choice?.type === 'none') return [];
  const specs = new Map(agent.tools.map((t) => [t.name, t]));
  const tools: OfferedTool[] = [];
  for (const tool of options.tools ?? []) {
    if (tool.type !== 'function') continue;
    if (choice?.type === 'tool' && choice.toolName !== tool.name) continue;
    const spec = specs.get(tool.name);
    tools.push({
      name: tool.name,
      description: tool.description ?? spec?.description,
      inputSchema: tool.inputSchema as Record<string, unknown>,
      examples: spec?.examples ?? builtinExamples(tool.name) ?? (tool.name === SAVE_CONTACT ? SAVE_CONTACT_EXAMPLES : []),
    });
  }
  return tools;
}

/**
 * A few customer-service words that mean the same thing, folded to one stem on both sides of the
 * comparison. Kept short on purpose: every entry makes unrelated tools look more alike.
 */
const SYNONYMS: Record<string, string> = {
  person: 'human', agent: 'human', representative: 'human', rep: 'human',
  operator: 'human', someone: 'human', somebody: 'human', staff: 'human', manager: 'human',
  speak: 'talk', chat: 'talk', connect: 'talk',
  parcel: 'package', shipment: 'package',
  reserve: 'book', reservation: 'book', schedule: 'book', appointment: 'book',
};

function stemSet(text: string): Set<string> {
  return new Set(contentStems(text).map((s) => SYNONYMS[s] ?? s));
}

/** Cosine similarity of two word sets. */
function similarity(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let common = 0;
  for (const w of a) if (b.has(w)) common++;
  return common / Math.sqrt(a.size * b.size);
}

/** Below this a tool is not what the customer asked for. */
export const MATCH_THRESHOLD = 0.3;
/** Name and description are weaker evidence than an example written by the agent's author. */
const DESCRIPTION_WEIGHT = 0.8;

export interface ToolMatch {
  tool: OfferedTool;
  score: number;
}

/** How well `message` matches each tool (builtin `end_conversation` excluded), best first. */
export function rankTools(message: string, tools: OfferedTool[]): ToolMatch[] {
  const msg = stemSet(message);
  const matches: ToolMatch[] = [];
  for (const tool of tools) {
    if (tool.name === END_CONVERSATION) continue;
    const name = stemSet(tool.name);
    const description = stemSet(tool.description ?? '');
    let score = DESCRIPTION_WEIGHT * Math.max(similarity(msg, name), similarity(msg, description));
    const all = new Set([...name, ...description]);
    for (const example of tool.examples) {
      const ex = stemSet(example);
      score = Math.max(score, similarity(msg, ex));
      for (const w of ex) all.add(w);
    }
    // Tie-break towards the tool whose vocabulary covers more of the message.
    let covered = 0;
    for (const w of msg) if (all.has(w)) covered++;
    matches.push({ tool, score: score + 0.01 * covered });
  }
  // Stable: equal scores keep the order the tools were offered in.
  return matches.sort((a, b) => b.score - a.score);
}

export function bestTool(message: string, tools: OfferedTool[], threshold = MATCH_THRESHOLD): OfferedTool | undefined {
  const [best] = rankTools(message, tools);
  return best && best.score >= threshold ? best.tool : undefined;
}

const FAREWELL =
  /\b(?:good ?bye|bye(?: bye| now)?|see (?:you|ya)(?: later| soon)?|farewell|thats (?:all|it)|that is (?:all|it)|nothing else|im done|i am done|have a (?:good|nice|great) (?:day|one|night|evening|weekend)|talk (?:to you )?(?:later|soon)|ttyl|take care|hang up)\b/;
const GREETING = /^(?:hi|hello|hey|hiya|howdy|greetings|yo|good (?:morning|afternoon|evening|day))\b/;
const THANKS = /^(?:thanks?|thank you|thx|ty|cheers|great thanks|ok thanks|okay thanks|thanks a lot|many thanks)(?: (?:so much|very much|a lot))?$/;

/** "bye", "that's all", "thanks, bye": short messages that close the conversation. */
export function isFarewell(message: string): boolean {
  const n = normalize(message);
  return words(n).length <= 10 && FAREWELL.test(n);
}

export function isGreeting(message: string): boolean {
  return GREETING.test(normalize(message));
}

export function isThanks(message: string): boolean {
  return THANKS.test(normalize(message).replace(/\s+/g, ' '));
}

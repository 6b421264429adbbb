import type { LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import type { OfferedTool } from './tools.ts';
import { humanize, listPhrase } from './text.ts';

/** Everything the offline model says, as plain sentences built from tool descriptions and data. */

const MAX_DEPTH = 4;
const MAX_ITEMS = 5;
const MAX_STRING = 200;

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/**
 * What a tool does, as a verb phrase that can follow "I can" / "To": the first clause of its
 * description ("Looks up the customer's order" -> "look up your order"), else its name in words.
 */
export function toolPurpose(tool: OfferedTool): string {
  const first = (tool.description ?? '').split(/[.;:\n]|\s[-–—]\s|\s\(/)[0]?.trim() ?? '';
  if (!first || first.length > 80 || /^(?:the|a|an|this|used|use)\b/i.test(first)) return humanize(tool.name);
  const [verb = '', ...rest] = first.split(/\s+/);
  let base = verb;
  if (/(?:ch|sh|ss|x|z)es$/i.test(verb)) base = verb.slice(0, -2);
  else if (/[^su]s$/i.test(verb)) base = verb.slice(0, -1);
  if (!/^[A-Z]{2}/.test(base)) base = base.toLowerCase();
  return [base, ...rest]
    .join(' ')
    .replace(/\b(?:the\s+)?(?:customer|user|caller)'s\b/gi, 'your')
    .replace(/\b(?:the\s+)?(?:customer|user|caller)\b/gi, 'you');
}

/** "look up your order, cancel an order and transfer you to a person". */
export function capabilities(tools: OfferedTool[]): string {
  return listPhrase(tools.map(toolPurpose));
}

export function greeting(agentName: string | undefined, tools: OfferedTool[]): string {
  const who = agentName ? `Hello! This is ${agentName}.` : 'Hello!';
  if (tools.length === 0) return `${who} How can I help you today?`;
  return `${who} I can ${capabilities(tools)}. What would you like to do?`;
}

export function cannotHelp(tools: OfferedTool[]): string {
  const what = tools.length > 0 ? ` What I can do: ${capabilities(tools)}.` : ' No tools are set up for me yet.';
  return (
    "Sorry, I can't help with that. I'm an offline rule-based assistant, not a language model, " +
    `so I only understand requests that match what I can do.${what}`
  );
}

export function goodbye(): string {
  return 'Goodbye, and thank you for getting in touch!';
}

export function welcome(): string {
  return "You're welcome! Is there anything else I can help with?";
}

function argumentPhrase(name: string): string {
  const words = humanize(name);
  return words === 'email' ? 'email address' : words;
}

/** "To look up your order I need the order id and the email address." */
export function askForMissing(tool: OfferedTool, missing: string[]): string {
  return `To ${toolPurpose(tool)} I need ${listPhrase(missing.map((m) => `the ${argumentPhrase(m)}`))}.`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON value as words: `{status:"shipped", eta:"2026-12-03"}` -> `status shipped, eta 2026-12-03`. */
export function describeValue(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') {
    const t = value.trim();
    return t.length > MAX_STRING ? `${t.slice(0, MAX_STRING)}…` : t || 'none';
  }
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) {
    if (value.length === 0) return 'none';
    const records = value.every(isPlainObject);
    const shown = value.slice(0, MAX_ITEMS).map((v) => {
      const text = describeValue(v, depth + 1);
      return !records && (isPlainObject(v) || Array.isArray(v)) ? `(${text})` : text;
    });
    const more = value.length > MAX_ITEMS ? `${value.length - MAX_ITEMS} more` : undefined;
    if (records) return [...shown, ...(more ? [more] : [])].join('; ');
    return listPhrase(more ? [...shown, more] : shown);
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return 'none';
    return entries
      .map(([k, v]) => {
        const text = describeValue(v, depth + 1);
        const nested = (isPlainObject(v) && Object.keys(v).length > 0) || (Array.isArray(v) && v.some(isPlainObject));
        return nested ? `${humanize(k)} (${text})` : `${humanize(k)} ${text}`;
      })
      .join(', ');
  }
  return 'none';
}

/** The failure a JSON result reports, if it reports one: `{error: "..."}`, `{ok: false, message}`. */
function reportedError(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  const { error, errors, ok, success, message } = value;
  const text = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    if (isPlainObject(v)) return text(v.message) ?? describeValue(v);
    if (Array.isArray(v) && v.length > 0) return v.map((e) => text(e) ?? describeValue(e)).join('; ');
    return undefined;
  };
  if (error !== undefined && error !== null && error !== false) return text(error) ?? 'unknown error';
  if (Array.isArray(errors) && errors.length > 0) return text(errors);
  if (ok === false || success === false) return text(message) ?? 'no reason given';
  return undefined;
}

function parseMaybeJson(text: string): unknown {
  const t = text.trim();
  if (!/^[[{"]/.test(t)) return t;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return t;
  }
}

function failed(toolName: string, what: string): string {
  return sentence(`Sorry, the ${humanize(toolName)} tool failed: ${what}`);
}

/** A tool's result as something to tell the customer. */
export function describeToolResult(toolName: string, output: LanguageModelV3ToolResultOutput): string {
  switch (output.type) {
    case 'error-text':
      return failed(toolName, output.value);
    case 'error-json':
      return failed(toolName, reportedError(output.value) ?? describeValue(output.value));
    case 'execution-denied':
      return sentence(`I wasn't allowed to ${humanize(toolName)}${output.reason ? `: ${output.reason}` : ''}`);
    case 'content':
      return describeFound(
        output.value.map((part) => (part.type === 'text' ? part.text : '')).filter(Boolean).join(' '),
        toolName,
      );
    case 'text':
      return describeFound(parseMaybeJson(output.value), toolName);
    case 'json':
      return describeFound(output.value, toolName);
  }
}

/** `{ok: true}` / `{success: true}` and nothing else. */
function isBareSuccess(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => (k === 'ok' || k === 'success') && value[k] === true);
}

function describeFound(value: unknown, toolName: string): string {
  const error = reportedError(value);
  if (error !== undefined) return failed(toolName, error);
  const empty =
    value === null ||
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0) ||
    (isPlainObject(value) && Object.keys(value).length === 0);
  if (empty) return `Done: ${humanize(toolName)} finished with nothing to report.`;
  if (value === true || isBareSuccess(value)) return `Done: ${humanize(toolName)} went through.`;
  if (isPlainObject(value) && (value.found === false || value.ok === false || value.success === false)) {
    const { found: _f, ok: _o, success: _s, ...rest } = value;
    const detail = typeof rest.message === 'string' ? rest.message : describeValue(rest);
    return sentence(`I couldn't find that: ${detail}`);
  }
  if (isPlainObject(value)) {
    // Flags that only say "it worked" add nothing to a spoken or written answer.
    const rest = Object.fromEntries(Object.entries(value).filter(([k, v]) => !(['found', 'ok', 'success'].includes(k) && v === true)));
    if (Object.keys(rest).length > 0) return sentence(`Here is what I found: ${describeValue(rest)}`);
  }
  return sentence(`Here is what I found: ${describeValue(value)}`);
}

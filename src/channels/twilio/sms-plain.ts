import { lexer, type Token, type Tokens } from 'marked';

/**
 * SMS is plain text: the agent's markdown becomes what a person would type. Parsed with `marked`'s
 * lexer rather than regexes so that `snake_case_names`, `a*b*c` maths and URLs with underscores
 * survive. Links become "text (url)", list bullets "- ", headings and emphasis lose their markers.
 */
export interface PlainSmsOptions {
  /**
   * Replace typographic characters (’ “ ” – — … non-breaking space, •) with their GSM-7 look-alikes,
   * as Twilio's "Smart Encoding" does. A single curly apostrophe otherwise turns the whole message
   * into UCS-2: 70 characters per SMS instead of 160. Default true.
   */
  gsmFriendly?: boolean;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z0-9]+);/gi, (m, name: string) => {
    const lower = name.toLowerCase();
    if (Object.hasOwn(ENTITIES, lower)) return ENTITIES[lower]!;
    const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : lower.startsWith('#') ? parseInt(lower.slice(1), 10) : NaN;
    return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

function link(label: string, href: string): string {
  if (!href || label === href || `mailto:${label}` === href || `tel:${label}` === href) return label || href;
  return label ? `${label} (${href})` : href;
}

function inline(tokens: Token[] | undefined): string {
  let out = '';
  for (const t of tokens ?? []) out += inlineToken(t);
  return out;
}

function inlineToken(t: Token): string {
  switch (t.type) {
    case 'text':
      return 'tokens' in t && t.tokens ? inline(t.tokens) : decodeEntities((t as Tokens.Text).text);
    case 'escape':
    case 'codespan':
      return (t as Tokens.Escape | Tokens.Codespan).text;
    case 'strong':
    case 'em':
    case 'del':
      return inline((t as Tokens.Strong).tokens);
    case 'link':
      return link(inline((t as Tokens.Link).tokens), (t as Tokens.Link).href);
    case 'image':
      return link((t as Tokens.Image).text, (t as Tokens.Image).href);
    case 'br':
      return '\n';
    case 'checkbox':
      return (t as Tokens.Checkbox).checked ? '[x] ' : '[ ] ';
    case 'html':
    case 'tag':
      return '';
    default:
      return 'text' in t && typeof t.text === 'string' ? decodeEntities(t.text) : '';
  }
}

function indent(text: string, by: string): string {
  return text.replace(/\n(?=.)/g, `\n${by}`);
}

function list(t: Tokens.List): string {
  const start = typeof t.start === 'number' ? t.start : 1;
  return t.items
    .map((item, i) => {
      const marker = t.ordered ? `${start + i}. ` : '- ';
      const body = blocks(item.tokens, '\n');
      return marker + indent(body, ' '.repeat(marker.length));
    })
    .join('\n');
}

function table(t: Tokens.Table): string {
  const row = (cells: Tokens.TableCell[]): string => cells.map((c) => inline(c.tokens)).join(' | ');
  return [row(t.header), ...t.rows.map(row)].join('\n');
}

function block(t: Token): string {
  switch (t.type) {
    case 'heading':
    case 'paragraph':
      return inline((t as Tokens.Heading).tokens);
    case 'text':
      return inlineToken(t);
    case 'list':
      return list(t as Tokens.List);
    case 'blockquote':
      return blocks((t as Tokens.Blockquote).tokens, '\n\n');
    case 'code':
      return (t as Tokens.Code).text;
    case 'table':
      return table(t as Tokens.Table);
    case 'html':
      return decodeEntities((t as Tokens.HTML).text.replace(/<[^>]*>/g, '')).trim();
    case 'space':
    case 'hr':
    case 'def':
      return '';
    default:
      return inlineToken(t);
  }
}

function blocks(tokens: Token[], joiner: string): string {
  let out = '';
  let pendingCheckbox = '';
  for (const t of tokens) {
    // Task-list items carry their checkbox as a sibling token of the item's text.
    if (t.type === 'checkbox') {
      pendingCheckbox = inlineToken(t);
      continue;
    }
    const text = block(t);
    if (!text) continue;
    out += (out ? joiner : '') + pendingCheckbox + text;
    pendingCheckbox = '';
  }
  return out;
}

const GSM_LOOKALIKES: [RegExp, string][] = [
  [/[‘’‚‛′]/g, "'"],
  [/[“”„‟″]/g, '"'],
  [/[‐‑‒–—―−]/g, '-'],
  [/…/g, '...'],
  [/[\u00a0\u2002-\u200a\u202f]/g, ' '],
  [/[\u200b\u2060\ufeff]/g, ''],
  [/•/g, '-'],
];

/** Typographic characters → GSM-7 look-alikes, so the message stays in the cheaper alphabet. */
export function toGsmFriendly(text: string): string {
  return GSM_LOOKALIKES.reduce((s, [re, to]) => s.replace(re, to), text);
}

/** The agent's markdown as plain SMS text. */
export function toPlainSms(markdown: string, options: PlainSmsOptions = {}): string {
  const text = blocks(lexer(markdown), '\n\n')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return options.gsmFriendly === false ? text : toGsmFriendly(text);
}

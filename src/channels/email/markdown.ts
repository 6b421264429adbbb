import { Lexer, Marked, type Token, type Tokens } from 'marked';
import { decodeEntities } from './html-text.ts';

/**
 * The agent's markdown → the two parts of an email. The HTML part is rendered by marked with every
 * piece of raw HTML escaped (the text comes from a model, which can be talked into writing
 * `<script>`), links limited to http(s), mailto and tel, and styles inline (mail clients drop
 * `<style>`). The plain part is written from the same tokens, readable as is.
 */

const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:', 'tel:']);

export function escapeHtml(text: string): string {
  return text.replace(/&(?!#?\w+;)/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** An absolute URL with a scheme a mail client may open, or undefined. Relative URLs mean nothing in mail. */
export function safeHref(href: string): string | undefined {
  try {
    const url = new URL(href.trim());
    return SAFE_SCHEMES.has(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const STYLE = {
  body: 'margin:0;padding:16px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1f2328;',
  link: 'color:#0969da;',
  blockquote: 'margin:0 0 1em;padding:0 0 0 12px;border-left:3px solid #d0d7de;color:#57606a;',
  pre: 'margin:0 0 1em;padding:12px;background:#f6f8fa;border-radius:6px;overflow:auto;font-size:13px;',
  code: 'font-family:SFMono-Regular,Consolas,Menlo,monospace;background:#f6f8fa;padding:1px 4px;border-radius:4px;font-size:13px;',
  table: 'border-collapse:collapse;margin:0 0 1em;',
  cell: 'border:1px solid #d0d7de;padding:4px 8px;text-align:left;',
};

const html = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html(token) {
      const escaped = escapeHtml(token.text);
      return 'block' in token && token.block ? `<p>${escaped.trim()}</p>\n` : escaped;
    },
    text(token) {
      if ('tokens' in token && token.tokens) return this.parser.parseInline(token.tokens);
      return escapeHtml(token.text);
    },
    link({ href, tokens }) {
      const inner = this.parser.parseInline(tokens);
      const safe = safeHref(href);
      return safe ? `<a href="${escapeHtml(safe)}" style="${STYLE.link}">${inner}</a>` : inner;
    },
    image({ href, text }) {
      const safe = safeHref(href);
      return safe && /^https?:/.test(safe) ? `<img src="${escapeHtml(safe)}" alt="${escapeHtml(text)}" style="max-width:100%;">` : escapeHtml(text);
    },
    blockquote({ tokens }) {
      return `<blockquote style="${STYLE.blockquote}">${this.parser.parse(tokens)}</blockquote>\n`;
    },
    code({ text }) {
      return `<pre style="${STYLE.pre}"><code style="font-family:SFMono-Regular,Consolas,Menlo,monospace;">${escapeHtml(text)}</code></pre>\n`;
    },
    codespan({ text }) {
      return `<code style="${STYLE.code}">${escapeHtml(decodeEntities(text))}</code>`;
    },
    table(token) {
      const cell = (c: Tokens.TableCell, tag: string): string => `<${tag} style="${STYLE.cell}">${this.parser.parseInline(c.tokens)}</${tag}>`;
      const head = `<tr>${token.header.map((c) => cell(c, 'th')).join('')}</tr>`;
      const rows = token.rows.map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`).join('');
      return `<table style="${STYLE.table}"><thead>${head}</thead><tbody>${rows}</tbody></table>\n`;
    },
  },
});

/** The HTML part: rendered markdown in a minimal inline-styled document. */
export function markdownToHtml(markdown: string): string {
  const body = html.parse(markdown, { async: false });
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"></head>',
    `<body style="${STYLE.body}"><div style="max-width:680px;">`,
    body.trim(),
    '</div></body></html>',
    '',
  ].join('\n');
}

function inline(tokens: readonly Token[] | undefined): string {
  return (tokens ?? []).map(inlineToken).join('');
}

function inlineToken(t: Token): string {
  switch (t.type) {
    case 'text':
      return 'tokens' in t && t.tokens ? inline(t.tokens) : decodeEntities(String(t.text));
    case 'escape':
    case 'html':
      return String(t.text);
    case 'codespan':
      return decodeEntities(String(t.text));
    case 'br':
      return '\n';
    case 'link': {
      const link = t as Tokens.Link;
      const text = inline(link.tokens);
      const target = link.href.replace(/^mailto:/i, '');
      return text === target || text === link.href ? text : `${text} (${link.href})`;
    }
    case 'image': {
      const image = t as Tokens.Image;
      return image.text ? `[${image.text}]` : '';
    }
    default:
      return 'tokens' in t && t.tokens ? inline(t.tokens) : String((t as { text?: string }).text ?? '');
  }
}

function indent(text: string, prefix: string, first: string = prefix): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? first : line === '' ? prefix.trimEnd() : prefix) + line)
    .join('\n');
}

function block(t: Token): string | undefined {
  switch (t.type) {
    case 'space':
    case 'def':
      return undefined;
    case 'heading':
    case 'paragraph':
      return inline((t as Tokens.Paragraph).tokens);
    case 'code':
      return indent((t as Tokens.Code).text, '    ');
    case 'blockquote':
      return indent(blocks((t as Tokens.Blockquote).tokens), '> ');
    case 'hr':
      return '----------';
    case 'list': {
      const list = t as Tokens.List;
      const start = typeof list.start === 'number' ? list.start : 1;
      return list.items
        .map((item, i) => {
          const marker = list.ordered ? `${start + i}. ` : '- ';
          const body = (item.task ? (item.checked ? '[x] ' : '[ ] ') : '') + blocks(item.tokens, item.loose ? '\n\n' : '\n');
          return indent(body, ' '.repeat(marker.length), marker);
        })
        .join(list.loose ? '\n\n' : '\n');
    }
    case 'table': {
      const table = t as Tokens.Table;
      const row = (cells: Tokens.TableCell[]): string => cells.map((c) => inline(c.tokens)).join(' | ');
      return [row(table.header), ...table.rows.map(row)].join('\n');
    }
    case 'text':
      return inlineToken(t);
    default:
      return inlineToken(t);
  }
}

function blocks(tokens: readonly Token[], separator: string = '\n\n'): string {
  return tokens
    .map(block)
    .filter((s): s is string => s !== undefined && s !== '')
    .join(separator);
}

/** The plain part: markdown flattened to text that reads well without rendering. */
export function markdownToText(markdown: string): string {
  const tokens = new Lexer({ gfm: true, breaks: true }).lex(markdown);
  return `${blocks(tokens).replace(/[ \t]+$/gm, '').trim()}\n`;
}

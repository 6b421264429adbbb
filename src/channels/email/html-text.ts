/**
 * HTML mail body → plain text, for messages that have no text/plain part. Deliberately small:
 * quoted history (`<blockquote>`) and invisible parts (`<head>`, `<style>`, `<script>`) are
 * dropped, block elements become line breaks, a link keeps its address when it differs from its
 * text. One linear pass over the tags; no DOM, so no pathological nesting costs.
 */

const SKIPPED = new Set(['head', 'style', 'script', 'title', 'blockquote', 'template', 'noscript']);
/** Block elements: a paragraph-like one leaves a blank line around it, the others a line break. */
const PARAGRAPH = new Set(['p', 'ul', 'ol', 'table', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'hr']);
const BLOCK = new Set(['div', 'tr', 'li', 'section', 'article', 'header', 'footer', 'center', 'dl', 'dt', 'dd']);

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
  copy: '©',
  reg: '®',
  euro: '€',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3] ?? '') : undefined;
}

/** Collapses HTML whitespace the way a browser does, outside `<pre>`. */
function collapse(text: string): string {
  return text.replace(/[ \t\r\n\f]+/g, ' ');
}

/** Ends `text` with at least `count` line breaks (trailing spaces ignored). */
function breakLines(text: string, count: number): string {
  const trimmed = text.replace(/ +$/, '');
  if (trimmed === '') return trimmed;
  const have = /\n*$/.exec(trimmed)?.[0].length ?? 0;
  return have >= count ? trimmed : trimmed + '\n'.repeat(count - have);
}

export function htmlToText(html: string): string {
  const source = html.replace(/<!--[\s\S]*?-->/g, '');
  const tagPattern = /<\/?([a-zA-Z][\w:-]*)[^>]*>/g;
  const skipping: string[] = [];
  let out = '';
  let pre = 0;
  let link: { href: string; start: number } | undefined;
  let last = 0;
  for (let m = tagPattern.exec(source); m; m = tagPattern.exec(source)) {
    if (skipping.length === 0) {
      const chunk = decodeEntities(source.slice(last, m.index));
      // Inside <pre>, spaces are kept as U+00A0 through the trimming below.
      out += pre > 0 ? chunk.replace(/ /g, '\u00a0') : collapse(chunk);
    }
    last = tagPattern.lastIndex;
    const tag = m[0];
    const name = (m[1] ?? '').toLowerCase();
    const closing = tag.startsWith('</');
    if (SKIPPED.has(name)) {
      if (!closing && !tag.endsWith('/>')) skipping.push(name);
      else if (closing) {
        const at = skipping.lastIndexOf(name);
        if (at >= 0) skipping.length = at;
      }
      continue;
    }
    if (skipping.length > 0) continue;
    if (name === 'br') out = out.replace(/ +$/, '') + '\n';
    else if (PARAGRAPH.has(name)) out = breakLines(out, 2);
    else if (BLOCK.has(name)) out = breakLines(out, 1);
    else if (name === 'td' || name === 'th') out += closing ? ' ' : '';
    if (name === 'li' && !closing) out += '- ';
    else if (name === 'pre') pre += closing ? -1 : 1;
    else if (name === 'a' && !closing) link = { href: attribute(tag, 'href') ?? '', start: out.length };
    else if (name === 'a' && closing && link) {
      const text = out.slice(link.start).trim();
      if (/^https?:/i.test(link.href) && text && text !== link.href) out += ` (${link.href})`;
      link = undefined;
    }
  }
  if (skipping.length === 0) out += collapse(decodeEntities(source.slice(last)));
  return out
    .split('\n')
    .map((line) => line.replace(/^ +| +$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
    .replace(/\u00a0/g, ' ');
}

/**
 * HTML mail body → plain text, for messages that have no text/plain part. Deliberately small:
 * quoted history (`<blockquote>`) and invisible parts (`<head>`, `<style>`, `<script>`) are
 * dropped, block elements become line breaks, a link keeps its address when it differs from its
 * text. One linear pass with no DOM and no backtracking over the input: a hostile body (a
 * thousand nested quotes, an unclosed tag or comment) costs time in proportion to its size.
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
  if (tag.length > 4096) return undefined;
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3] ?? '') : undefined;
}

/** Collapses HTML whitespace the way a browser does, outside `<pre>`. */
function collapse(text: string): string {
  return text.replace(/[ \t\r\n\f]+/g, ' ');
}

/** The text written so far, with the count of line breaks it ends with (trailing spaces ignored). */
class TextOut {
  private readonly parts: string[] = [];
  private newlines = 0;
  private started = false;

  get mark(): number {
    return this.parts.length;
  }

  write(text: string): void {
    if (text === '') return;
    this.parts.push(text);
    let i = text.length - 1;
    let breaks = 0;
    for (; i >= 0 && (text[i] === ' ' || text[i] === '\n'); i--) if (text[i] === '\n') breaks++;
    if (i < 0) this.newlines += breaks;
    else {
      this.newlines = breaks;
      this.started = true;
    }
  }

  /** Ends the text with at least `count` line breaks, unless nothing has been written yet. */
  breakLines(count: number): void {
    if (this.started && this.newlines < count) this.write('\n'.repeat(count - this.newlines));
  }

  since(mark: number): string {
    return this.parts.slice(mark).join('');
  }

  toString(): string {
    return this.parts.join('');
  }
}

const TAG_START = /^<(\/?)([a-zA-Z][\w:-]*)/;

class Converter {
  readonly out = new TextOut();
  private readonly skipping = new Map<string, number>();
  private skipDepth = 0;
  private pre = 0;
  private link: { href: string; mark: number } | undefined;

  text(raw: string): void {
    if (this.skipDepth > 0 || raw === '') return;
    const decoded = decodeEntities(raw);
    // Inside <pre>, spaces are kept as U+00A0 through the trimming at the end.
    this.out.write(this.pre > 0 ? decoded.replace(/ /g, '\u00a0') : collapse(decoded));
  }

  tag(name: string, closing: boolean, tag: string): void {
    if (SKIPPED.has(name)) return this.skip(name, closing, tag);
    if (this.skipDepth > 0) return;
    if (name === 'br') this.out.write('\n');
    else if (PARAGRAPH.has(name)) this.out.breakLines(2);
    else if (BLOCK.has(name)) this.out.breakLines(1);
    else if ((name === 'td' || name === 'th') && closing) this.out.write(' ');
    if (name === 'li' && !closing) this.out.write('- ');
    else if (name === 'pre') this.pre = Math.max(0, this.pre + (closing ? -1 : 1));
    else if (name === 'a' && !closing) this.link = { href: attribute(tag, 'href') ?? '', mark: this.out.mark };
    else if (name === 'a' && closing && this.link) {
      const text = this.out.since(this.link.mark).trim();
      if (/^https?:/i.test(this.link.href) && text && text !== this.link.href) this.out.write(` (${this.link.href})`);
      this.link = undefined;
    }
  }

  private skip(name: string, closing: boolean, tag: string): void {
    const depth = this.skipping.get(name) ?? 0;
    if (!closing && !tag.endsWith('/>')) {
      this.skipping.set(name, depth + 1);
      this.skipDepth++;
    } else if (closing && depth > 0) {
      this.skipping.set(name, depth - 1);
      this.skipDepth--;
    }
  }
}

export function htmlToText(html: string): string {
  const c = new Converter();
  let pos = 0;
  let gt = -1; // the next '>' at or after the current tag: found once, so unclosed '<'s stay linear
  while (pos < html.length) {
    const lt = html.indexOf('<', pos);
    if (lt < 0) break;
    if (html.startsWith('<!--', lt)) {
      c.text(html.slice(pos, lt));
      const end = html.indexOf('-->', lt + 4);
      pos = end < 0 ? html.length : end + 3; // an unclosed comment runs to the end, as in a browser
      continue;
    }
    const m = TAG_START.exec(html.slice(lt, lt + 64));
    if (gt < lt) {
      gt = html.indexOf('>', lt);
      if (gt < 0) gt = html.length; // none left: every later '<' is text
    }
    if (!m || gt === html.length) {
      c.text(html.slice(pos, lt + 1));
      pos = lt + 1;
      continue;
    }
    c.text(html.slice(pos, lt));
    c.tag(m[2]!.toLowerCase(), m[1] === '/', html.slice(lt, gt + 1));
    pos = gt + 1;
  }
  c.text(html.slice(pos));
  return c.out
    .toString()
    .split('\n')
    .map((line) => line.replace(/^ +| +$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
    .replace(/\u00a0/g, ' ');
}

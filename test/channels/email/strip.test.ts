import { describe, expect, it } from 'vitest';
import { htmlToText } from '../../../src/channels/email/html-text.ts';
import { stripQuotedText } from '../../../src/channels/email/strip.ts';
import { SAMPLES } from './strip-samples.ts';

describe('stripQuotedText', () => {
  it.each(SAMPLES)('$name', ({ body, expected }) => {
    expect(stripQuotedText(body)).toBe(expected);
  });

  it('is idempotent on its own output', () => {
    for (const { body } of SAMPLES) {
      const once = stripQuotedText(body);
      expect(stripQuotedText(once)).toBe(once);
    }
  });

  it('handles empty and whitespace-only bodies', () => {
    expect(stripQuotedText('')).toBe('');
    expect(stripQuotedText(' \r\n\t\n')).toBe('');
  });

  it('treats non-breaking spaces as spaces', () => {
    expect(stripQuotedText('Yes\u00a0please\n\nOn\u00a0Mon, Jan 6, 2025 at 10:14\u00a0AM Acme <a@b.c> wrote:\n> q')).toBe('Yes please');
  });
});

describe('htmlToText', () => {
  it('drops the Gmail blockquote, leaving its attribution for the stripper', () => {
    const html =
      '<div dir="ltr">Yes, A12345.<div><br></div><div>Thanks!</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jan 6, 2025 at 10:14 AM Acme Support &lt;<a href="mailto:support@acme.test">support@acme.test</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex"><div dir="ltr">Could you send us your order number?</div></blockquote></div>';
    const text = htmlToText(html);
    expect(text).not.toContain('Could you send');
    expect(stripQuotedText(text)).toBe('Yes, A12345.\n\nThanks!');
  });

  it('drops nested blockquotes (Apple Mail type=cite) entirely', () => {
    const html =
      '<html><body><div>Refund please</div><div><br><blockquote type="cite">On Jan 6, 2025 wrote:<br><blockquote type="cite">older</blockquote>still quoted</blockquote></div>after</body></html>';
    expect(htmlToText(html)).toBe('Refund please\n\nafter');
  });

  it('ignores head, style and script and decodes entities', () => {
    const html = '<html><head><title>x</title><style>p{color:red}</style></head><body><script>alert(1)</script><p>Fish &amp; chips&nbsp;&#8364;5 &#x263A;</p></body></html>';
    expect(htmlToText(html)).toBe('Fish & chips €5 ☺');
  });

  it('keeps line breaks, paragraphs and list items, and collapses source whitespace', () => {
    const html = '<p>Line one<br>Line   two\n  continues</p><ul><li>first</li><li>second</li></ul><p>End</p>';
    expect(htmlToText(html)).toBe('Line one\nLine two continues\n\n- first\n- second\n\nEnd');
  });

  it('keeps a link target that differs from its text', () => {
    expect(htmlToText('<p>See <a href="https://shop.example/o/1">my order</a> and <a href="https://x.example">https://x.example</a></p>')).toBe(
      'See my order (https://shop.example/o/1) and https://x.example',
    );
  });

  it('turns Outlook web\'s reply header into lines the stripper recognises', () => {
    const html =
      '<div>Works for me.</div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Acme Support &lt;support@acme.test&gt;<br><b>Sent:</b> Monday, January 6, 2025 10:14 AM<br><b>To:</b> Tom<br><b>Subject:</b> Appointment</font><div>&nbsp;</div></div><div>Does Thursday suit you?</div>';
    expect(stripQuotedText(htmlToText(html))).toBe('Works for me.');
  });

  it('keeps preformatted whitespace', () => {
    expect(htmlToText('<pre>a  b\n  c</pre>')).toBe('a  b\n  c');
  });

  // A quadratic pass took over a minute on the first of these; the test timeout is the bound.
  it('stays linear on hostile bodies of a megabyte', () => {
    const nested = '<blockquote>'.repeat(20_000) + 'hidden' + '</blockquote>'.repeat(20_000) + '<p>shown</p>'.repeat(50_000);
    expect(htmlToText(nested).startsWith('shown\n\nshown')).toBe(true);
    expect(htmlToText('<a'.repeat(500_000))).toHaveLength(1_000_000);
    expect(htmlToText('x<!--'.repeat(200_000))).toBe('x');
    expect(htmlToText('1 < 2 '.repeat(200_000)).startsWith('1 < 2 1 < 2')).toBe(true);
    expect(stripQuotedText(`On ${'a '.repeat(500_000)}wrote:`)).toContain('a a a');
  });
});

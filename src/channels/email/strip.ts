/**
 * Finds the customer's new text in a reply: quoted history and signatures are cut. Pure, and
 * conservative where it has to guess: text that might be the customer's is kept.
 *
 * The order matters:
 * 1. History that is not `>`-quoted (Outlook's header block, "-----Original Message-----", an
 *    attribution line such as "On … wrote:" followed by plain text) ends the new text.
 * 2. `>`-quoted blocks (with the attribution line just above them) are removed when they lead or
 *    trail the message. A quoted block *between* two pieces of new text is an inline reply: the
 *    customer answers it line by line, so it stays for the answers to make sense.
 * 3. The first "-- " signature delimiter (RFC 3676 §4.3) and mobile sign-offs ("Sent from my
 *    iPhone") end the new text.
 * Forwarded messages ("---------- Forwarded message ---------") are content, not history: kept.
 */

/** An attribution line must carry a time, a year or an address, so "On 3 occasions I wrote:" is text. */
const ATTRIBUTION_EVIDENCE = /\d{1,2}[:.h]\d{2}|\b\d{4}\b|@/;

/** Attribution lines in the languages mail clients localise them to, matched on the joined lines. */
const ATTRIBUTIONS: RegExp[] = [
  /^On\b.{0,240}\bwrote:$/i, // Gmail, Apple Mail, Thunderbird, Outlook for Mac
  /^Le\b.{0,240}\ba écrit ?:$/i, // French
  /^Am\b.{0,240}\bschrieb\b.{0,160}:$/i, // German: "Am … schrieb Max <max@x.de>:"
  /^.{0,240}\bschrieb\b.{0,160}:$/i, // German, Thunderbird: "Max Muster schrieb am 01.02.2024:"
  /^El\b.{0,240}\bescribió:$/i, // Spanish
  /^Il\b.{0,240}\bha scritto:$/i, // Italian
  /^Op\b.{0,240}\bschreef\b.{0,160}:$/i, // Dutch
  /^(Em|Às)\b.{0,240}\bescreveu:$/i, // Portuguese
  /^.{0,240}\bskrev\b.{0,160}:$/i, // Danish, Norwegian, Swedish
  /^.{0,240}\bkirjoitti:$/i, // Finnish
  /^.{0,240}\bnapisał(?:\(a\))?:$/i, // Polish
  /^.{0,240}(?:написал(?:\(а\))?|пишет):$/i, // Russian
  /^.{0,240}写道[:：]$/, // Chinese
];

/** Outlook's separators above the header block of the message replied to. */
const ORIGINAL_MESSAGE = /^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Mensagem original|Originalmeddelande)\s*-{2,}$/i;
const FORWARD_MARKER = /^(-{2,}\s*(Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado)\s*-{2,}|Begin forwarded message:)$/i;
const SEPARATOR = /^(_{8,}|-{8,})$/;

const HEADER_FROM = /^\*?(From|De|Von|Van|Da|Från|Fra|Od|От)\s?:\*?\s*\S/i;
const HEADER_SENT = /^\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Verzonden|Inviato|Data|Skickat|Sendt|Wysłano|Отправлено)\s?:\*?/i;
const HEADER_SUBJECT = /^\*?(Subject|Betreff|Objet|Asunto|Onderwerp|Oggetto|Assunto|Ämne|Emne|Temat|Тема)\s?:\*?/i;

const SIGNATURE_DELIMITER = /^-- ?$/;
const MOBILE_SIGN_OFF = new RegExp(
  '^(' +
    [
      'Sent from my \\S+( \\S+){0,3}',
      'Sent from (Outlook|Mail|Yahoo Mail|Gmail|Samsung Mobile|ProtonMail|Proton Mail)( for \\S+)?( on \\S+)?',
      'Sent from Mail for Windows( 10| 11)?',
      'Sent via \\S+( \\S+){0,3}',
      'Get Outlook for (iOS|Android)',
      'Envoyé de mon \\S+( \\S+){0,2}',
      'Von meinem \\S+( \\S+){0,2} gesendet',
      'Enviado desde mi \\S+( \\S+){0,2}',
      'Inviato da(l mio)? \\S+( \\S+){0,2}',
      'Verzonden vanaf mijn \\S+( \\S+){0,2}',
      'Verstuurd vanaf mijn \\S+( \\S+){0,2}',
      'Enviado do meu \\S+( \\S+){0,2}',
    ].join('|') +
    ')\\.?$',
  'i',
);

const isQuoted = (line: string): boolean => /^\s*>/.test(line);
const isBlank = (line: string): boolean => line.trim() === '';

/** Whether lines `from…to` (inclusive) joined read as an attribution line. */
function attributionAt(lines: string[], from: number, to: number): boolean {
  const joined = lines
    .slice(from, to + 1)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!ATTRIBUTION_EVIDENCE.test(joined)) return false;
  return ATTRIBUTIONS.some((re) => re.test(joined));
}

/** The number of lines (1–3) of an attribution starting at `i`, or 0. Wrapped ones span lines. */
function attributionLength(lines: string[], i: number): number {
  for (let n = 1; n <= 3 && i + n <= lines.length; n++) {
    const part = lines[i + n - 1]!;
    if (isBlank(part) || isQuoted(part)) return 0;
    if (attributionAt(lines, i, i + n - 1)) return n;
  }
  return 0;
}

function nextNonBlank(lines: string[], from: number): number {
  let i = from;
  while (i < lines.length && isBlank(lines[i]!)) i++;
  return i;
}

function previousNonBlank(lines: string[], from: number): number {
  let i = from;
  while (i >= 0 && isBlank(lines[i]!)) i--;
  return i;
}

/** Outlook's "From: / Sent: / To: / Subject:" block of the message replied to, starting at `i`. */
function isHeaderBlock(lines: string[], i: number): boolean {
  if (!HEADER_FROM.test(lines[i]!)) return false;
  const window = lines.slice(i + 1, i + 8).map((l) => l.trim());
  return window.some((l) => HEADER_SENT.test(l)) && window.some((l) => HEADER_SUBJECT.test(l));
}

/** Where unquoted history begins (step 1), or `lines.length`. */
function historyStart(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (isQuoted(line) || line === '') continue;
    if (ORIGINAL_MESSAGE.test(line)) return i;
    if (isHeaderBlock(lines, i)) {
      const before = previousNonBlank(lines, i - 1);
      if (before >= 0 && FORWARD_MARKER.test(lines[before]!.trim())) continue;
      return before >= 0 && SEPARATOR.test(lines[before]!.trim()) ? before : i;
    }
    const n = attributionLength(lines, i);
    if (n > 0) {
      const next = nextNonBlank(lines, i + n);
      if (next >= lines.length || !isQuoted(lines[next]!)) return i;
      i += n - 1;
    }
  }
  return lines.length;
}

interface Block {
  quoted: boolean;
  lines: string[];
}

/** Groups lines into runs of quoted and unquoted text; an attribution joins the quote below it. */
function blocks(lines: string[]): Block[] {
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const n = attributionLength(lines, i);
    const next = n > 0 ? nextNonBlank(lines, i + n) : -1;
    const quoted = isQuoted(lines[i]!) || (n > 0 && next < lines.length && isQuoted(lines[next]!));
    const take = quoted && n > 0 ? next - i : 1;
    // The attribution goes with its quote; where a quote is kept (inline reply) it is noise.
    const chunk = lines.slice(quoted ? i + n : i, i + take);
    i += take - 1;
    if (chunk.length === 0) continue;
    const lastBlock = out.at(-1);
    const blank = chunk.every(isBlank);
    if (lastBlock && (lastBlock.quoted === quoted || (blank && lastBlock.quoted))) lastBlock.lines.push(...chunk);
    else out.push({ quoted, lines: chunk });
  }
  return out;
}

/** Step 2: drop leading and trailing quoted blocks, keep the ones between new text. */
function dropOuterQuotes(lines: string[]): string[] {
  const all = blocks(lines);
  const hasText = (b: Block): boolean => !b.quoted && b.lines.some((l) => !isBlank(l));
  const first = all.findIndex(hasText);
  if (first < 0) return [];
  const last = all.findLastIndex(hasText);
  return all.slice(first, last + 1).flatMap((b) => b.lines);
}

/** Step 3: the signature delimiter and mobile sign-offs end the new text. */
function dropSignature(lines: string[]): string[] {
  const end = lines.findIndex((line) => {
    if (isQuoted(line)) return false;
    return SIGNATURE_DELIMITER.test(line) || MOBILE_SIGN_OFF.test(line.trim());
  });
  return end < 0 ? lines : lines.slice(0, end);
}

/** The customer's new text of a plain-text email body. */
export function stripQuotedText(text: string): string {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .replace(/\u00a0/g, ' ')
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/, ''));
  const fresh = lines.slice(0, historyStart(lines));
  // Outer quotes again after the signature is cut: a quote above a bottom signature trails then.
  const kept = dropOuterQuotes(dropSignature(dropOuterQuotes(fresh)));
  return kept
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

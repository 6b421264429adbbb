/**
 * Word handling for the offline model: normalising, stop words, a light stemmer, and turning
 * identifiers (`get_order_status`, `orderId`) into plain words.
 */

const STOP_WORDS = new Set(
  (
    'a an the and or but if of to in on at by for with from into about as is are was were be been being ' +
    'am do does did have has had i me my mine we our us you your yours he she it its they them their ' +
    'this that these those there here what which who whom whose when where why how can could would ' +
    'should will shall may might must please pls plz just so very really also too some any all ' +
    'want wanna need like would get got let know tell give help hi hello hey thanks thank ' +
    'okay ok yes no not dont im ive id its thats whats hows theres cant wont ' +
    'up out over again now then than one'
  ).split(' '),
);

/** Lower case, apostrophes dropped (`don't` -> `dont`), everything else that is not a letter or digit a space. */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/['’`]/g, '')
    .replace(/[^a-z0-9@.+-]+/g, ' ')
    .replace(/(^|\s)[.+-]+|[.+-]+(?=\s|$)/g, ' ')
    .trim();
}

/** Plain words of a text, lower case, in order. */
export function words(text: string): string[] {
  const n = normalize(text);
  return n ? n.split(' ') : [];
}

/**
 * A deliberately light suffix stripper: enough that "orders"/"ordered"/"ordering" meet "order"
 * and "shipped"/"shipping" meet "ship", without a dictionary.
 */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ing') && w.length > 5) w = w.slice(0, -3);
  else if (w.endsWith('ed') && w.length > 4) w = w.slice(0, -2);
  else if (w.endsWith('es') && /(?:ch|sh|x|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  else if (w.endsWith('ly') && w.length > 5) w = w.slice(0, -2);
  // Undouble a final consonant ("shipp" -> "ship", "cancell" -> "cancel"), applied to every word
  // so that stemmed and unstemmed forms agree.
  const last = w.charAt(w.length - 1);
  if (w.length > 3 && last === w.charAt(w.length - 2) && /[bcdghjkmnpqrtvwx]/.test(last)) {
    w = w.slice(0, -1);
  } else if (w.length > 5 && w.endsWith('ll')) {
    w = w.slice(0, -1);
  }
  return w;
}

export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

/** Stems of the content words of a text: stop words, numbers and tokens with digits left out. */
export function contentStems(text: string): string[] {
  const out: string[] = [];
  for (const w of words(identifierWords(text))) {
    if (w.length < 2 || isStopWord(w) || /\d/.test(w) || w.includes('@')) continue;
    out.push(stem(w));
  }
  return out;
}

/** `get_order_status` / `getOrderStatus` / `order-id` -> `get order status` / `order id`. */
export function identifierWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** An identifier as a lower-case phrase: `orderId` -> `order id`. */
export function humanize(name: string): string {
  return identifierWords(name).toLowerCase();
}

/** `a`, `a and b`, `a, b and c`. */
export function listPhrase(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** Splits a reply into word-sized stream deltas that concatenate back to the text exactly. */
export function wordChunks(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Voice TwiML as far as Operator uses it (protocols.md §1.1, §2.5): `<Response>` holding
 * `<Connect><Stream url><Parameter name value/>…</Stream></Connect>`, `<Say>`, `<Dial>` and
 * `<Hangup/>`. Parsed strictly: malformed XML, any other verb and any other child are rejected
 * with a `twiml_invalid` error naming what was found, so a test fails where the server went wrong
 * rather than later, on a call that silently did nothing.
 */
export interface TwimlStream {
  url: string;
  name?: string;
  track?: string;
  statusCallback?: string;
  parameters: Record<string, string>;
}

export type TwimlVerb =
  | { verb: 'Connect'; stream: TwimlStream; action?: string; method?: string }
  | { verb: 'Say'; text: string; voice?: string; language?: string }
  | { verb: 'Dial'; target: string; callerId?: string; action?: string }
  | { verb: 'Hangup' };

export class TwimlError extends Error {
  constructor(message: string) {
    super(`twiml_invalid: ${message}`);
    this.name = 'TwimlError';
  }
}

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: (XmlElement | string)[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const NAME = /^[A-Za-z_][\w.-]*/;

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new TwimlError('a bare "&" (write &amp;)');
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const e = ENTITIES[ref];
    if (e === undefined) throw new TwimlError(`unknown entity ${whole}`);
    return e;
  });
}

function parseAttributes(source: string, tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const re = /\s+([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/gy;
  let at = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const name = m[1]!;
    if (name in attrs) throw new TwimlError(`<${tag}> repeats the attribute ${name}`);
    attrs[name] = decodeEntities(m[3] ?? m[4] ?? '');
    at = re.lastIndex;
  }
  if (source.slice(at).trim() !== '') throw new TwimlError(`cannot read the attributes of <${tag}>: ${JSON.stringify(source.trim().slice(0, 80))}`);
  return attrs;
}

/** A small, strict XML reader: elements, attributes, text, entities, comments and the prolog. */
function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '#document', attrs: {}, children: [] };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (text) stack.at(-1)!.children.push(decodeEntities(text));
    if (lt === -1) break;
    i = readMarkup(xml, lt, stack);
  }
  if (stack.length > 1) throw new TwimlError(`<${stack.at(-1)!.name}> is never closed`);
  const elements = root.children.filter((c): c is XmlElement => typeof c !== 'string');
  if (elements.length !== 1 || root.children.some((c) => typeof c === 'string' && c.trim())) {
    throw new TwimlError('a document has exactly one root element and no text outside it');
  }
  return elements[0]!;
}

function readMarkup(xml: string, lt: number, stack: XmlElement[]): number {
  const close = (marker: string): number => {
    const end = xml.indexOf(marker, lt);
    if (end === -1) throw new TwimlError(`unterminated markup at character ${lt}`);
    return end + marker.length;
  };
  if (xml.startsWith('<?', lt)) return close('?>');
  if (xml.startsWith('<!--', lt)) return close('-->');
  if (xml.startsWith('<!', lt)) throw new TwimlError('DOCTYPE and CDATA are not TwiML');
  const end = close('>');
  const inner = xml.slice(lt + 1, end - 1);
  if (inner.startsWith('/')) {
    const name = inner.slice(1).trim();
    const open = stack.length > 1 ? stack.at(-1)!.name : undefined;
    if (open !== name) throw new TwimlError(`</${name}> does not close ${open ? `<${open}>` : 'anything'}`);
    stack.pop();
    return end;
  }
  const selfClosing = inner.endsWith('/');
  const body = selfClosing ? inner.slice(0, -1) : inner;
  const name = NAME.exec(body)?.[0];
  if (!name) throw new TwimlError(`cannot read the tag ${JSON.stringify(`<${inner}>`.slice(0, 80))}`);
  const el: XmlElement = { name, attrs: parseAttributes(body.slice(name.length), name), children: [] };
  stack.at(-1)!.children.push(el);
  if (!selfClosing) stack.push(el);
  return end;
}

function textOf(el: XmlElement): string {
  const child = el.children.find((c) => typeof c !== 'string');
  if (child) throw new TwimlError(`<${el.name}> may hold only text here, found <${child.name}>`);
  return (el.children as string[]).join('').trim();
}

function elementsOf(el: XmlElement): XmlElement[] {
  if (el.children.some((c) => typeof c === 'string' && c.trim())) throw new TwimlError(`<${el.name}> may not hold text`);
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function readStream(el: XmlElement): TwimlStream {
  const url = el.attrs.url;
  if (!url) throw new TwimlError('<Stream> needs a url');
  if (url.includes('?')) throw new TwimlError(`<Stream url="${url}">: Twilio does not support query strings in a stream URL; use <Parameter>`);
  const parameters: Record<string, string> = {};
  for (const p of elementsOf(el)) {
    if (p.name !== 'Parameter') throw new TwimlError(`<Stream> may hold only <Parameter>, found <${p.name}>`);
    const { name, value } = p.attrs;
    if (name === undefined || value === undefined) throw new TwimlError('<Parameter> needs name and value');
    parameters[name] = value;
  }
  const { name, track, statusCallback } = el.attrs;
  return { url, parameters, ...optional('name', name), ...optional('track', track), ...optional('statusCallback', statusCallback) };
}

function readConnect(el: XmlElement): TwimlVerb {
  const children = elementsOf(el);
  if (children.length !== 1 || children[0]!.name !== 'Stream') {
    throw new TwimlError(`<Connect> must hold exactly one <Stream> here, found ${children.map((c) => `<${c.name}>`).join('') || 'nothing'}`);
  }
  return { verb: 'Connect', stream: readStream(children[0]!), ...optional('action', el.attrs.action), ...optional('method', el.attrs.method) };
}

function readDial(el: XmlElement): TwimlVerb {
  const nouns = el.children.filter((c): c is XmlElement => typeof c !== 'string');
  let target: string;
  if (nouns.length === 0) target = textOf(el);
  else if (nouns.length === 1 && ['Number', 'Sip', 'Client'].includes(nouns[0]!.name)) target = textOf(nouns[0]!);
  else throw new TwimlError(`<Dial> may hold a number or one <Number>, <Sip> or <Client>, found ${nouns.map((n) => `<${n.name}>`).join('')}`);
  if (!target) throw new TwimlError('<Dial> has no one to dial');
  return { verb: 'Dial', target, ...optional('callerId', el.attrs.callerId), ...optional('action', el.attrs.action) };
}

function readVerb(el: XmlElement): TwimlVerb {
  switch (el.name) {
    case 'Connect':
      return readConnect(el);
    case 'Say':
      return { verb: 'Say', text: textOf(el), ...optional('voice', el.attrs.voice), ...optional('language', el.attrs.language) };
    case 'Dial':
      return readDial(el);
    case 'Hangup':
      if (el.children.length) throw new TwimlError('<Hangup> is empty');
      return { verb: 'Hangup' };
    default:
      throw new TwimlError(`<${el.name}> is not a verb the simulator runs (Connect, Say, Dial, Hangup)`);
  }
}

/** The verbs of a voice TwiML document, in order. Throws `TwimlError`. */
export function parseVoiceTwiml(xml: string): TwimlVerb[] {
  const root = parseXml(xml);
  if (root.name !== 'Response') throw new TwimlError(`the root element is <${root.name}>, not <Response>`);
  return elementsOf(root).map(readVerb);
}

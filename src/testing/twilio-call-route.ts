/**
 * Twilio reaches the server at its public URL (`OPERATOR_PUBLIC_URL`, often a tunnel), and signs
 * over that URL. The simulator runs next to the server, so it keeps the public URL for signing and
 * sends the request to the server's local address instead.
 */
export type Reach = (publicUrl: string) => string;

export const reachDirectly: Reach = (url) => url;

/** Rewrites URLs under `publicUrl` (http or https) to the same path under `serverUrl`. */
export function reachVia(publicUrl: string, serverUrl: string): Reach {
  const from = publicUrl.replace(/\/+$/, '');
  const to = serverUrl.replace(/\/+$/, '');
  return (url) => (url === from || url.startsWith(`${from}/`) || url.startsWith(`${from}?`) ? to + url.slice(from.length) : url);
}

/** A stream URL from TwiML (relative ones resolve against the document's URL, in ws/wss). */
export function resolveStreamUrl(streamUrl: string, documentUrl: string | undefined): string {
  if (/^wss?:\/\//i.test(streamUrl)) return streamUrl;
  if (!documentUrl) throw new Error(`twiml_invalid: <Stream url="${streamUrl}"> is relative, but the TwiML came from no URL`);
  return new URL(streamUrl, documentUrl).toString().replace(/^http/i, 'ws');
}

/** Where to open a `ws://`/`wss://` URL: the same mapping as for HTTP, with the scheme carried over. */
export function reachStream(reach: Reach, streamUrl: string): string {
  const asHttp = streamUrl.replace(/^ws(s?):/i, 'http$1:');
  return reach(asHttp).replace(/^http(s?):/i, 'ws$1:');
}

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseForm } from '../../../src/channels/twilio/form.ts';

/** What a webhook receiver (standing in for Operator) got. */
export interface ReceivedWebhook {
  path: string;
  url: string;
  signature: string | undefined;
  contentType: string | undefined;
  form: Record<string, string | string[]>;
}

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/**
 * A bare HTTP server that records form POSTs and answers with `answer(hook)` (default 200 empty
 * TwiML). Lives with the tests: it is the "server under test" side of the simulator's protocol.
 */
export async function startReceiver(answer?: (hook: ReceivedWebhook) => { status: number; body?: string } | Promise<{ status: number; body?: string }>): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sig = req.headers['x-twilio-signature'];
      const hook: ReceivedWebhook = {
        path: (req.url ?? '').split('?')[0]!,
        url: req.url ?? '',
        signature: typeof sig === 'string' ? sig : undefined,
        contentType: req.headers['content-type'],
        form: parseForm(Buffer.concat(chunks).toString('utf8')),
      };
      received.push(hook);
      void Promise.resolve(answer ? answer(hook) : { status: 200 }).then((a) => {
        res.writeHead(a.status, { 'content-type': 'text/xml' });
        res.end(a.body ?? '<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

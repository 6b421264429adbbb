import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseForm } from '../channels/twilio/form.ts';
import { errorJson } from './twilio-simulator-resources.ts';

/**
 * The HTTP plumbing of the simulated REST API: reading a form (query string for GET, body for
 * POST, at most 1 MB) and writing Twilio's JSON answers.
 */
export interface Answer {
  status: number;
  json: unknown;
  /** Runs once the answer is on the wire (listeners, callbacks, live calls react after the 2xx). */
  after?: () => void;
}

const MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request's form, or the error answer when it cannot be read. */
export async function readForm(req: IncomingMessage): Promise<Record<string, string | string[]> | Answer> {
  try {
    const body = await readBody(req);
    return parseForm(req.method === 'GET' ? ((req.url ?? '').split('?')[1] ?? '') : body);
  } catch (err) {
    return err instanceof BodyTooLarge
      ? { status: 413, json: errorJson(413, 20001, 'Request entity too large') }
      : { status: 400, json: errorJson(400, 20001, 'Unreadable request') };
  }
}

export function isAnswer(v: object): v is Answer {
  return 'status' in v && 'json' in v && typeof v.status === 'number';
}

export function writeAnswer(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    ...(answer.status === 401 ? { 'www-authenticate': 'Basic realm="Twilio API"' } : {}),
  });
  res.end(JSON.stringify(answer.json), () => answer.after?.());
}

export function notFound(path: string): Answer {
  return { status: 404, json: errorJson(404, 20404, `The requested resource ${path} was not found`) };
}

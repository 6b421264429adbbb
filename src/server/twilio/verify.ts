import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseForm } from '../../channels/twilio/form.ts';
import { validTwilioSignature, twilioRequestUrl, TWILIO_SIGNATURE_HEADER } from '../../channels/twilio/signature.ts';
import { OperatorError } from '../../core/errors.ts';

/** Twilio's webhooks post forms; this scope parses them. */
export function acceptTwilioForms(scope: FastifyInstance): void {
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, cb) => {
    cb(null, parseForm(body as string));
  });
}

/**
 * The webhook's form, once its `X-Twilio-Signature` over `OPERATOR_PUBLIC_URL` + path checks out.
 * 404 `twilio_not_configured` without a token, 403 `invalid_signature` otherwise — nothing changes.
 */
export function verifiedTwilioForm(req: FastifyRequest, authToken: string | undefined, publicUrl: string): Record<string, string | string[]> {
  if (!authToken) {
    throw new OperatorError('not_found', 'twilio_not_configured', 'Twilio is not configured on this server (TWILIO_AUTH_TOKEN)');
  }
  const form = (req.body ?? {}) as Record<string, string | string[]>;
  if (typeof form !== 'object') throw new OperatorError('invalid_request', 'invalid_form', 'Expected a form body');
  const url = twilioRequestUrl(publicUrl, req.url);
  if (!validTwilioSignature(authToken, url, form, req.headers[TWILIO_SIGNATURE_HEADER])) {
    throw new OperatorError('auth', 'invalid_signature', 'X-Twilio-Signature is missing or does not match', { status: 403 });
  }
  return form;
}

/** One form field as a string ('' when absent or repeated). */
export function field(form: Record<string, string | string[]>, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorConfig } from '../../config/index.ts';
import { OperatorError } from '../../core/errors.ts';
import { keyword, parseInboundSms, parseSmsStatus, twimlEmpty, type SmsStatus } from '../../channels/twilio/sms-codec.ts';
import type { DeliveryStatus } from '../../core/conversation.ts';
import type { AsyncConversations } from '../../runtime/index.ts';
import type { Store } from '../../store/index.ts';
import { acceptTwilioForms, verifiedTwilioForm } from '../twilio/verify.ts';

export interface TwilioSmsDeps {
  config: OperatorConfig;
  store: Store;
  conversations: AsyncConversations;
  /** Validates X-Twilio-Signature; unset = the Twilio channels are off. */
  authToken: string | undefined;
  publicUrl: string;
  helpText: string;
}

const HELP_TEXT = 'Reply STOP to stop receiving messages, START to receive them again.';

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Twilio delivery states mapped onto ours (they name a few more). */
const DELIVERY: Partial<Record<SmsStatus, DeliveryStatus>> = {
  queued: 'sent', accepted: 'sent', sending: 'sent', sent: 'sent', delivered: 'delivered', read: 'delivered',
  undelivered: 'undelivered', failed: 'failed',
};

/**
 * `POST /twilio/sms` and `/twilio/sms/status`: the Twilio messaging webhooks. Every request must
 * carry a valid `X-Twilio-Signature` over `OPERATOR_PUBLIC_URL` + path (403 and nothing stored
 * otherwise); the message is stored before the 200, and the reply goes out through the REST API.
 */
export function twilioSmsRoutes(app: FastifyInstance, deps: TwilioSmsDeps): void {
  app.register((scope, _opts, done) => {
    acceptTwilioForms(scope);
    const verified = (req: FastifyRequest) => verifiedTwilioForm(req, deps.authToken, deps.publicUrl);

    // Not under the per-address API rate limit: Twilio's webhooks come from a few addresses, are
    // authenticated by their signature, and an inbound message refused with 429 is not retried.
    scope.post('/twilio/sms', { config: { public: true, rateLimit: false } }, async (req, reply: FastifyReply) => {
      const sms = parseInboundSms(verified(req));
      const route = deps.config.channels.sms.find((r) => r.number === sms.to);
      if (!route) {
        throw new OperatorError('not_found', 'unknown_number', `${sms.to} is not configured under channels.sms`);
      }
      const kw = keyword(sms.body);
      if (kw === 'stop') await deps.store.optOuts.set('sms', sms.from, Date.now());
      if (kw === 'start') await deps.store.optOuts.clear('sms', sms.from);
      if (kw === 'help') {
        return reply.type('text/xml').send(`<?xml version="1.0" encoding="UTF-8"?><Response><Message>${escapeXml(deps.helpText || HELP_TEXT)}</Message></Response>`);
      }
      if (kw !== undefined) return reply.type('text/xml').send(twimlEmpty());
      await deps.conversations.accept({
        channel: 'sms', agentId: route.agent, customer: { phone: sms.from }, text: sms.body,
        attachments: sms.media.map((m) => ({ url: m.url, contentType: m.contentType })),
        externalId: sms.messageSid, reply: { to: sms.from, from: sms.to },
      });
      return reply.type('text/xml').send(twimlEmpty());
    });

    scope.post('/twilio/sms/status', { config: { public: true, rateLimit: false } }, async (req, reply) => {
      const update = parseSmsStatus(verified(req));
      const rec = await deps.store.outbound.findByProviderId(update.messageSid);
      const next = DELIVERY[update.status];
      // Callbacks can arrive out of order: a final state is never replaced by an earlier one.
      const final = rec && ['delivered', 'undelivered', 'failed'].includes(rec.status);
      if (rec && next && !(final && next === 'sent')) {
        await deps.store.outbound.update(rec.id, { status: next, ...(update.errorCode ? { lastError: `twilio ${update.errorCode}` } : {}) }, Date.now());
      }
      return reply.status(204).send();
    });
    done();
  });
}

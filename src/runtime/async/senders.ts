import { composeFirst, composeReply } from '../../channels/email/compose.ts';
import { createEmailSender } from '../../channels/email/sender.ts';
import { TwilioRestClient } from '../../channels/twilio/rest.ts';
import type { AgentSpec } from '../../core/agent.ts';
import { OperatorError, errorMessage } from '../../core/errors.ts';
import { signatureHeader } from '../../engine/index.ts';
import type { OutboundRecord, Store } from '../../store/index.ts';
import type { ChannelSender } from './types.ts';

/** SMS through Twilio's REST API (`TWILIO_API_URL`); status callbacks come back to `/twilio/sms/status`. */
export function twilioSmsSender(opts: { accountSid: string; authToken: string; apiUrl: string; publicUrl: string }): ChannelSender {
  const client = new TwilioRestClient({ accountSid: opts.accountSid, authToken: opts.authToken, baseUrl: opts.apiUrl });
  return {
    async send(rec) {
      const sent = await client.sendMessage({
        from: rec.from,
        to: rec.to,
        body: rec.body,
        statusCallback: `${opts.publicUrl}/twilio/sms/status`,
        idempotencyKey: rec.id,
      });
      return { providerId: sent.sid };
    },
    // Twilio's Messages API has no idempotency key: after a crash between its 201 and our record of
    // it, the only way to know is to look. Messages to this number from ours since the record was
    // created (day-filtered by Twilio, then to the second here, less some clock skew) with this body.
    async reconcile(rec) {
      const since = rec.createdAt - RECONCILE_SKEW_MS;
      const listed = await client.listMessages({ to: rec.to, from: rec.from, dateSentAfter: since, limit: RECONCILE_LIMIT });
      return listed
        .filter((m) => m.direction.startsWith('outbound') && m.body === rec.body && m.dateCreated >= Math.floor(since / 1000) * 1000)
        .sort((a, b) => a.dateCreated - b.dateCreated)
        .map((m) => m.sid);
    },
  };
}

/** Our clock and Twilio's may disagree by this much when matching a message to its record. */
const RECONCILE_SKEW_MS = 30_000;
/** Messages to one number since a reply was recorded: a handful; a page of Twilio's is 50. */
const RECONCILE_LIMIT = 200;

/**
 * Email through `SMTP_OUTBOUND_URL`, threaded onto the customer's last message. */
export function smtpEmailSender(url: string): ChannelSender & { close(): void } {
  const sender = createEmailSender(url);
  return {
    async send(rec: OutboundRecord) {
      const p = rec.payload as { subject?: string; fromName?: string; inReplyTo?: string; references?: string[] };
      const from = { address: rec.from, ...(p.fromName ? { name: p.fromName } : {}) };
      // The record id is the Message-ID's left part: a resend after a crash is the same message (same
      // Message-ID, In-Reply-To, References), which the recipient's client threads as one; those that
      // deduplicate by Message-ID (Gmail does) show it once. No reconciliation: an SMTP relay cannot
      // be asked what it accepted.
      const mail = p.inReplyTo
        ? composeReply({ from, to: rec.to, subject: p.subject ?? '', inReplyTo: p.inReplyTo, references: p.references ?? [], markdown: rec.body, id: rec.id })
        : composeFirst({ from, to: rec.to, subject: p.subject ?? 'A message for you', markdown: rec.body, id: rec.id });
      const sent = await sender.send(mail);
      return { providerId: sent.messageId };
    },
    close: () => sender.close(),
  };
}

/**
 * Async-chat replies POSTed to the agent's `webhook.url`, signed like tool calls
 * (`X-Operator-Signature`), with the item id as the idempotency key for the receiver.
 */
export function chatWebhookSender(store: Store, agents: Map<string, AgentSpec>, timeoutMs = 10_000): ChannelSender {
  return {
    async send(rec) {
      const item = await store.items.get(rec.itemId);
      const body = JSON.stringify({
        type: 'item', conversationId: rec.conversationId, agent: rec.from,
        item: item ? { id: item.id, role: item.role, type: item.type, text: item.text, createdAt: new Date(item.createdAt).toISOString() } : undefined,
      });
      const secret = agents.get(rec.from)?.webhook?.secret;
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': rec.itemId };
      if (secret) headers['x-operator-signature'] = signatureHeader(secret, Math.floor(Date.now() / 1000), body);
      let res: Response;
      try {
        res = await fetch(rec.to, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        throw new OperatorError('connectivity', 'webhook_unreachable', `${rec.to}: ${errorMessage(err)}`);
      }
      if (!res.ok) {
        const retryable = res.status >= 500 || res.status === 429;
        throw new OperatorError(retryable ? 'connectivity' : 'application', 'webhook_rejected', `${rec.to} answered ${res.status}`, { retryable });
      }
      return {};
    },
  };
}

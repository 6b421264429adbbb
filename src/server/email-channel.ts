import type { Logger } from 'pino';
import { parseInboundEmail } from '../channels/email/parse.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../channels/email/receiver.ts';
import { threadKeys } from '../channels/email/thread.ts';
import type { OperatorConfig } from '../config/index.ts';
import type { Attachment } from '../core/conversation.ts';
import { newId } from '../core/ids.ts';
import type { AsyncConversations } from '../runtime/index.ts';
import type { Store } from '../store/index.ts';

export interface EmailChannelOptions {
  config: OperatorConfig;
  store: Store;
  conversations: AsyncConversations;
  logger: Logger;
  port: number;
  host: string;
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/**
 * The built-in SMTP receiver: mail for the configured channel addresses only. Each message is
 * parsed, stored (idempotent on its Message-ID) and its turn queued before the SMTP `250`.
 */
export async function startEmailChannel(opts: EmailChannelOptions): Promise<SmtpReceiver | undefined> {
  const routes = new Map(opts.config.channels.email.map((r) => [r.address, r]));
  if (routes.size === 0) return undefined;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  return startSmtpReceiver({
    port: opts.port,
    host: opts.host,
    maxBytes,
    acceptsRecipient: (address) => routes.has(address.toLowerCase()),
    logger: opts.logger,
    async onMessage(raw, envelope) {
      const mail = await parseInboundEmail(raw, { maxBytes, maxAttachmentBytes: maxBytes });
      const route = envelope.rcptTo.map((a) => routes.get(a)).find((r) => r !== undefined)!;
      const now = Date.now();
      const attachments: Attachment[] = [];
      const attachmentIds: string[] = [];
      for (const a of mail.attachments) {
        const id = newId('msg', now).replace(/^msg_/, 'att_');
        await opts.store.attachments.put(
          { id, contentType: a.contentType, ...(a.filename ? { filename: a.filename } : {}), sizeBytes: a.sizeBytes, data: a.content },
          now,
        );
        attachmentIds.push(id);
        attachments.push({ url: `/v1/attachments/${id}`, contentType: a.contentType, ...(a.filename ? { name: a.filename } : {}), sizeBytes: a.sizeBytes });
      }
      const accepted = await opts.conversations.accept({
        channel: 'email',
        agentId: route.agent,
        customer: { email: mail.from.address },
        threadKeys: threadKeys(mail),
        text: mail.text,
        attachments,
        externalId: mail.messageId,
        reply: {
          to: mail.from.address,
          from: route.address,
          ...(route.name ? { fromName: route.name } : {}),
          subject: mail.subject,
          messageId: mail.messageId,
          references: mail.references,
        },
      });
      if (attachmentIds.length > 0) await opts.store.attachments.attach(attachmentIds, accepted.item.id);
    },
  });
}

export { composeFirst, composeReply, messageIdFor, type FirstMessageInput, type Mailbox, type OutboundEmail, type ReplyInput } from './compose.ts';
export { htmlToText } from './html-text.ts';
export { escapeHtml, markdownToHtml, markdownToText, safeHref } from './markdown.ts';
export { parseInboundEmail, SYNTHETIC_ID_DOMAIN, type EmailAddress, type InboundAttachment, type InboundEmail, type ParseLimits } from './parse.ts';
export { replyForFailure, startSmtpReceiver, type EmailLogger, type SmtpEnvelope, type SmtpReceiver, type SmtpReceiverOptions } from './receiver.ts';
export { classifySendError, createEmailSender, parseRelayUrl, type EmailSender, type EmailSenderOptions, type SentEmail } from './sender.ts';
export { stripQuotedText } from './strip.ts';
export { baseSubject, MAX_REFERENCES, messageIdList, normalizeMessageId, replyReferences, replySubject, threadKeys, type ThreadHeaders } from './thread.ts';

/**
 * Threading (RFC 5322 §3.6.4): Message-ID, In-Reply-To, References and the reply subject. Ids are
 * kept without angle brackets, compared as given (the left part of a msg-id is case-sensitive).
 */

/** A Message-ID without its angle brackets, or undefined when there is none. */
export function normalizeMessageId(value: string | undefined | null): string | undefined {
  return messageIdList(value)[0];
}

/**
 * The ids of a References/In-Reply-To value, in order, without brackets or duplicates. Accepts
 * mailparser's shapes (a string, or an array when several) and tolerates comments and ids that
 * lost their brackets.
 */
export function messageIdList(value: string | readonly string[] | undefined | null): string[] {
  if (!value) return [];
  const parts = typeof value === 'string' ? [value] : value;
  const ids: string[] = [];
  for (const part of parts) {
    const bracketed = [...part.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
    const found = bracketed.length > 0 ? bracketed : part.split(/[\s,]+/).filter((t) => t.includes('@'));
    for (const id of found) if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** The fields of an email that name its thread. */
export interface ThreadHeaders {
  messageId: string;
  inReplyTo?: string;
  references: readonly string[];
}

/**
 * Every Message-ID that identifies the thread of `email`, most specific first: its own id (a
 * redelivery), the message it answers, then the rest of References from newest to oldest. The
 * runtime stores the ids of each conversation's messages and looks these up in this order.
 */
export function threadKeys(email: ThreadHeaders): string[] {
  const keys = [email.messageId, ...(email.inReplyTo ? [email.inReplyTo] : []), ...[...email.references].reverse()];
  return [...new Set(keys.filter((k) => k !== ''))];
}

/**
 * Some clients cap References, and long threads make very long headers. Keep the first id (the
 * thread's root, which every client matches on) and the newest ones (RFC 5322 leaves this open;
 * Thunderbird and mutt trim the same way).
 */
export const MAX_REFERENCES = 20;

/** References for our reply to `parent`: its References (or In-Reply-To), then its Message-ID. */
export function replyReferences(parent: ThreadHeaders, max: number = MAX_REFERENCES): string[] {
  const chain = parent.references.length > 0 ? [...parent.references] : parent.inReplyTo ? [parent.inReplyTo] : [];
  const all = [...new Set([...chain, parent.messageId])];
  if (all.length <= max) return all;
  return [all[0]!, ...all.slice(all.length - (max - 1))];
}

const REPLY_PREFIX = /^\s*(?:re|aw|sv|vs|antw|odp|رد|回复|答复)(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]\s*/i;
const FORWARD_PREFIX = /^\s*(?:fwd?|wg|tr|rv|enc)\s*[:：]\s*/i;

/**
 * The subject with every leading reply and forward marker removed ("Re: Fwd: RE: Order" →
 * "Order"), for matching a thread by subject.
 */
export function baseSubject(subject: string): string {
  let s = subject;
  for (let prev = ''; prev !== s; ) {
    prev = s;
    s = s.replace(REPLY_PREFIX, '').replace(FORWARD_PREFIX, '');
  }
  return s.trim();
}

/**
 * "Re: " + the subject, without stacking: leading reply markers in any case or language ("Re:",
 * "RE:", "AW:", "Re[2]:") collapse into one "Re: ". A forward marker stays ("Re: Fwd: Order"), as
 * mail clients do: it tells the customer which message is answered.
 */
export function replySubject(subject: string | undefined): string {
  let s = (subject ?? '').trim();
  for (let prev = ''; prev !== s; ) {
    prev = s;
    s = s.replace(REPLY_PREFIX, '');
  }
  return `Re: ${s.trim() || '(no subject)'}`;
}

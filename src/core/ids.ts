import { randomBytes } from 'node:crypto';

export type IdPrefix = 'conv' | 'cus' | 'itm' | 'turn' | 'call' | 'msg' | 'job';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case
const RANDOM_CHARS = 16; // 80 bits

let lastMs = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function freshRandom(): number[] {
  const bytes = randomBytes(RANDOM_CHARS);
  // The first digit is kept below 16 so that increments within one millisecond never overflow.
  return Array.from(bytes, (b, i) => (i === 0 ? b & 15 : b & 31));
}

function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i]!++;
      return next;
    }
    next[i] = 0;
  }
  return freshRandom(); // unreachable in practice: 2^75 ids in one millisecond
}

/**
 * Opaque, type-prefixed ids that sort by creation time: a 48-bit ms timestamp, then 80 random
 * bits. Within one thread they are strictly increasing, even inside one millisecond (the random
 * part is incremented, as in monotonic ULIDs), so `ORDER BY id` is the order they were made in.
 * Items of a conversation get their ids from its one writer, the main thread (DESIGN.md rule 5).
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  const ms = Math.max(nowMs, lastMs);
  lastRandom = ms === lastMs ? increment(lastRandom) : freshRandom();
  lastMs = ms;
  return `${prefix}_${encodeTime(ms)}${lastRandom.map((d) => ALPHABET[d]).join('')}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && id.length > prefix.length + 1;
}

import { randomBytes } from 'node:crypto';

export type IdPrefix = 'conv' | 'cus' | 'itm' | 'turn' | 'call' | 'msg' | 'job';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * Opaque, type-prefixed ids that sort by creation time (48-bit ms timestamp, then 80 random bits),
 * so `ORDER BY id` is creation order and cursors need no second column.
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31]!;
    }
  }
  return `${prefix}_${time}${rand}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && id.length > prefix.length + 1;
}

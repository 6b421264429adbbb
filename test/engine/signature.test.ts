import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifyOperatorSignature } from '../../src/engine/index.ts';

describe('verifyOperatorSignature', () => {
  const body = '{"tool":"lookup_order"}';
  const now = Date.UTC(2026, 0, 1);
  const t = Math.floor(now / 1000);

  it('matches HMAC-SHA256 over "<t>.<body>" in hex', () => {
    const hex = createHmac('sha256', 'k').update(`${t}.${body}`).digest('hex');
    expect(signatureHeader('k', t, body)).toBe(`t=${t},v1=${hex}`);
    expect(verifyOperatorSignature('k', `t=${t},v1=${hex}`, body, now, 1000)).toBe(true);
  });

  it('accepts any matching v1 entry (secret rotation)', () => {
    const good = signatureHeader('k', t, body).split(',')[1]!;
    expect(verifyOperatorSignature('k', `t=${t},v1=${'0'.repeat(64)},${good}`, body, now, 1000)).toBe(true);
  });

  it('rejects stale, future, malformed and missing headers', () => {
    const header = signatureHeader('k', t, body);
    expect(verifyOperatorSignature('k', header, body, now + 1001, 1000)).toBe(false);
    expect(verifyOperatorSignature('k', header, body, now - 1001, 1000)).toBe(false);
    expect(verifyOperatorSignature('k', 'v1=abc', body, now, 1000)).toBe(false);
    expect(verifyOperatorSignature('k', `t=${t},v1=zz`, body, now, 1000)).toBe(false);
    expect(verifyOperatorSignature('k', undefined, body, now, 1000)).toBe(false);
  });
});

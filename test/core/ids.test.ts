import { describe, expect, it } from 'vitest';
import { hasPrefix, newId } from '../../src/core/ids.ts';

describe('newId', () => {
  it('is prefixed and strictly increasing within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => newId('itm', 1_700_000_000_000));
    expect(ids.every((id) => hasPrefix(id, 'itm') && id.length === 30)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sorts by time across milliseconds and never goes back when the clock does', () => {
    const a = newId('conv', 2_000_000_000_000);
    const b = newId('conv', 2_000_000_000_001);
    const c = newId('conv', 1_000); // clock went backwards
    expect(a < b && b < c).toBe(true);
  });
});

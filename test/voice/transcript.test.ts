import { describe, expect, it } from 'vitest';
import { normaliseTranscript } from '../../src/voice/transcript.ts';

describe('normaliseTranscript', () => {
  it.each([
    ['my order is a one two three four five', 'my order is A12345'],
    ['b five five', 'B55'],
    ['my number is five five five oh one two three', 'my number is 5550123'],
    ['i want one', 'i want one'],
    ['oh no', 'oh no'],
    ['a one', 'a one'],
    ['a one two', 'a 12'],
    ['i two three', 'i 23'],
    ['where is my order', 'where is my order'],
    ['', ''],
  ])('%s → %s', (input, expected) => {
    expect(normaliseTranscript(input)).toBe(expected);
  });
});

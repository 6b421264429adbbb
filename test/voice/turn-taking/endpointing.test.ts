import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ENDPOINTING,
  Endpointer,
  codePattern,
  requiredSilenceMs,
  type SilenceRule,
} from '../../../src/voice/turn-taking/index.ts';

describe('requiredSilenceMs', () => {
  const cases: [string, SilenceRule, number][] = [
    // finished questions go sooner
    ['where is my order', 'question', 350],
    ['Where is my order?', 'question', 350],
    ['what time do you close', 'question', 350],
    ['how much does it cost', 'question', 350],
    ["what's my balance", 'question', 350],
    ['can you help me', 'question', 350],
    ['could you check my order', 'question', 350],
    ['do you have it in blue', 'question', 350],
    ['is there a fee', 'question', 350],
    ['why', 'question', 350],
    ['and then?', 'question', 350],
    ['my card got declined?', 'question', 350],
    // complete short answers go sooner
    ['yes', 'complete', 350],
    ['No.', 'complete', 350],
    ["that's right", 'complete', 350],
    ['hold on', 'complete', 350],
    ['hang on', 'complete', 350],
    ['wait', 'default', 500],
    ["That's correct.", 'complete', 350],
    ['thank you', 'complete', 350],
    ['Thanks a lot!', 'complete', 350],
    ['yes please', 'complete', 350],
    ['um yeah', 'complete', 350],
    ['yes I do', 'complete', 350],
    ['I think so', 'complete', 350],
    ['okay thank you bye', 'complete', 350],
    // trailing conjunctions, fillers, function words wait long
    ['I want to change my address and', 'incomplete_conjunction', 1800],
    ['I would like a refund but', 'incomplete_conjunction', 1800],
    ['so', 'incomplete_conjunction', 1800],
    ['I called because', 'incomplete_conjunction', 1800],
    ['the package was damaged or', 'incomplete_conjunction', 1800],
    ['I need um', 'incomplete_conjunction', 1800],
    ['my order is uh', 'incomplete_conjunction', 1800],
    ['I want to talk to the', 'incomplete_conjunction', 1800],
    ['can you send it to my', 'incomplete_conjunction', 1800],
    ['my name is', 'incomplete_conjunction', 1800],
    ['I want to', 'incomplete_conjunction', 1800],
    ['what is', 'incomplete_conjunction', 1800],
    ['can you tell me about', 'incomplete_conjunction', 1800],
    ["I'd like", 'incomplete_conjunction', 1800],
    ['and then I', 'incomplete_conjunction', 1800],
    // the STT heard a trailing pause
    ['I was wondering...', 'incomplete_punctuation', 1800],
    ['my address is 12 Main Street,', 'incomplete_punctuation', 1800],
    ['so the thing is —', 'incomplete_punctuation', 1800],
    // a number still being dictated
    ['my number is 5 5 5 1', 'incomplete_number', 1800],
    ['my number is five five five', 'incomplete_number', 1800],
    ['A one two', 'incomplete_number', 1800],
    ['it is B 4 7', 'incomplete_number', 1800],
    ['my order number is 12345', 'incomplete_number', 1800],
    ['the account is 4471', 'incomplete_number', 1800],
    ['call me back on 555 0100', 'incomplete_number', 1800],
    ['my zip code is 9 4', 'incomplete_number', 1800],
    ['double five one', 'incomplete_number', 1800],
    // a lone quantity is not dictation
    ["I'm 42", 'default', 500],
    ['I am twenty five', 'default', 500],
    ['I ordered two', 'default', 500],
    // ordinary statements
    ['I want to cancel my subscription', 'default', 500],
    ['my package never arrived', 'default', 500],
    ['what I need is a new card', 'default', 500],
    ['what I want to know', 'default', 500],
    ['', 'default', 500],
    ['   ', 'default', 500],
    ['hmm', 'default', 500],
  ];

  it.each(cases)('%j → %s (%d ms)', (transcript, reason, ms) => {
    expect(requiredSilenceMs(transcript)).toEqual({ ms, reason });
  });

  it('takes every threshold from the options and caps them at maxSilenceMs', () => {
    const opts = { minSilenceMs: 600, quickSilenceMs: 200, incompleteExtraMs: 2000, maxSilenceMs: 2400 };
    expect(requiredSilenceMs('where is my order', opts).ms).toBe(200);
    expect(requiredSilenceMs('I need a new card', opts).ms).toBe(600);
    expect(requiredSilenceMs('and', opts).ms).toBe(2400);
    expect(requiredSilenceMs('and', { ...opts, incompleteExtraMs: 1000 }).ms).toBe(1600);
    expect(requiredSilenceMs('yes', { ...opts, maxSilenceMs: 100 }).ms).toBe(100);
  });

  it("does not wait for more digits once the transcript ends in a whole code of the agent's tools", () => {
    const opts = { ...DEFAULT_ENDPOINTING, codePatterns: [codePattern('^[A-Z][0-9]{5}$')!] };
    expect(requiredSilenceMs('where is my order a one two three four five', opts)).toEqual({ ms: 500, reason: 'complete_code' });
    expect(requiredSilenceMs('my order number is A 12345', opts)).toEqual({ ms: 500, reason: 'complete_code' });
    // Half of one still waits, and so does a code no tool takes.
    expect(requiredSilenceMs('where is my order a one two three', opts)).toEqual({ ms: 1800, reason: 'incomplete_number' });
    expect(requiredSilenceMs('my phone number is 555 0100', opts).reason).toBe('incomplete_number');
    expect(requiredSilenceMs('where is my order a one two three four five')).toEqual({ ms: 1800, reason: 'incomplete_number' });
  });

  it('reads a tool pattern as a whole-token test, and ignores one that does not compile', () => {
    expect(codePattern('[0-9]{4}')!.test('1234')).toBe(true);
    expect(codePattern('[0-9]{4}')!.test('12345')).toBe(false);
    expect(codePattern('([a-z')).toBeUndefined();
  });
});

describe('Endpointer', () => {
  it('ends a question after the short silence', () => {
    const ep = new Endpointer();
    ep.onSpeechStart(1000);
    ep.onTranscript('where is', false, 1300);
    ep.onTranscript('where is my order', false, 1700);
    ep.onSpeechEnd(2000);
    expect(ep.decisionDeadline()).toBe(2350);
    expect(ep.poll(2200)).toEqual({ endOfTurn: false, rule: 'question', waitMs: 150 });
    expect(ep.poll(2349).endOfTurn).toBe(false);
    expect(ep.poll(2350)).toEqual({ endOfTurn: true, reason: 'silence', rule: 'question', waitMs: 0 });
    expect(ep.turnText).toBe('where is my order');
  });

  it('waits maxSilenceMs after a trailing "and…", then ends the turn anyway', () => {
    const ep = new Endpointer();
    ep.onSpeechStart(1000);
    ep.onTranscript('I want to change my address and', true, 1950);
    ep.onSpeechEnd(2000);
    expect(ep.decisionDeadline()).toBe(2000 + DEFAULT_ENDPOINTING.maxSilenceMs);
    expect(ep.poll(2500)).toEqual({ endOfTurn: false, rule: 'incomplete_conjunction', waitMs: 1300 });
    expect(ep.poll(3799).endOfTurn).toBe(false);
    expect(ep.poll(3800)).toEqual({
      endOfTurn: true,
      reason: 'max_silence',
      rule: 'incomplete_conjunction',
      waitMs: 0,
    });
  });

  it('keeps the turn open when the caller goes on after "and", and joins the utterances', () => {
    const ep = new Endpointer();
    ep.onSpeechStart(1000);
    ep.onTranscript('I want to change my address and', true, 1950);
    ep.onSpeechEnd(2000);
    expect(ep.poll(3000).endOfTurn).toBe(false);
    ep.onSpeechStart(3100);
    expect(ep.decisionDeadline()).toBeUndefined();
    expect(ep.poll(5000)).toEqual({ endOfTurn: false, waitMs: Number.POSITIVE_INFINITY });
    ep.onTranscript('my phone', false, 3400);
    ep.onTranscript('my phone number', true, 3700);
    ep.onSpeechEnd(3800);
    expect(ep.turnText).toBe('I want to change my address and my phone number');
    expect(ep.poll(4300)).toEqual({ endOfTurn: true, reason: 'silence', rule: 'default', waitMs: 0 });
  });

  it('waits while a phone number is dictated in groups', () => {
    const ep = new Endpointer();
    ep.onSpeechStart(0);
    ep.onTranscript('my number is 5 5 5', true, 900);
    ep.onSpeechEnd(1000);
    expect(ep.poll(2000)).toMatchObject({ endOfTurn: false, rule: 'incomplete_number' });
    ep.onSpeechStart(2100);
    ep.onTranscript('0 1 0 0', true, 2900);
    ep.onSpeechEnd(3000);
    expect(ep.decisionDeadline()).toBe(4800);
    expect(ep.poll(4800)).toMatchObject({ endOfTurn: true, reason: 'max_silence' });
  });

  it('re-decides when the final transcript arrives after the end of speech', () => {
    const sooner = new Endpointer();
    sooner.onSpeechStart(1000);
    sooner.onSpeechEnd(1400);
    expect(sooner.decisionDeadline()).toBe(1900);
    sooner.onTranscript('yes', true, 1550);
    expect(sooner.decisionDeadline()).toBe(1750);
    expect(sooner.poll(1750)).toMatchObject({ endOfTurn: true, rule: 'complete' });

    const later = new Endpointer();
    later.onSpeechStart(1000);
    later.onSpeechEnd(1400);
    later.onTranscript('my account number is', true, 1600);
    expect(later.poll(1900)).toMatchObject({ endOfTurn: false, waitMs: 1300 });
  });

  it('lets partials replace each other and an empty final clear the partial', () => {
    const ep = new Endpointer();
    ep.onSpeechStart(0);
    ep.onTranscript('can', false, 100);
    ep.onTranscript('can you', false, 200);
    expect(ep.turnText).toBe('can you');
    ep.onTranscript('', true, 300);
    expect(ep.turnText).toBe('');
  });

  it('decides nothing before any speech, or while the caller speaks', () => {
    const ep = new Endpointer();
    expect(ep.decisionDeadline()).toBeUndefined();
    expect(ep.poll(10_000)).toEqual({ endOfTurn: false, waitMs: Number.POSITIVE_INFINITY });
    ep.onSpeechStart(10_000);
    ep.onTranscript('yes', false, 10_100);
    expect(ep.poll(60_000).endOfTurn).toBe(false);
  });

  it('counts a transcript heard without VAD speech as speech that ended on arrival', () => {
    const ep = new Endpointer();
    ep.onTranscript('thanks', true, 5000);
    expect(ep.decisionDeadline()).toBe(5350);
    expect(ep.poll(5350).endOfTurn).toBe(true);
  });

  it('stays at end of turn until the caller speaks again or reset()', () => {
    const ep = new Endpointer();
    ep.onSpeechStart(0);
    ep.onSpeechEnd(400);
    expect(ep.poll(900).endOfTurn).toBe(true);
    expect(ep.poll(9000).endOfTurn).toBe(true);
    ep.reset();
    expect(ep.turnText).toBe('');
    expect(ep.decisionDeadline()).toBeUndefined();
    expect(ep.poll(9000).endOfTurn).toBe(false);
  });

  it('uses its configured thresholds', () => {
    const ep = new Endpointer({ minSilenceMs: 700, maxSilenceMs: 1000 });
    expect(ep.options).toEqual({ ...DEFAULT_ENDPOINTING, minSilenceMs: 700, maxSilenceMs: 1000 });
    ep.onSpeechStart(0);
    ep.onTranscript('I need to', false, 400);
    ep.onSpeechEnd(500);
    expect(ep.decisionDeadline()).toBe(1500);
    ep.onTranscript('I need to get a new card', true, 600);
    expect(ep.decisionDeadline()).toBe(1200);
  });
});

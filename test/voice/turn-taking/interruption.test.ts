import { describe, expect, it } from 'vitest';
import {
  BargeInPolicy,
  DEFAULT_BACKCHANNEL_WORDS,
  isBackchannel,
  meaningfulWords,
} from '../../../src/voice/turn-taking/index.ts';

const PAUSE = { type: 'pause' };
const INTERRUPT = { type: 'interrupt' };
const RESUME = { type: 'resume' };
const IGNORE = { type: 'ignore' };

/** A policy whose agent started a reply at t = 0. */
function speakingPolicy(options: ConstructorParameters<typeof BargeInPolicy>[0] = {}): BargeInPolicy {
  const policy = new BargeInPolicy(options);
  expect(policy.agentSpeaking(true, 0)).toEqual([]);
  return policy;
}

describe('meaningfulWords', () => {
  it.each([
    ['Um, wait.', ['wait']],
    ['uh uh hmm', []],
    ["That's NOT right!", ["that's", 'not', 'right']],
    ['Mm-hmm', []],
    ['  ', []],
    ['Erm… my order, A12?', ['my', 'order', 'a12']],
    ['uh-huh', []],
    ['Huh? What?', ['what']],
  ])('%j → %j', (text, expected) => {
    expect(meaningfulWords(text)).toEqual(expected);
  });
});

describe('isBackchannel', () => {
  it.each([
    ['uh-huh', true],
    ['Uh huh.', true],
    ['mm-hmm', true],
    ['Mm hmm', true],
    ['mhm', true],
    ['okay', true],
    ['OK.', true],
    ['yeah, right', true],
    ['okay okay', true],
    ['um, yeah', true],
    ['Got it.', true],
    ['i see', true],
    ['alright', true],
    ['sure', true],
    ['yes', true],
    ['', false],
    ['um', false],
    ['wait', false],
    ['yes please', false],
    ['okay so', false],
    ['no', false],
    ['right now', false],
    ['stop', false],
    ['got', false],
  ])('%j → %s', (text, expected) => {
    expect(isBackchannel(text, DEFAULT_BACKCHANNEL_WORDS)).toBe(expected);
  });

  it('uses the given list', () => {
    expect(isBackchannel('d’accord', ["d'accord", 'oui'])).toBe(true);
    expect(isBackchannel('okay', ['oui'])).toBe(false);
  });
});

describe('BargeInPolicy', () => {
  it('lets a backchannel pass while the agent speaks: no pause, no interrupt', () => {
    const policy = speakingPolicy();
    expect(policy.speechStart(1000)).toEqual([]);
    expect(policy.transcript('uh-huh', false, 1200)).toEqual([]);
    expect(policy.poll(1300)).toEqual([]);
    expect(policy.speechEnd(1350)).toEqual([IGNORE]);
    expect(policy.transcript('Uh-huh.', true, 1450)).toEqual([]);
    expect(policy.decisionDeadline()).toBeUndefined();
    expect(policy.poll(10_000)).toEqual([]);
  });

  it('pauses on 400 ms of speech without words, then resumes after falseInterruptionMs of silence', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.decisionDeadline()).toBe(1300);
    expect(policy.poll(1299)).toEqual([]);
    expect(policy.poll(1300)).toEqual([PAUSE]);
    expect(policy.speechEnd(1400)).toEqual([]);
    expect(policy.transcript('', true, 1500)).toEqual([]);
    expect(policy.decisionDeadline()).toBe(2900);
    expect(policy.poll(2899)).toEqual([]);
    expect(policy.poll(2900)).toEqual([RESUME]);
    expect(policy.decisionDeadline()).toBeUndefined();
    expect(policy.poll(5000)).toEqual([]);
  });

  it('pauses and interrupts on "wait, stop" once the speech is long enough', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.transcript('wait,', false, 1150)).toEqual([]);
    expect(policy.poll(1299)).toEqual([]);
    expect(policy.poll(1300)).toEqual([PAUSE, INTERRUPT]);
    expect(policy.transcript('wait, stop', false, 1400)).toEqual([]);
    expect(policy.speechEnd(1600)).toEqual([]);
    expect(policy.poll(10_000)).toEqual([]);
  });

  it('interrupts at once when the words come after the speech is long enough', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.transcript('wait, stop', false, 1350)).toEqual([PAUSE, INTERRUPT]);
  });

  it('commits the interrupt when the words arrive after the pause', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.poll(1300)).toEqual([PAUSE]);
    expect(policy.transcript('hold on', false, 1450)).toEqual([INTERRUPT]);
  });

  it('interrupts on a final transcript that arrives after the end of speech', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.poll(1300)).toEqual([PAUSE]);
    expect(policy.speechEnd(1500)).toEqual([]);
    expect(policy.transcript('I need to talk to a person', true, 1700)).toEqual([INTERRUPT]);
    expect(policy.poll(5000)).toEqual([]);
  });

  it('never lets an utterance shorter than minSpeechMs pause or interrupt', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.transcript('stop', false, 1100)).toEqual([]);
    expect(policy.speechEnd(1250)).toEqual([]);
    expect(policy.transcript('stop', true, 1300)).toEqual([]);
    expect(policy.decisionDeadline()).toBeUndefined();
    expect(policy.poll(5000)).toEqual([]);
  });

  it('resumes when a paused utterance turns out to be a backchannel', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.poll(1300)).toEqual([PAUSE]);
    expect(policy.speechEnd(1500)).toEqual([]);
    expect(policy.transcript('okay', true, 1600)).toEqual([]);
    expect(policy.poll(2999)).toEqual([]);
    expect(policy.poll(3000)).toEqual([RESUME]);
  });

  it('pauses a backchannel that goes on for maxBackchannelMs (the STT may be behind)', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.transcript('yeah', false, 1100)).toEqual([]);
    expect(policy.decisionDeadline()).toBe(2000);
    expect(policy.poll(1999)).toEqual([]);
    expect(policy.poll(2000)).toEqual([PAUSE]);
    expect(policy.transcript('yeah but wait', false, 2100)).toEqual([INTERRUPT]);
  });

  it('waits for silence after the last utterance before resuming', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.poll(1300)).toEqual([PAUSE]);
    policy.speechEnd(1400);
    expect(policy.speechStart(2000)).toEqual([]);
    expect(policy.decisionDeadline()).toBeUndefined();
    expect(policy.poll(2900)).toEqual([]);
    expect(policy.speechEnd(2100)).toEqual([]);
    expect(policy.poll(3599)).toEqual([]);
    expect(policy.poll(3600)).toEqual([RESUME]);
  });

  it('keeps timing from the first start when the VAD repeats speechStart', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.speechStart(1200)).toEqual([]);
    expect(policy.poll(1300)).toEqual([PAUSE]);
  });

  it('decides from the inputs even when a poll came late', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.speechEnd(1600)).toEqual([PAUSE]);
    expect(policy.poll(3200)).toEqual([RESUME]);
  });

  it('pauses at speech onset when minSpeechMs is 0 (the VAD already applied its window)', () => {
    const policy = speakingPolicy({ minSpeechMs: 0 });
    expect(policy.speechStart(1000)).toEqual([PAUSE]);
  });

  it('ignores the caller while the agent is silent, and after the interrupt', () => {
    const policy = new BargeInPolicy();
    expect(policy.speechStart(100)).toEqual([]);
    expect(policy.transcript('stop right there', false, 600)).toEqual([]);
    expect(policy.poll(1000)).toEqual([]);
    expect(policy.speechEnd(1100)).toEqual([]);

    expect(policy.agentSpeaking(true, 2000)).toEqual([]);
    policy.speechStart(2100);
    expect(policy.transcript('no no no', false, 2500)).toEqual([PAUSE, INTERRUPT]);
    expect(policy.speechStart(3000)).toEqual([]);
    expect(policy.poll(4000)).toEqual([]);
    expect(policy.agentSpeaking(false, 4100)).toEqual([]);
  });

  it('starts each reply undisturbed', () => {
    const policy = speakingPolicy();
    policy.speechStart(1000);
    expect(policy.poll(1300)).toEqual([PAUSE]);
    expect(policy.agentSpeaking(false, 1400)).toEqual([]);
    expect(policy.poll(5000)).toEqual([]);
    policy.speechEnd(1500);
    expect(policy.agentSpeaking(true, 6000)).toEqual([]);
    expect(policy.decisionDeadline()).toBeUndefined();
  });

  it('times speech already under way when a reply starts from the start of the reply', () => {
    const policy = new BargeInPolicy();
    policy.speechStart(1000);
    expect(policy.agentSpeaking(true, 2000)).toEqual([]);
    expect(policy.decisionDeadline()).toBe(2300);
    expect(policy.poll(2300)).toEqual([PAUSE]);
  });

  it('takes its thresholds and backchannel list from the options', () => {
    const policy = speakingPolicy({ minSpeechMs: 500, falseInterruptionMs: 800, backchannelWords: ['oui'] });
    policy.speechStart(1000);
    expect(policy.transcript('oui', false, 1100)).toEqual([]);
    expect(policy.speechEnd(1400)).toEqual([IGNORE]);
    policy.speechStart(2000);
    expect(policy.transcript('okay', false, 2100)).toEqual([]);
    expect(policy.poll(2500)).toEqual([PAUSE, INTERRUPT]);

    const patient = speakingPolicy({ minSpeechMs: 500, falseInterruptionMs: 800 });
    patient.speechStart(1000);
    expect(patient.poll(1500)).toEqual([PAUSE]);
    patient.speechEnd(1600);
    expect(patient.poll(2400)).toEqual([RESUME]);
  });
});

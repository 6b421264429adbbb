import { systemClock, type Clock } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { CallStreamOptions, TwilioCall } from '../../testing/twilio-call.ts';
import { TwilioSimulator } from '../../testing/twilio-simulator.ts';
import { pcm16ToMulaw } from '../../voice/codec.ts';
import { resampleAll } from '../../voice/resample.ts';
import { AgentSpeech } from './agent-speech.ts';
import { CallerLines, type LineSource, type NextAction } from './caller-lines.ts';
import { openCallerVoice, type CallerVoice } from './caller-voice.ts';
import { answerServer, callServer, describeEnd, inboundConversation } from './connect.ts';
import type { CallOptions } from './options.ts';
import { openPocketsphinx, type Recogniser } from './recogniser.ts';
import { CallReport, type CallTerminal } from './report.ts';
import type { OverAction } from './script.ts';
import { CallFailure, OperatorApi, poll } from './server-api.ts';

/**
 * `operator call` without the terminal: places a call over Twilio's wire protocol (through the
 * simulator), speaks each line, reports what the agent says and how fast, and at the end shows
 * what the server stored. Lines come from any iterable, so a test drives it without a TTY.
 */
export type { LineSource };

/** After a script line, the agent's answer is over once it has been quiet this long (unless an `/over` line follows). */
const SETTLE_MS = 1_500;

/** The caller's audio goes through the production resampler and codec, as a phone's would through the network's. */
const STREAM: CallStreamOptions = { encode: (pcm16k) => pcm16ToMulaw(resampleAll(pcm16k, 16_000, 8_000)) };

/**
 * The system clock, with a late timer's negative delay made 0: the caller line schedules each frame
 * against its start time, so a delay can come out a hair below zero, and Node would print a
 * TimeoutNegativeWarning on the user's terminal.
 */
const LINE_CLOCK: Clock = { ...systemClock, setTimeout: (fn, delayMs) => systemClock.setTimeout(fn, Math.max(0, delayMs)) };

interface Session {
  o: CallOptions;
  report: CallReport;
  voice: CallerVoice;
  call: TwilioCall;
  speech: AgentSpeech;
  /** Caller turns started; a turn reports its latency only if no later turn has started. */
  turns: number;
}

/** Runs one call; resolves with the exit code (1 when the server cannot be reached or refuses). */
export async function runCall(o: CallOptions, lines: LineSource, terminal: CallTerminal): Promise<number> {
  const report = new CallReport(terminal, o.json);
  const cleanup: (() => Promise<void>)[] = [];
  try {
    return await placeAndTalk(o, lines, report, cleanup);
  } catch (err) {
    if (!(err instanceof CallFailure)) throw err;
    report.fail(err.message);
    return 1;
  } finally {
    for (const close of cleanup.reverse()) await close().catch(() => undefined);
  }
}

async function placeAndTalk(o: CallOptions, lines: LineSource, report: CallReport, cleanup: (() => Promise<void>)[]): Promise<number> {
  const api = new OperatorApi(o.server, o.token);
  const agents = await api.agents();
  if (!agents.includes(o.agent)) throw new CallFailure(`The server at ${o.server} has no agent "${o.agent}" (it has: ${agents.join(', ') || 'none'}).`);
  const voice = await openCallerVoice(o.voice).catch((err: unknown) => {
    throw new CallFailure(errorMessage(err));
  });
  const recogniser = o.recognise ? await openRecogniser(report) : undefined;
  if (recogniser) cleanup.push(() => recogniser.close());
  const sim = await startSimulator(o);
  cleanup.push(() => sim.close());
  sim.useServer({ serverUrl: o.server, publicUrl: o.publicUrl });
  report.emit({ type: 'ready', simulator: sim.url, direction: o.outbound ? 'outbound' : 'inbound', from: o.from, to: o.to });

  const connected = o.outbound ? await answerServer(sim, api, o, STREAM) : await callServer(sim, o, STREAM);
  const { call } = connected;
  const speech = new AgentSpeech({
    clock: systemClock,
    ...(recogniser ? { recogniser } : {}),
    onUtterance: (u, text) => report.emit({ type: 'agent', ...(text !== undefined ? { text } : {}), durationMs: Math.round(u.endMs - u.startMs), interrupted: u.interrupted }),
  });
  speech.attach(call);
  cleanup.push(() => speech.stop());
  call.on('clear', (c) => speech.inOrder(() => report.emit({ type: 'clear', droppedMs: Math.round(c.droppedMs) })));
  const conversationId = connected.conversationId ?? (await inboundConversation(api, o, call));
  const session: Session = { o, report, voice, call, speech, turns: 0 };
  await announce(session, api, conversationId);
  await converse(session, lines);
  return finish(session, api, conversationId);
}

async function openRecogniser(report: CallReport): Promise<Recogniser | undefined> {
  try {
    return await openPocketsphinx();
  } catch (err) {
    report.warn(`the agent's speech will not be recognised (${errorMessage(err)}); only its timing is shown. --no-recognise skips this.`);
    return undefined;
  }
}

async function startSimulator(o: CallOptions): Promise<TwilioSimulator> {
  try {
    return await TwilioSimulator.start({ port: o.twilioPort, accountSid: o.accountSid, authToken: o.authToken, clock: LINE_CLOCK });
  } catch (err) {
    throw new CallFailure(
      `Could not serve the simulated Twilio API on port ${o.twilioPort} (${errorMessage(err)}); pick another with --twilio-port, and point the server's TWILIO_API_URL at it.`,
    );
  }
}

async function announce(s: Session, api: OperatorApi, conversationId: string | undefined): Promise<void> {
  const agent = conversationId ? await api.conversation(conversationId).then((c) => c.agent, () => undefined) : undefined;
  if (agent && agent !== s.o.agent) s.report.warn(`${s.o.to} reaches agent "${agent}", not "${s.o.agent}" (channels.voice in the server's config decides).`);
  const interactive = !s.o.script && !s.o.json;
  s.report.emit({
    type: 'connected',
    callSid: s.call.sid,
    ...(conversationId ? { conversationId } : {}),
    ...(agent ? { agent } : {}),
    ...(interactive ? { hint: 'Type to speak (typing while the agent talks barges in); #123# presses keys; /hangup or Ctrl-D hangs up.' } : {}),
  });
  if (!conversationId) s.report.warn(`no active voice conversation of ${s.o.from} was found on the server, so its transcript cannot be shown.`);
}

/** Resolves when the call is over or the user asked to hang up (the signal). */
function stopped(s: Session): Promise<'stop'> {
  return new Promise((resolve) => {
    void s.call.ended.then(() => resolve('stop'));
    const signal = s.o.signal;
    if (signal?.aborted) resolve('stop');
    signal?.addEventListener('abort', () => resolve('stop'), { once: true });
  });
}

/** What came of a line: when the agent's answer to it began (its first audio), if it did. */
interface Answer {
  startedAtMs?: number;
}

const NO_ANSWER: Answer = {};

async function converse(s: Session, lines: LineSource): Promise<void> {
  const actions = new CallerLines(lines, (message) => s.report.warn(message));
  const stop = stopped(s);
  try {
    await (s.o.script ? playScript(s, actions, stop) : typeAlong(s, actions, stop));
  } finally {
    actions.close();
  }
}

/** Typed lines do not wait: the next one may barge in on the answer to this one. */
async function typeAlong(s: Session, actions: CallerLines, stop: Promise<'stop'>): Promise<void> {
  for (;;) {
    const next = await Promise.race([actions.next(), stop]);
    if (next === 'stop' || next === undefined || next.kind === 'hangup') return;
    // An `/over` typed counts its time from now: typing is already how one barges in.
    void act(s, next, { startedAtMs: LINE_CLOCK.monotonic() });
  }
}

/**
 * Each line waits for the agent's answer to the one before it (the greeting, before the first):
 * its first audio, then `SETTLE_MS` of quiet. The quiet is skipped when the next line is an
 * `/over`, which is said while that answer plays. So the next line is read while the current one
 * is spoken, and its kind decides only how long to wait, never when to speak.
 */
async function playScript(s: Session, actions: CallerLines, stop: Promise<'stop'>): Promise<void> {
  let answer = firstAudio(s, s.call.stream?.startedAtMs ?? 0);
  for (;;) {
    const next = await Promise.race([actions.next(), stop]);
    const heard = await Promise.race([answer, stop]);
    if (next === 'stop' || heard === 'stop') return;
    if (next?.kind !== 'over' && heard.startedAtMs !== undefined) {
      if ((await Promise.race([s.speech.whenQuiet(SETTLE_MS), stop])) === 'stop') return;
    }
    if (next === undefined || next.kind === 'hangup') return;
    answer = act(s, next, heard);
  }
}

/** Does one line; `before` is the answer to the line before it, which an `/over` speaks over. */
async function act(s: Session, action: Exclude<NextAction, undefined>, before: Answer): Promise<Answer> {
  try {
    if (action.kind === 'say') return await speak(s, action.text);
    if (action.kind === 'dtmf') return await press(s, action.digits);
    if (action.kind === 'over') return await speakOver(s, action, before);
    if (action.kind === 'wait') await sleep(action.ms);
  } catch (err) {
    if (!s.call.isOver) s.report.warn(errorMessage(err));
  }
  return NO_ANSWER;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * `/over`: waits until `ms` after the previous answer began, then speaks, normally into that
 * answer (a barge-in). When there is nothing to speak over (the answer never came, or it has
 * already ended) the text is still said, so that the rest of the script plays as written.
 */
async function speakOver(s: Session, action: OverAction, before: Answer): Promise<Answer> {
  if (before.startedAtMs !== undefined) await sleep(before.startedAtMs + action.ms - LINE_CLOCK.monotonic());
  if (s.o.script && (before.startedAtMs === undefined || !s.speech.talkingAt(LINE_CLOCK.monotonic()))) {
    s.report.warn(`"/over ${action.text}": the agent was not talking: no barge-in, the line is just said`);
  }
  return speak(s, action.text);
}

async function speak(s: Session, text: string): Promise<Answer> {
  if (s.call.isOver) return NO_ANSWER;
  const turn = ++s.turns;
  if (s.o.script || s.o.json) s.report.emit({ type: 'you', text });
  const pcm = await s.voice.speak(text);
  const endMs = await s.call.say(pcm);
  return measureAnswer(s, turn, endMs, 'speech');
}

async function press(s: Session, digits: string): Promise<Answer> {
  if (s.call.isOver) return NO_ANSWER;
  const turn = ++s.turns;
  if (s.o.script || s.o.json) s.report.emit({ type: 'keys', digits });
  const endMs = await s.call.pressDigits(digits);
  return measureAnswer(s, turn, endMs, 'keys');
}

/**
 * Reports how long after `endMs` the agent's answer began, and resolves then (a script waits for
 * the quiet after it on its own, unless the next line speaks over it).
 */
async function measureAnswer(s: Session, turn: number, endMs: number, after: 'speech' | 'keys'): Promise<Answer> {
  if (turn !== s.turns || s.call.isOver) return NO_ANSWER;
  // After what the agent said before it (recognition takes a moment), so that the output reads in order.
  const emit = (ms: number | null, reason?: string): void => s.speech.inOrder(() => s.report.emit({ type: 'latency', after, ms, ...(reason ? { reason } : {}) }));
  if (s.speech.talkingAt(endMs)) {
    // Audio now is the rest of what the agent was saying, not an answer: no latency to measure,
    // but it is what an `/over` on the next line would speak over.
    emit(null, 'the agent was still talking when you stopped');
    return { startedAtMs: endMs };
  }
  try {
    const first = await s.call.waitForAudio(endMs, s.o.answerTimeoutMs);
    emit(Math.round(first.latencyMs));
    return { startedAtMs: first.atMs };
  } catch {
    if (!s.call.isOver) emit(null, `no agent audio within ${s.o.answerTimeoutMs / 1000} s`);
    return NO_ANSWER;
  }
}

/** The greeting (if any): a script waits for it before its first line, or speaks over it. */
async function firstAudio(s: Session, sinceMs: number): Promise<Answer> {
  try {
    return { startedAtMs: (await s.call.waitForAudio(sinceMs, s.o.answerTimeoutMs)).atMs };
  } catch {
    return NO_ANSWER;
  }
}

async function finish(s: Session, api: OperatorApi, conversationId: string | undefined): Promise<number> {
  if (!s.call.isOver) await s.call.hangUp();
  const end = await s.call.ended;
  await s.speech.stop();
  if (s.call.transferredTo) s.report.emit({ type: 'transfer', to: s.call.transferredTo });
  const { message, failed } = describeEnd(s.call);
  s.report.emit({ type: 'ended', by: end.cause, message });
  if (failed) s.report.fail(`The call failed: ${message}`);
  if (conversationId) await showTranscript(s, api, conversationId);
  return failed ? 1 : 0;
}

/** The stored conversation, once the server has ended it (it does so right after the hang-up). */
async function showTranscript(s: Session, api: OperatorApi, id: string): Promise<void> {
  try {
    const ended = await poll(async () => {
      const c = await api.conversation(id);
      return c.status === 'ended' ? c : undefined;
    }, 3_000);
    s.report.emit({ type: 'transcript', conversation: ended ?? (await api.conversation(id)) });
  } catch (err) {
    s.report.warn(`could not fetch the transcript: ${errorMessage(err)}`);
  }
}

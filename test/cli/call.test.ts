import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallOptions } from '../../src/cli/call/options.ts';
import type { CallTerminal } from '../../src/cli/call/report.ts';
import { runCall } from '../../src/cli/call/session.ts';
import { serve, type TestServer } from '../helpers/api.ts';
import { scriptedAgent } from '../helpers/server.ts';
import { freePort } from '../helpers/ports.ts';
import { AGENT_NUMBER, callOptions } from '../helpers/call.ts';

/** `operator call` against the test's server, as a script with the tone voice. */
function options(server: string, twilioPort: number, extra: Partial<CallOptions> = {}): CallOptions {
  return callOptions(server, twilioPort, { accountSid: SID, authToken: TOKEN, publicUrl: PUBLIC_URL }, extra);
}

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SID = `AC${'cd'.repeat(16)}`;
const TOKEN = 'call-cli-test-token';
/** What the server was told as OPERATOR_PUBLIC_URL: a tunnel's name, reached at its local address. */
const PUBLIC_URL = 'https://operator.example.test';

/** Scripted STT, TTS and model with the energy VAD: the call goes the same way every time. */
function scriptedVoiceConfig(steps: object[] = [{ deltas: ['Your order has shipped.'] }], transcripts = ['where is my order']): object {
  return {
    pool: { size: 1 },
    channels: { voice: [{ number: AGENT_NUMBER, agent: 'support' }] },
    agents: {
      support: scriptedAgent(steps, {
        greeting: 'Hello',
        voice: {
          stt: { engine: 'scripted', transcripts },
          tts: { engine: 'scripted' },
          vad: { engine: 'energy' },
          transfer: { billing: '+15550100200' },
          silence: { reprompt: '60s', hangup: '120s' },
        },
      }),
    },
  };
}

interface RecordingTerminal extends CallTerminal {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern`. */
  printed(pattern: RegExp): Promise<void>;
}

function recordingTerminal(): RecordingTerminal {
  const out: string[] = [];
  const err: string[] = [];
  const waiting: { pattern: RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of waiting.splice(0)) (w.pattern.test(out.join('')) ? w.resolve : () => waiting.push(w))();
  };
  return {
    out: (t) => {
      out.push(t);
      check();
    },
    err: (t) => err.push(t),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    printed: (pattern) => new Promise((resolve) => {
      waiting.push({ pattern, resolve });
      check();
    }),
  };
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('operator call', () => {
  it('calls the agent over the Twilio protocol, times its answer and prints the stored transcript', async () => {
    const port = await freePort();
    srv = await serve(scriptedVoiceConfig(), { twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` }, publicUrl: PUBLIC_URL });
    const terminal = recordingTerminal();

    const code = await runCall(options(srv.url, port), ['where is my order', '/hangup'], terminal);

    const out = terminal.stdout();
    expect(terminal.stderr()).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^Connected \(call CA[0-9a-f]{32}, conversation conv_\S+ with support\)\.$/m);
    expect(out).toMatch(/^you: where is my order\nlatency: \d+ ms \(end of your speech → first agent audio\)$/m);
    // Without recognition each agent utterance is reported by its length: the greeting, then the answer.
    expect(out.match(/^agent: \(\d+\.\d s of speech\)$/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(out).toContain('[call ended: you hung up]');
    const transcript = out.slice(out.indexOf('Transcript of conv_'));
    expect(transcript).toMatch(/^Transcript of conv_\S+ \(support, ended: caller_hangup\):$/m);
    expect(transcript).toMatch(/ {2}agent: Hello\n {2}you: {3}where is my order\n {2}agent: Your order has shipped\.\s+\(\d+ ms\)/);
  });

  it('writes one JSON event per line with --json', async () => {
    const port = await freePort();
    srv = await serve(scriptedVoiceConfig(), { twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` }, publicUrl: PUBLIC_URL });
    const terminal = recordingTerminal();

    const code = await runCall(options(srv.url, port, { json: true }), ['where is my order'], terminal);

    expect(code).toBe(0);
    const events = terminal.stdout().trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    expect(events.map((e) => e.type).filter((t) => t !== 'agent')).toEqual(['ready', 'connected', 'you', 'latency', 'ended', 'transcript']);
    const latency = events.find((e) => e.type === 'latency')!;
    expect(latency.ms).toBeTypeOf('number');
    const stored = events.at(-1)!.conversation as { items: { role: string; text: string }[] };
    expect(stored.items.map((i) => [i.role, i.text])).toEqual([
      ['agent', 'Hello'],
      ['user', 'where is my order'],
      ['agent', 'Your order has shipped.'],
    ]);
  });

  it('answers the call the agent places with --outbound', async () => {
    const port = await freePort();
    srv = await serve(scriptedVoiceConfig(), { twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` }, publicUrl: PUBLIC_URL });
    const terminal = recordingTerminal();

    const code = await runCall(options(srv.url, port, { outbound: true, from: '+15550103333' }), ['where is my order'], terminal);

    const out = terminal.stdout();
    expect(terminal.stderr()).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('the agent calls +15550103333.');
    expect(out).toMatch(/^latency: \d+ ms/m);
    expect(out).toMatch(/ {2}you: {3}where is my order\n {2}agent: Your order has shipped\./);
    const customer = await fetch(`${srv.url}/v1/customers?phone=%2B15550103333`).then((r) => r.json() as Promise<{ data: unknown[] }>);
    expect(customer.data).toHaveLength(1);
  });

  it('reports a transfer the agent makes through the REST API', async () => {
    const port = await freePort();
    const steps = [{ deltas: ['Putting you through.'], toolCalls: [{ name: 'transfer_call', args: { target: 'billing' } }] }, { deltas: [''] }];
    srv = await serve(scriptedVoiceConfig(steps, ['billing please']), {
      twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` },
      publicUrl: PUBLIC_URL,
    });
    const terminal = recordingTerminal();

    const code = await runCall(options(srv.url, port), ['billing please'], terminal);

    const out = terminal.stdout();
    expect(code).toBe(0);
    expect(out).toContain('[transfer] → +15550100200\n[call ended: transferred to +15550100200]');
    expect(out).toMatch(/^Transcript of conv_\S+ \(support, ended: transferred\):$/m);
    expect(out).toContain('  [tool transfer_call]\n  agent: Putting you through.');
  });

  it('barges in when a line is typed while the agent talks', async () => {
    const port = await freePort();
    const long = 'This is a long answer that goes on and on. It has several sentences to speak. Each one takes a while to say out loud.';
    srv = await serve(scriptedVoiceConfig([{ deltas: [long] }, { deltas: ['Sure, stopping.'] }], ['tell me everything', 'stop please']), {
      twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` },
      publicUrl: PUBLIC_URL,
    });
    const terminal = recordingTerminal();
    async function* typing(): AsyncGenerator<string> {
      await terminal.printed(/^agent: .*\n/m); // the greeting has played
      yield 'tell me everything';
      await terminal.printed(/^latency: \d+ ms/m); // the long answer (7 s) has begun
      await new Promise((r) => setTimeout(r, 1500)); // the call runs in real time: let some of it be heard
      yield 'stop please';
      await terminal.printed(/^agent: [\s\S]*^agent: [\s\S]*^agent: .*\n/m); // greeting, cut answer, answer to the barge-in
    }

    const code = await runCall(options(srv.url, port, { script: false }), typing(), terminal);

    const out = terminal.stdout();
    expect(code).toBe(0);
    expect(out).toContain('[clear] the agent stopped talking (barge-in)');
    expect(out).toMatch(/^agent: \(\d+\.\d s of speech\) \[interrupted\]$/m);
    const cut = /agent: (This is a long[^\n]*?) \[interrupted\]/.exec(out)?.[1];
    expect(cut && long.startsWith(cut.trim()) && cut.length < long.length).toBe(true);
    expect(out).toMatch(/ {2}you: {3}stop please\n {2}agent: Sure, stopping\./);
  });

  it('barges in from a script with /over, a time after the answer to the line before began', async () => {
    const port = await freePort();
    const long = 'This is a long answer that goes on and on. It has several sentences to speak. Each one takes a while to say out loud.';
    srv = await serve(scriptedVoiceConfig([{ deltas: [long] }, { deltas: ['Sure, stopping.'] }], ['where is my order', 'stop please wait']), {
      twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` },
      publicUrl: PUBLIC_URL,
    });
    const terminal = recordingTerminal();
    const started = Date.now();

    const script = ['where is my order', '// the answer takes about 7 s to say', '/over 1s stop please wait'];
    const code = await runCall(options(srv.url, port, { json: true }), script, terminal);

    expect(Date.now() - started).toBeLessThan(15_000); // not the whole long answer, then 1.5 s of quiet
    expect(code).toBe(0);
    expect(terminal.stderr()).toBe(''); // no "the agent was not talking"
    const events = terminal.stdout().trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const types = events.map((e) => e.type).filter((t) => t !== 'agent');
    expect(types).toEqual(['ready', 'connected', 'you', 'latency', 'you', 'clear', 'latency', 'ended', 'transcript']);
    expect(events.filter((e) => e.type === 'you').map((e) => e.text)).toEqual(['where is my order', 'stop please wait']);
    expect(events.filter((e) => e.type === 'latency').map((e) => typeof e.ms)).toEqual(['number', 'number']);
    expect(events.some((e) => e.type === 'agent' && e.interrupted === true)).toBe(true);
    const stored = events.at(-1)!.conversation as { items: { role: string; text: string; interrupted?: boolean }[] };
    expect(stored.items.map((i) => [i.role, i.interrupted === true])).toEqual([
      ['agent', false],
      ['user', false],
      ['agent', true],
      ['user', false],
      ['agent', false],
    ]);
    const [, asked, cut, overText, answer] = stored.items.map((i) => i.text);
    expect(asked).toBe('where is my order');
    expect(long.startsWith(cut!) && cut!.length < long.length).toBe(true);
    expect([overText, answer]).toEqual(['stop please wait', 'Sure, stopping.']);
  });

  it('just says an /over line, with a warning, when the agent has already stopped talking', async () => {
    const port = await freePort();
    srv = await serve(scriptedVoiceConfig([{ deltas: ['Shipped.'] }, { deltas: ['Good.'] }], ['where is my order', 'thanks']), {
      twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` },
      publicUrl: PUBLIC_URL,
    });
    const terminal = recordingTerminal();

    const code = await runCall(options(srv.url, port), ['where is my order', '/over 2s thanks'], terminal);

    const out = terminal.stdout();
    expect(code).toBe(0);
    expect(terminal.stderr()).toBe('warning: "/over thanks": the agent was not talking: no barge-in, the line is just said\n');
    expect(out).not.toContain('[clear]');
    expect(out).toMatch(/ {2}you: {3}where is my order\n {2}agent: Shipped\.\s+\(\d+ ms\)\n {2}you: {3}thanks\n {2}agent: Good\./);
  });

  it('says the server lacks Twilio credentials when its voice webhook is off (exit 1)', async () => {
    const port = await freePort();
    srv = await serve(scriptedVoiceConfig(), { publicUrl: PUBLIC_URL });
    const terminal = recordingTerminal();

    const code = await runCall(options(srv.url, port), ['hello'], terminal);

    expect(code).toBe(1);
    expect(terminal.stderr()).toMatch(/404.*is TWILIO_AUTH_TOKEN set on the server\?/);
    expect(terminal.stderr()).toContain(`TWILIO_API_URL=http://127.0.0.1:${port}`);
  });

  it('names the cause when the server cannot be reached (exit 1)', async () => {
    const deadPort = await freePort();
    const terminal = recordingTerminal();

    const code = await runCall(options(`http://127.0.0.1:${deadPort}`, 0), ['hello'], terminal);

    expect(code).toBe(1);
    expect(terminal.stderr()).toMatch(/Could not reach the server at http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\)\. Is it running/);
  });

  it('documents itself in --help and checks its options', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'call', '--help']);
    for (const option of ['--server', '--public-url', '--to', '--from', '--outbound', '--twilio-port', '--script', '--json', '--no-recognise']) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toContain('TWILIO_API_URL=http://127.0.0.1:4010 npm start');
    expect(stdout).toMatch(/^ {2}\/over 1s TEXT +Say TEXT 1 s after the agent's answer/m);
    const bad = await run(process.execPath, [CLI, 'call', 'support', '--to', '5557654321']).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toContain('--to must be an E.164 phone number');
  });
});

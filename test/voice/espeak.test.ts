import { MessageChannel, Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOperatorError, type OperatorError } from '../../src/core/errors.ts';
import { findBinary } from '../../src/voice/engines-status.ts';
import { EspeakTts } from '../../src/voice/tts/espeak.ts';
import { startEspeakHost, type EspeakHost } from '../../src/voice/tts/espeak-host.ts';
import { ESPEAK_MAX_TEXT_CHARS, ESPEAK_RATE, type FromHost, type SynthRequest } from '../../src/voice/tts/espeak-protocol.ts';
import { parseWav, WavStreamDecoder, writeWav } from '../../src/voice/wav.ts';

/** Only the Debian package's absence skips these (CI installs it in .ci/run). */
const skipped = findBinary('espeak-ng') ? undefined : 'espeak-ng is not installed';

const SENTENCE = 'The quick brown fox jumps over the lazy dog by the river.';

interface Spoken {
  chunks: Int16Array[];
  samples: number;
  firstChunkMs: number;
  totalMs: number;
}

async function speak(tts: EspeakTts, text: string, signal = new AbortController().signal): Promise<Spoken> {
  const started = performance.now();
  const spoken: Spoken = { chunks: [], samples: 0, firstChunkMs: -1, totalMs: 0 };
  for await (const chunk of tts.synthesize(text, { signal })) {
    if (spoken.chunks.length === 0) spoken.firstChunkMs = performance.now() - started;
    spoken.chunks.push(chunk);
    spoken.samples += chunk.length;
  }
  spoken.totalMs = performance.now() - started;
  return spoken;
}

async function failure(run: () => Promise<unknown>): Promise<OperatorError> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isOperatorError(err)) throw new Error(`expected an OperatorError, got ${String(err)}`);
  return err;
}

/** espeak-ng's output for the same text varies by a few samples from one call to the next. */
function sameLength(samples: number, reference: number): boolean {
  return Math.abs(samples - reference) <= reference * 0.01;
}

function rms(chunks: readonly Int16Array[]): number {
  let sum = 0;
  let n = 0;
  for (const c of chunks) {
    for (const s of c) sum += s * s;
    n += c.length;
  }
  return Math.sqrt(sum / Math.max(1, n));
}

describe.skipIf(skipped !== undefined)(`espeak-ng speech host${skipped ? ` (skipped: ${skipped})` : ''}`, () => {
  let host: EspeakHost;
  let tts: EspeakTts;
  let reference: number;

  beforeAll(async () => {
    host = await startEspeakHost();
    tts = new EspeakTts(host.connect());
    reference = (await speak(tts, SENTENCE)).samples;
  });
  afterAll(async () => {
    await tts?.close();
    await host?.close();
  });

  it('loads the library in its thread and streams a sentence in chunks, far faster than real time', async () => {
    expect(host.mode).toBe('native');
    expect(host.detail).toMatch(/libespeak-ng.*koffi/);
    const spoken = await speak(tts, SENTENCE);
    const audioMs = (spoken.samples / ESPEAK_RATE) * 1000;
    console.info(
      `espeak-ng host (${host.mode}): started in ${host.startMs} ms; ${SENTENCE.split(' ').length} words: first chunk ${spoken.firstChunkMs.toFixed(1)} ms, ` +
        `all ${spoken.totalMs.toFixed(1)} ms for ${audioMs.toFixed(0)} ms of audio (real-time factor ${(spoken.totalMs / audioMs).toFixed(4)})`,
    );
    expect(tts.sampleRate).toBe(22_050);
    expect(spoken.chunks.length).toBeGreaterThan(5);
    expect(spoken.chunks.every((c) => c instanceof Int16Array)).toBe(true);
    expect(audioMs).toBeGreaterThan(2_000);
    expect(audioMs).toBeLessThan(6_000);
    expect(rms(spoken.chunks)).toBeGreaterThan(500); // speech, not silence
    expect(sameLength(spoken.samples, reference)).toBe(true); // the same text, the same audio
    expect(spoken.totalMs).toBeLessThan(audioMs / 5);
  });

  it('reads text as plain text: markup is spoken, not obeyed', async () => {
    const plain = await speak(tts, 'hello');
    const markup = await speak(tts, '<b>hello</b>');
    expect(markup.samples).toBeGreaterThan(plain.samples * 1.5);
  });

  it('stops when the signal aborts, without throwing, and serves the next request whole', async () => {
    const controller = new AbortController();
    let samples = 0;
    for await (const chunk of tts.synthesize('This is a fairly long sentence that goes on. '.repeat(40), { signal: controller.signal })) {
      samples += chunk.length;
      controller.abort();
    }
    expect(samples).toBeGreaterThan(0);
    expect(samples).toBeLessThan(ESPEAK_RATE); // one chunk, not 40 sentences
    expect(sameLength((await speak(tts, SENTENCE)).samples, reference)).toBe(true);
    expect((await speak(tts, SENTENCE, AbortSignal.abort())).samples).toBe(0);
  });

  it('survives bad requests: empty, control characters, the longest text, too long, an unknown voice', { timeout: 30_000 }, async () => {
    expect((await speak(tts, '')).chunks).toHaveLength(0);
    expect((await speak(tts, ' \n\t ')).chunks).toHaveLength(0);
    expect((await speak(tts, 'bell\u0007 nul\u0000 escape\u001b[31m done')).samples).toBeGreaterThan(ESPEAK_RATE / 2);

    const longest = 'Please hold the line. '.repeat(500).slice(0, ESPEAK_MAX_TEXT_CHARS);
    const long = await speak(tts, longest);
    console.info(`espeak-ng: ${ESPEAK_MAX_TEXT_CHARS} characters -> ${(long.samples / ESPEAK_RATE).toFixed(0)} s of audio in ${long.totalMs.toFixed(0)} ms`);
    expect(long.samples / ESPEAK_RATE).toBeGreaterThan(300);

    const tooLong = await failure(() => speak(tts, `${longest}!`));
    expect([tooLong.kind, tooLong.code]).toEqual(['invalid_request', 'tts_text_too_long']);
    const unknown = await failure(() => speak(new EspeakTts(host.connect(), { voice: 'xx-nowhere' }), SENTENCE));
    expect([unknown.kind, unknown.code]).toEqual(['invalid_request', 'tts_voice_not_found']);
    expect(() => new EspeakTts(host.connect(), { voice: '../../etc/passwd' })).toThrow(expect.objectContaining({ code: 'tts_voice_invalid' }));
    expect(() => new EspeakTts(host.connect(), { rate: 5_000 })).toThrow(expect.objectContaining({ code: 'tts_rate_invalid' }));

    expect(sameLength((await speak(tts, SENTENCE)).samples, reference)).toBe(true);
  });

  it('answers malformed messages on a port with an error, and goes on', async () => {
    const port = host.connect();
    const replies: unknown[] = [];
    const replied = new Promise<void>((resolve) =>
      port.on('message', (m: unknown) => {
        replies.push(m);
        if (replies.length === 2) resolve();
      }),
    );
    port.postMessage(null);
    port.postMessage('speak');
    port.postMessage({ t: 'synth', id: 1, text: 42, voice: 'en-us', wpm: 175, stop: new Int32Array(new SharedArrayBuffer(4)) });
    port.postMessage({ t: 'synth', id: 2, text: 'hi', voice: 'en-us', wpm: 175, stop: new Int32Array(1) });
    await replied;
    port.close();
    expect(replies).toEqual([
      expect.objectContaining({ t: 'error', id: 1, code: 'tts_text_invalid' }),
      expect.objectContaining({ t: 'error', id: 2, code: 'tts_request_invalid' }),
    ]);
    expect(sameLength((await speak(tts, SENTENCE)).samples, reference)).toBe(true);
  });

  it('serves many clients, one request at a time, each whole', async () => {
    const clients = [0, 1, 2].map(() => new EspeakTts(host.connect()));
    const spoken = await Promise.all(clients.map((c) => speak(c, SENTENCE)));
    expect(spoken.map((s) => sameLength(s.samples, reference))).toEqual([true, true, true]);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('stops speaking as soon as the request is stopped, mid-synthesis', async () => {
    const port = host.connect();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    let chunks = 0;
    let chunksAfterStop = 0;
    const ended = new Promise<void>((resolve) =>
      port.on('message', (m: FromHost) => {
        if (m.t === 'end') return resolve();
        chunks++;
        if (chunks === 1) Atomics.store(stop, 0, 1);
        else chunksAfterStop++;
      }),
    );
    const request: SynthRequest = { t: 'synth', id: 7, text: 'Please hold the line. '.repeat(450), voice: 'en-us', wpm: 175, stop };
    port.postMessage(request);
    await ended;
    port.close();
    // The whole text is ~7,000 chunks; the host sees the flag at its next one.
    expect(chunksAfterStop).toBeLessThan(200);
  });

  it('goes on serving when a client goes away mid-request, closed or its port dropped', async () => {
    for (const leave of ['close', 'drop-port'] as const) {
      const port = host.connect();
      const leaving = new EspeakTts(port);
      const iterator = leaving.synthesize('Please hold the line. '.repeat(450), { signal: new AbortController().signal })[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      if (leave === 'close') await leaving.close();
      else port.close(); // as if its worker died: the host sees the port close
      expect(sameLength((await speak(tts, SENTENCE)).samples, reference)).toBe(true);
    }
  });

  it('works from another thread, through a transferred port', async () => {
    const module = new URL('../../src/voice/tts/espeak.ts', import.meta.url).href;
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(${JSON.stringify(module)}).then(async ({ EspeakTts }) => {
        const tts = new EspeakTts(workerData.port);
        let samples = 0;
        for await (const chunk of tts.synthesize(workerData.text, { signal: new AbortController().signal })) samples += chunk.length;
        await tts.close();
        parentPort.postMessage(samples);
      });`;
    const port = host.connect();
    const samples = await new Promise<number>((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { port, text: SENTENCE }, transferList: [port] });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(sameLength(samples, reference)).toBe(true);
  });

  it('a second start in the same thread joins the running host; the last one out stops it', async () => {
    const second = await startEspeakHost();
    expect([second.mode, second.startMs]).toEqual([host.mode, host.startMs]);
    const client = new EspeakTts(second.connect());
    expect(sameLength((await speak(client, SENTENCE)).samples, reference)).toBe(true);
    await second.close();
    expect(() => second.connect()).toThrow(expect.objectContaining({ code: 'tts_unavailable' }));
    expect(sameLength((await speak(client, SENTENCE)).samples, reference)).toBe(true); // the host still runs
    await client.close();
  });
});

describe.skipIf(skipped !== undefined)(`espeak-ng speech host failures and fallback${skipped ? ` (skipped: ${skipped})` : ''}`, () => {
  it('fails a request in flight with tts_failed when the host goes away, and every request after', async () => {
    // A stand-in host on the other end of the port: it answers with one chunk, then its thread dies.
    const { port1, port2 } = new MessageChannel();
    port2.once('message', (m: SynthRequest) => {
      port2.postMessage({ t: 'chunk', id: m.id, pcm: new Int16Array(100) });
      setImmediate(() => port2.close());
    });
    const tts = new EspeakTts(port1);
    const chunks: Int16Array[] = [];
    const err = await failure(async () => {
      for await (const chunk of tts.synthesize(SENTENCE, { signal: new AbortController().signal })) chunks.push(chunk);
    });
    expect(chunks).toHaveLength(1);
    expect([err.kind, err.code]).toEqual(['server', 'tts_failed']);
    expect((await failure(() => speak(tts, SENTENCE))).code).toBe('tts_failed');
  });

  it("passes the host's engine failure on as the error it is", async () => {
    const { port1, port2 } = new MessageChannel();
    port2.on('message', (m: SynthRequest) => port2.postMessage({ t: 'error', id: m.id, kind: 'server', code: 'tts_failed', message: 'espeak_Synth failed (-1)' }));
    const tts = new EspeakTts(port1);
    const err = await failure(() => speak(tts, SENTENCE));
    expect([err.kind, err.code, err.message]).toEqual(['server', 'tts_failed', 'espeak_Synth failed (-1)']);
    await tts.close();
    port2.close();
  });

  it('a stopped host: requests fail with tts_failed, connect() refuses, a new host can start', async () => {
    const host = await startEspeakHost();
    const tts = new EspeakTts(host.connect());
    expect((await speak(tts, 'hello')).samples).toBeGreaterThan(0);
    await host.close();
    expect((await failure(() => speak(tts, SENTENCE))).code).toBe('tts_failed');
    expect(() => host.connect()).toThrow(expect.objectContaining({ code: 'tts_unavailable' }));
    const again = await startEspeakHost();
    await again.close();
  });

  it('falls back to one espeak-ng process per request', async () => {
    const host = await startEspeakHost({ mode: 'cli' });
    try {
      expect(host.mode).toBe('cli');
      const tts = new EspeakTts(host.connect());
      const spoken = await speak(tts, SENTENCE);
      console.info(`espeak-ng host (cli): started in ${host.startMs} ms; first chunk ${spoken.firstChunkMs.toFixed(1)} ms, all ${spoken.totalMs.toFixed(1)} ms`);
      expect((spoken.samples / ESPEAK_RATE) * 1000).toBeGreaterThan(2_000);
      expect(rms(spoken.chunks)).toBeGreaterThan(500);
      const controller = new AbortController();
      let samples = 0;
      for await (const chunk of tts.synthesize('This is a fairly long sentence that goes on. '.repeat(40), { signal: controller.signal })) {
        samples += chunk.length;
        controller.abort();
      }
      expect(samples).toBeGreaterThan(0);
      expect((await failure(() => speak(new EspeakTts(host.connect(), { voice: 'xx-nowhere' }), 'hi'))).code).toBe('tts_voice_not_found');
      await tts.close();
    } finally {
      await host.close();
    }
  });
});

describe('WAV, as espeak-ng --stdout writes it', () => {
  const samples = Int16Array.from({ length: 1001 }, (_, i) => Math.round(20_000 * Math.sin(i / 7)) - (i % 2));

  it('round-trips PCM16 mono', () => {
    const wav = parseWav(writeWav(samples, 22_050));
    expect([wav.sampleRate, wav.channels, wav.bitsPerSample]).toEqual([22_050, 1, 16]);
    expect(Array.from(wav.samples)).toEqual(Array.from(samples));
  });

  it('decodes a stream cut anywhere, with the placeholder size of a stream, up to what arrived', () => {
    const bytes = writeWav(samples, 22_050);
    new DataView(bytes.buffer).setUint32(40, 0x7ffff000, true); // data size unknown when the header was written
    for (const piece of [1, 3, 7, 44, 4096]) {
      const decoder = new WavStreamDecoder();
      const out: number[] = [];
      for (let at = 0; at < bytes.length; at += piece) out.push(...decoder.push(bytes.subarray(at, at + piece)));
      expect(decoder.format?.sampleRate).toBe(22_050);
      expect(out).toEqual(Array.from(samples));
    }
    expect(parseWav(bytes).samples.length).toBe(samples.length);
  });

  it('refuses what is not PCM16 WAVE, with wav_invalid', () => {
    const float = writeWav(samples, 16_000);
    new DataView(float.buffer).setUint16(20, 3, true); // IEEE float
    for (const bad of [new TextEncoder().encode('RIFF....AVI LIST'), float, writeWav(samples, 16_000).subarray(0, 30)]) {
      expect(() => parseWav(bad)).toThrow(expect.objectContaining({ code: 'wav_invalid' }));
    }
    expect(() => new WavStreamDecoder().push(new Uint8Array(70_000))).toThrow(expect.objectContaining({ code: 'wav_invalid' }));
  });
});

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { concatPcm, samplesFor } from '../../src/voice/codec.ts';
import { resampleAll } from '../../src/voice/resample.ts';
import {
  EnergyVad,
  SileroVad,
  SpeechDetector,
  createVad,
  sileroModelPath,
  vadStatus,
  type DetectorEvent,
  type Vad,
} from '../../src/voice/vad/index.ts';

// ---------------------------------------------------------------- audio made for the tests

interface Wav {
  sampleRate: number;
  channels: number;
  pcm: Int16Array;
}

/**
 * A PCM16 WAV file. Streamed WAVs (espeak-ng --stdout) cannot know their length up front and
 * declare a data size of 0, 0xFFFFFFFF or something past the end: then the data is the rest.
 */
function parseWav(buf: Buffer): Wav {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let offset = 12;
  let format: { sampleRate: number; channels: number; bits: number } | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = { channels: buf.readUInt16LE(body + 2), sampleRate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!format || format.bits !== 16) throw new Error('expected 16-bit PCM with a fmt chunk before data');
      const declaredEnd = size === 0 || size === 0xffffffff ? buf.length : Math.min(buf.length, body + size);
      const bytes = buf.subarray(body, body + Math.floor((declaredEnd - body) / 2) * 2);
      const pcm = new Int16Array(bytes.length / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
      return { sampleRate: format.sampleRate, channels: format.channels, pcm };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('no data chunk');
}

const espeak = spawnSync('espeak-ng', ['--version'], { encoding: 'utf8' });
const hasEspeak = espeak.status === 0;
/** Appended to the names of tests that need speech, so a skipped run says why. */
const NEEDS_ESPEAK = hasEspeak ? '' : ' [skipped: espeak-ng is not installed; it is the Debian package espeak-ng]';

/** `text` spoken by espeak-ng, at `rate`. */
function speech(text: string, rate: 8000 | 16_000): Int16Array {
  const out = spawnSync('espeak-ng', ['--stdout', text], { maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`espeak-ng failed: ${out.stderr.toString()}`);
  const wav = parseWav(out.stdout);
  expect(wav.channels).toBe(1);
  return resampleAll(wav.pcm, wav.sampleRate, rate);
}

/** Deterministic white noise with the given RMS level. */
function whiteNoise(samples: number, rmsDbfs: number, seed = 7): Int16Array {
  const amplitude = 32768 * 10 ** (rmsDbfs / 20) * Math.sqrt(3); // uniform noise: rms = amplitude / √3
  const out = new Int16Array(samples);
  let s = seed;
  for (let i = 0; i < samples; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round((s / 0xffffffff - 0.5) * 2 * amplitude);
  }
  return out;
}

async function inFrames(vad: Vad, pcm: Int16Array, frameSamples: number): Promise<number[]> {
  const probabilities: number[] = [];
  for (let i = 0; i < pcm.length; i += frameSamples) probabilities.push(...(await vad.process(pcm.subarray(i, i + frameSamples))));
  return probabilities;
}

const open: Vad[] = [];
async function silero(sampleRate: 8000 | 16_000 = 16_000): Promise<SileroVad> {
  const vad = await SileroVad.create({ sampleRate });
  open.push(vad);
  return vad;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

// ---------------------------------------------------------------- Silero

describe('SileroVad', () => {
  it('loads the packaged model from any working directory', async () => {
    expect(sileroModelPath()).toMatch(/silero_vad_v5\.onnx$/);
    const vad = await silero();
    expect(vad).toMatchObject({ engine: 'silero', sampleRate: 16_000, windowSamples: 512, windowMs: 32 });
  });

  it('scores digital silence low', async () => {
    const vad = await silero();
    const probabilities = await vad.process(new Int16Array(16_000));
    expect(probabilities).toHaveLength(31); // 16,000 / 512
    expect(Math.max(...probabilities)).toBeLessThan(0.2);
  });

  it('scores low white noise low', async () => {
    const vad = await silero();
    const probabilities = await vad.process(whiteNoise(32_000, -45));
    expect(Math.max(...probabilities)).toBeLessThan(0.2);
  });

  it.skipIf(!hasEspeak)(`scores speech high${NEEDS_ESPEAK}`, async () => {
    const vad = await silero();
    const probabilities = await vad.process(speech('hello there, how are you doing today', 16_000));
    expect(Math.max(...probabilities)).toBeGreaterThan(0.9);
    const speechWindows = probabilities.filter((p) => p > 0.5).length;
    expect(speechWindows / probabilities.length).toBeGreaterThan(0.6);
  });

  it.skipIf(!hasEspeak)(`works at 8 kHz with 256-sample windows${NEEDS_ESPEAK}`, async () => {
    const vad = await silero(8000);
    expect(vad.windowSamples).toBe(256);
    expect(Math.max(...(await vad.process(new Int16Array(8000))))).toBeLessThan(0.2);
    vad.reset();
    expect(Math.max(...(await vad.process(speech('good morning, I would like to pay my bill', 8000))))).toBeGreaterThan(0.9);
  });

  it.skipIf(!hasEspeak)(`gives the same probabilities for 20 ms frames as for one buffer, and after reset()${NEEDS_ESPEAK}`, async () => {
    const pcm = concatPcm([new Int16Array(8000), speech('one two three four', 16_000), new Int16Array(8000)]);
    const oneShot = await (await silero()).process(pcm);
    const vad = await silero();
    const framed = await inFrames(vad, pcm, 320);
    expect(framed).toEqual(oneShot);
    vad.reset();
    expect(await inFrames(vad, pcm, 333)).toEqual(oneShot);
  });

  it('resolves overlapping process() calls in call order, each with its own windows', async () => {
    const pcm = whiteNoise(512 * 5, -30);
    const expected = await (await silero()).process(pcm);
    const vad = await silero();
    // 300 + 300 samples complete window 1; then 1,000 samples complete windows 2 and 3 …
    const sizes = [300, 300, 1000, 10, 950];
    let offset = 0;
    const calls = sizes.map((n) => {
      const call = vad.process(pcm.subarray(offset, offset + n));
      offset += n;
      return call;
    });
    const results = await Promise.all(calls);
    expect(results.map((r) => r.length)).toEqual([0, 1, 2, 0, 2]);
    expect(results.flat()).toEqual(expected);
  });

  it('drops windows queued before reset() and rejects process() after close()', async () => {
    const vad = await silero();
    const before = vad.process(whiteNoise(2048, -30));
    vad.reset();
    const after = await vad.process(new Int16Array(512));
    expect(await before).toEqual([]);
    expect(after).toHaveLength(1);
    await vad.close();
    await expect(vad.process(new Int16Array(512))).rejects.toMatchObject({ code: 'vad_closed' });
  });

  it('rejects sample rates the model does not take', async () => {
    await expect(SileroVad.create({ sampleRate: 44_100 as 16_000 })).rejects.toMatchObject({ code: 'audio_rate_invalid' });
  });

  it('runs inside a worker thread, with the same results as the main thread', async () => {
    const pcm = concatPcm([whiteNoise(4096, -30), new Int16Array(1024)]);
    const mainThread = await (await silero()).process(pcm);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module).then(async ({ SileroVad }) => {
        const vad = await SileroVad.create({ sampleRate: 16000 });
        const probabilities = await vad.process(workerData.pcm);
        await vad.close();
        parentPort.postMessage(probabilities);
      });`;
    const module = new URL('../../src/voice/vad/silero.ts', import.meta.url).href;
    const runWorker = (): Promise<number[]> =>
      new Promise((resolve, reject) => {
        const worker = new Worker(code, { eval: true, workerData: { module, pcm } });
        worker.once('message', (m: number[]) => resolve(m));
        worker.once('error', reject);
        worker.once('exit', (exitCode) => reject(new Error(`worker exited with ${exitCode} before answering`)));
      });
    const [first, second] = await Promise.all([runWorker(), runWorker()]);
    expect(first).toHaveLength(10);
    expect(first).toEqual(mainThread);
    expect(second).toEqual(mainThread);
    // The main thread's runtime is unaffected by workers coming and going.
    expect(await (await silero()).process(pcm)).toEqual(mainThread);
  });
});

// ---------------------------------------------------------------- energy fallback and selection

describe('EnergyVad', () => {
  it('scores silence and quiet noise low and loud sound high, per 32 ms window', async () => {
    const vad = new EnergyVad({ sampleRate: 8000 });
    expect(vad.windowSamples).toBe(256);
    expect(await vad.process(new Int16Array(512))).toEqual([0, 0]);
    expect(Math.max(...(await vad.process(whiteNoise(2560, -60))))).toBeLessThan(0.01);
    expect(Math.min(...(await vad.process(whiteNoise(2560, -25))))).toBeGreaterThan(0.99);
    const edge = await vad.process(whiteNoise(25_600, -40));
    expect(Math.min(...edge)).toBeGreaterThan(0.3);
    expect(Math.max(...edge)).toBeLessThan(0.7);
  });

  it('buffers partial windows across calls', async () => {
    const vad = new EnergyVad({ sampleRate: 16_000, thresholdDb: -50 });
    expect(await vad.process(whiteNoise(500, -20))).toEqual([]);
    expect(await vad.process(whiteNoise(600, -20))).toHaveLength(2);
    vad.reset();
    expect(await vad.process(whiteNoise(500, -20))).toEqual([]);
  });
});

describe('createVad / vadStatus', () => {
  it('picks Silero when it loads', async () => {
    const created = await createVad({ sampleRate: 16_000 });
    open.push(created.vad);
    expect(created.engine).toBe('silero');
    expect(created.vad).toBeInstanceOf(SileroVad);
    expect(created).not.toHaveProperty('reason');
  });

  it('falls back to the energy VAD and says why when Silero cannot load', async () => {
    const created = await createVad({ sampleRate: 16_000, sileroModelPath: '/nonexistent/silero.onnx' });
    expect(created.engine).toBe('energy');
    expect(created.vad).toBeInstanceOf(EnergyVad);
    expect(created.reason).toMatch(/vad_unavailable.*\/nonexistent\/silero\.onnx/);
    await expect(createVad({ sampleRate: 16_000, engine: 'silero', sileroModelPath: '/nonexistent/silero.onnx' })).rejects.toMatchObject({
      code: 'vad_unavailable',
    });
  });

  it('refuses an ONNX file that is not a Silero v5 model (the legacy v4 model beside it, say)', async () => {
    const legacy = createRequire(import.meta.url).resolve('@ericedouard/vad-node-realtime/dist/silero_vad_legacy.onnx');
    await expect(SileroVad.create({ sampleRate: 16_000, modelPath: legacy })).rejects.toMatchObject({ code: 'vad_model_invalid' });
    const created = await createVad({ sampleRate: 16_000, sileroModelPath: legacy });
    expect(created.engine).toBe('energy');
    expect(created.reason).toMatch(/vad_model_invalid/);
  });

  it('reports availability for operator doctor', async () => {
    const status = await vadStatus();
    expect(status).toMatchObject({ kind: 'vad', engine: 'silero', available: true });
    expect(status.detail).toMatch(/onnxruntime-node 1\.\d+\.\d+.*silero_vad_v5\.onnx/);
  });
});

// ---------------------------------------------------------------- detector

function feed(detector: SpeechDetector, probabilities: number[]): DetectorEvent[] {
  return probabilities.flatMap((p) => detector.push(p));
}
const repeat = (p: number, windows: number): number[] => new Array<number>(windows).fill(p);

describe('SpeechDetector', () => {
  it('confirms speech only once it has lasted minSpeechMs, dated from its first window', () => {
    const d = new SpeechDetector({ windowMs: 32 });
    expect(feed(d, repeat(0.1, 10))).toEqual([]);
    expect(feed(d, repeat(0.9, 7))).toEqual([]); // 224 ms < 250 ms
    expect(d.state).toBe('maybe-speech');
    expect(d.speechMs).toBe(224);
    expect(d.push(0.9)).toEqual([{ type: 'speech.start', atMs: 320, confirmedAtMs: 576 }]);
    expect(d.state).toBe('speech');
    expect(d.silenceMs).toBe(0);
  });

  it('treats a 100 ms blip as silence: no events, and the silence run goes on', () => {
    const d = new SpeechDetector({ windowMs: 32 });
    const events = feed(d, [...repeat(0.05, 10), ...repeat(0.95, 3), ...repeat(0.05, 20)]);
    expect(events).toEqual([]);
    expect(d.state).toBe('silence');
    expect(d.silenceMs).toBe(33 * 32);
  });

  it('ends speech after minSilenceMs of silence, at the end of the last speech window', () => {
    const d = new SpeechDetector({ windowMs: 32 });
    feed(d, repeat(0.9, 20)); // speech from 0 to 640 ms
    expect(feed(d, repeat(0.1, 9))).toEqual([]); // 288 ms < 300 ms
    expect(d.state).toBe('speech');
    expect(d.silenceMs).toBe(288);
    expect(d.push(0.1)).toEqual([{ type: 'speech.end', atMs: 640, speechMs: 640 }]);
    expect(d).toMatchObject({ state: 'silence', silenceMs: 320, speechMs: 0, nowMs: 960 });
  });

  it('bridges pauses shorter than minSilenceMs into one segment', () => {
    const d = new SpeechDetector({ windowMs: 32 });
    const events = feed(d, [...repeat(0.9, 10), ...repeat(0.1, 5), ...repeat(0.9, 10), ...repeat(0.1, 10)]);
    expect(events).toEqual([
      { type: 'speech.start', atMs: 0, confirmedAtMs: 256 },
      { type: 'speech.end', atMs: 800, speechMs: 800 },
    ]);
  });

  it('has hysteresis: between negThreshold and threshold keeps speech going but never starts it', () => {
    const d = new SpeechDetector({ windowMs: 32, threshold: 0.5 }); // negThreshold 0.35
    expect(d.negThreshold).toBeCloseTo(0.35);
    expect(feed(d, repeat(0.4, 20))).toEqual([]);
    expect(d.state).toBe('silence');
    expect(feed(d, [...repeat(0.6, 2), ...repeat(0.4, 6)])).toEqual([{ type: 'speech.start', atMs: 640, confirmedAtMs: 896 }]);
    expect(feed(d, repeat(0.4, 30))).toEqual([]);
    expect(d.speechMs).toBe(38 * 32);
  });

  it('counts in-between windows as silence once a silent run has begun (as the reference iterator does)', () => {
    const d = new SpeechDetector({ windowMs: 32, minSilenceMs: 100 });
    feed(d, repeat(0.9, 10));
    expect(feed(d, [0.1, 0.4, 0.4])).toEqual([]);
    expect(d.push(0.4)).toEqual([{ type: 'speech.end', atMs: 320, speechMs: 320 }]);
  });

  it('keeps the onset across a short silent gap (a stop consonant: "ac-tually"); the gap is not voiced', () => {
    const d = new SpeechDetector({ windowMs: 32 }); // onsetGapMs = minSilenceMs = 300
    const events = feed(d, [...repeat(0.9, 6), 0.1, 0.1, 0.1, ...repeat(0.9, 8)]);
    // 8 voiced windows (256 ms >= 250) are in at window 10: 6 before the gap, 2 after it.
    expect(events).toEqual([{ type: 'speech.start', atMs: 0, confirmedAtMs: 352 }]);
  });

  it('restarts the onset when the gap is longer than onsetGapMs', () => {
    const d = new SpeechDetector({ windowMs: 32, onsetGapMs: 100 });
    const events = feed(d, [...repeat(0.9, 6), ...repeat(0.1, 4), ...repeat(0.9, 8)]);
    expect(events).toEqual([{ type: 'speech.start', atMs: 320, confirmedAtMs: 576 }]);
    const byDefault = new SpeechDetector({ windowMs: 32 });
    expect(feed(byDefault, [...repeat(0.9, 6), ...repeat(0.1, 10), ...repeat(0.9, 8)])).toEqual([
      { type: 'speech.start', atMs: 512, confirmedAtMs: 768 },
    ]);
  });

  it('does not make speech of two clicks around a gap', () => {
    const d = new SpeechDetector({ windowMs: 32, minSpeechMs: 150 });
    expect(feed(d, [...repeat(0.1, 5), 0.9, 0.9, 0.1, 0.1, 0.9, 0.9, ...repeat(0.1, 10)])).toEqual([]);
    expect(d.state).toBe('silence');
  });

  it('confirms at once when minSpeechMs fits in one window, and reset() starts the stream again', () => {
    const d = new SpeechDetector({ windowMs: 10, minSpeechMs: 0, minSilenceMs: 20 });
    expect(feed(d, [0.1, 0.8])).toEqual([{ type: 'speech.start', atMs: 10, confirmedAtMs: 20 }]);
    d.reset();
    expect(d).toMatchObject({ state: 'silence', nowMs: 0, silenceMs: 0 });
    expect(d.push(0.8)).toEqual([{ type: 'speech.start', atMs: 0, confirmedAtMs: 10 }]);
  });

  it('rejects options that cannot work', () => {
    expect(() => new SpeechDetector({ windowMs: 0 })).toThrow(expect.objectContaining({ code: 'vad_options_invalid' }));
    expect(() => new SpeechDetector({ windowMs: 32, threshold: 0.5, negThreshold: 0.6 })).toThrow(/negThreshold/);
  });

  it.skipIf(!hasEspeak)(`finds one segment in real speech between silences, close to where the speech is${NEEDS_ESPEAK}`, async () => {
    const vad = await silero();
    const words = speech('please transfer me to billing', 16_000);
    const pcm = concatPcm([new Int16Array(samplesFor(1000, 16_000)), words, new Int16Array(samplesFor(1000, 16_000))]);
    const detector = new SpeechDetector({ windowMs: vad.windowMs });
    const events = feed(detector, await inFrames(vad, pcm, 320));
    expect(events.map((e) => e.type)).toEqual(['speech.start', 'speech.end']);
    const [start, end] = events as [Extract<DetectorEvent, { type: 'speech.start' }>, Extract<DetectorEvent, { type: 'speech.end' }>];
    expect(start.atMs).toBeGreaterThanOrEqual(900);
    expect(start.atMs).toBeLessThanOrEqual(1200);
    const speechEndMs = 1000 + (words.length / 16_000) * 1000;
    expect(Math.abs(end.atMs - speechEndMs)).toBeLessThan(300);
  });
});

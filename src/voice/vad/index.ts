/** Voice activity detection: Silero when onnxruntime loads, frame energy when it cannot. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { errorMessage } from '../../core/errors.ts';
import type { EngineStatus } from '../types.ts';
import { EnergyVad } from './energy.ts';
import { SILERO_MODEL, SileroVad, loadOnnxRuntime, sileroModelPath } from './silero.ts';
import type { Vad, VadEngineName, VadSampleRate } from './types.ts';

export { SpeechDetector, type DetectorEvent, type DetectorState, type SpeechDetectorOptions } from './detector.ts';
export { EnergyVad, type EnergyVadOptions } from './energy.ts';
export { SILERO_MODEL, SileroVad, sileroModelPath, type SileroVadOptions } from './silero.ts';
export { VAD_WINDOW_SAMPLES, type Vad, type VadEngineName, type VadSampleRate } from './types.ts';

export interface CreateVadOptions {
  sampleRate: VadSampleRate;
  /** `auto` (default): Silero, or energy with the reason when Silero cannot load. */
  engine?: VadEngineName | 'auto';
  /** For the energy engine. */
  energyThresholdDb?: number;
  /** A Silero v5-compatible model instead of the packaged one. */
  sileroModelPath?: string;
}

export interface CreatedVad {
  vad: Vad;
  engine: VadEngineName;
  /** Why the energy fallback is in use, for the start log. */
  reason?: string;
}

/**
 * A VAD for one stream. With `engine: 'silero'` a load failure throws (`vad_unavailable`);
 * with `auto` it falls back to the energy VAD and says why.
 */
export async function createVad(opts: CreateVadOptions): Promise<CreatedVad> {
  const engine = opts.engine ?? 'auto';
  const energy = (): EnergyVad => new EnergyVad({ sampleRate: opts.sampleRate, thresholdDb: opts.energyThresholdDb });
  if (engine === 'energy') return { vad: energy(), engine: 'energy' };
  try {
    return { vad: await SileroVad.create({ sampleRate: opts.sampleRate, modelPath: opts.sileroModelPath }), engine: 'silero' };
  } catch (err) {
    if (engine === 'silero') throw err;
    return { vad: energy(), engine: 'energy', reason: `Silero VAD unavailable, using the energy VAD: ${errorMessage(err)}` };
  }
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    const { version } = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version?: string };
    return version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Whether Silero loads and scores a window on this machine, for `operator doctor`. */
export async function vadStatus(): Promise<EngineStatus> {
  const started = performance.now();
  try {
    const ort = await loadOnnxRuntime();
    const vad = await SileroVad.create({ sampleRate: 16_000 });
    try {
      await vad.process(new Int16Array(vad.windowSamples));
    } finally {
      await vad.close();
    }
    const loadMs = Math.round(performance.now() - started);
    const model = `${SILERO_MODEL.package}@${packageVersion(SILERO_MODEL.package)} ${SILERO_MODEL.file} (Silero ${SILERO_MODEL.version})`;
    return {
      kind: 'vad',
      engine: 'silero',
      available: true,
      detail: `onnxruntime-node ${ort.env.versions.node ?? 'unknown'}, model ${model} at ${sileroModelPath()}, loaded and ran in ${loadMs} ms`,
    };
  } catch (err) {
    return { kind: 'vad', engine: 'silero', available: false, detail: `${errorMessage(err)}; calls fall back to the energy VAD` };
  }
}

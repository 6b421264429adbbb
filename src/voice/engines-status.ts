/**
 * Whether the embedded (offline) speech engines can run on this machine, and if not, why and
 * what fixes it: for `operator doctor` and the start log.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../core/errors.ts';
import { PocketsphinxStt } from './stt/pocketsphinx.ts';
import {
  POCKETSPHINX_INSTALL,
  POCKETSPHINX_LIBRARY,
  SPHINXBASE_LIBRARY,
  importKoffi,
  missingModelFiles,
  resolveModel,
  type PocketsphinxModel,
  type PocketsphinxModelOptions,
} from './stt/pocketsphinx-native.ts';
import { EspeakTts } from './tts/espeak.ts';
import { startEspeakHost } from './tts/espeak-host.ts';
import { ESPEAK_BINARY } from './tts/espeak-cli.ts';
import { ESPEAK_LIBRARY } from './tts/espeak-native.ts';
import { ESPEAK_INSTALL } from './tts/espeak-protocol.ts';
import { PIPELINE_RATE, type EngineStatus } from './types.ts';

export interface EmbeddedStatusOptions {
  /**
   * Also run each engine: create a decoder and decode 0.1 s (~250 ms, ~95 MB while it runs), start
   * a speech host and speak a word. Without it, only files and libraries are looked for.
   */
  probe?: boolean;
  pocketsphinx?: PocketsphinxModelOptions;
}

/** pocketsphinx (stt) and espeak-ng (tts), in that order. */
export async function embeddedEngineStatus(opts: EmbeddedStatusOptions = {}): Promise<EngineStatus[]> {
  return [await pocketsphinxStatus(opts), await espeakStatus(opts)];
}

interface Koffi {
  version: string;
  load(path: string): unknown;
}

async function koffiOrReason(): Promise<Koffi | string> {
  try {
    return await importKoffi();
  } catch (err) {
    return errorMessage(err);
  }
}

/** dlopen()s a library: undefined when it loads, else why not. */
function libraryProblem(koffi: Koffi, name: string): string | undefined {
  try {
    koffi.load(name);
    return undefined;
  } catch (err) {
    return `${name} does not load (${errorMessage(err)})`;
  }
}

/** The path of an executable on the PATH. */
export function findBinary(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

async function pocketsphinxStatus(opts: EmbeddedStatusOptions): Promise<EngineStatus> {
  const status = (available: boolean, detail: string): EngineStatus => ({ kind: 'stt', engine: 'pocketsphinx', available, detail });
  const model = resolveModel(opts.pocketsphinx);
  const problems: string[] = [];
  const koffi = await koffiOrReason();
  if (typeof koffi === 'string') problems.push(koffi);
  else for (const lib of [SPHINXBASE_LIBRARY, POCKETSPHINX_LIBRARY]) problems.push(...optional(libraryProblem(koffi, lib)));
  const missing = missingModelFiles(model);
  if (missing.length > 0) problems.push(`model files missing: ${missing.join(', ')}`);
  const binary = findBinary('pocketsphinx_continuous');
  if (problems.length > 0) {
    return status(false, `${problems.join('; ')}; fix: ${POCKETSPHINX_INSTALL}${typeof koffi === 'string' ? ' and npm install' : ''}`);
  }
  const found = `${POCKETSPHINX_LIBRARY} via koffi ${(koffi as Koffi).version}, model ${describeModel(model)}${binary ? `, binary ${binary}` : ''}`;
  if (!opts.probe) return status(true, found);
  try {
    const started = performance.now();
    const stt = await PocketsphinxStt.create({ ...opts.pocketsphinx, sampleRate: PIPELINE_RATE });
    try {
      const stream = stt.start({ sampleRate: PIPELINE_RATE });
      stream.write(new Int16Array(PIPELINE_RATE / 10));
      await stream.finish();
    } finally {
      await stt.close();
    }
    return status(true, `${found}; loaded and decoded in ${Math.round(performance.now() - started)} ms`);
  } catch (err) {
    return status(false, `${found}, but it failed to decode: ${errorMessage(err)}`);
  }
}

/** Where a Debian-style install keeps espeak-ng's voices and dictionaries. */
function espeakDataDir(): string | undefined {
  const candidates = [process.env.ESPEAK_DATA_PATH ? join(process.env.ESPEAK_DATA_PATH, 'espeak-ng-data') : '', '/usr/share/espeak-ng-data'];
  try {
    for (const entry of readdirSync('/usr/lib')) candidates.push(join('/usr/lib', entry, 'espeak-ng-data'));
  } catch {
    // no /usr/lib
  }
  return candidates.find((dir) => dir !== '' && existsSync(join(dir, 'phontab')));
}

async function binaryVersion(binary: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(binary, ['--version'], { timeout: 5_000 });
    return stdout.trim().replace(/\s+Data at:.*$/, '');
  } catch (err) {
    return `--version failed: ${errorMessage(err)}`;
  }
}

async function espeakStatus(opts: EmbeddedStatusOptions): Promise<EngineStatus> {
  const status = (available: boolean, detail: string): EngineStatus => ({ kind: 'tts', engine: 'espeak-ng', available, detail });
  const koffi = await koffiOrReason();
  const libProblem = typeof koffi === 'string' ? koffi : libraryProblem(koffi, ESPEAK_LIBRARY);
  const data = espeakDataDir();
  const nativeProblem = libProblem ?? (data ? undefined : 'espeak-ng-data (phontab) not found');
  const binary = findBinary(ESPEAK_BINARY);
  const parts = [
    nativeProblem ? `native: ${nativeProblem}` : `native: ${ESPEAK_LIBRARY} via koffi ${(koffi as Koffi).version}, data ${data}`,
    binary ? `binary: ${binary} (${await binaryVersion(binary)})` : `binary: ${ESPEAK_BINARY} not on the PATH`,
  ];
  if (nativeProblem && !binary) return status(false, `${parts.join('; ')}; fix: ${ESPEAK_INSTALL}`);
  const mode = nativeProblem ? 'the speech host would spawn espeak-ng per request (slower first audio)' : 'the speech host would load the library';
  const found = `${parts.join('; ')}; ${mode}`;
  if (!opts.probe) return status(true, found);
  return probeEspeak(found, status);
}

async function probeEspeak(found: string, status: (available: boolean, detail: string) => EngineStatus): Promise<EngineStatus> {
  let host;
  try {
    host = await startEspeakHost(); // joins the process's host when one is running
  } catch (err) {
    return status(false, `${found}, but the speech host did not start: ${errorMessage(err)}`);
  }
  const tts = new EspeakTts(host.connect());
  try {
    let samples = 0;
    for await (const chunk of tts.synthesize('ok', { signal: AbortSignal.timeout(10_000) })) samples += chunk.length;
    if (samples === 0) throw new Error('it produced no audio');
    return status(true, `${found}; the host started in ${host.startMs} ms (${host.mode} mode) and spoke`);
  } catch (err) {
    return status(false, `${found}, but it failed to speak: ${errorMessage(err)}`);
  } finally {
    await tts.close();
    await host.close();
  }
}

/** `DIR (a, b, c)` when the three files share a folder, else the three paths. */
function describeModel(model: PocketsphinxModel): string {
  const dir = dirname(model.hmm);
  const paths = [model.hmm, model.lm, model.dict];
  return paths.every((p) => dirname(p) === dir) ? `${dir} (${paths.map((p) => basename(p)).join(', ')})` : paths.join(', ');
}

function optional<T>(value: T | undefined): T[] {
  return value === undefined ? [] : [value];
}

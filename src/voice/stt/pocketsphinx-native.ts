/**
 * libpocketsphinx 5prealpha (Debian `pocketsphinx`, `pocketsphinx-en-us`) through the koffi FFI.
 *
 * The slow calls (`ps_init` ~250 ms, `ps_process_raw` 0.15-0.3 s per second of audio, `ps_end_utt`
 * ~100-150 ms) run as koffi async calls, i.e. on libuv's thread pool (UV_THREADPOOL_SIZE, 4 by
 * default, shared with fs/dns/zlib work), so they never stall the call's event loop. A decoder is
 * not thread-safe: callers keep one native call in flight per decoder. `ps_get_hyp` during an
 * utterance takes < 0.1 ms and runs inline.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage, OperatorError } from '../../core/errors.ts';

import type koffiModule from 'koffi';

type Koffi = typeof koffiModule;
/** A native pointer as koffi 3 returns it; null for C's NULL. */
type Ptr = bigint;

export const POCKETSPHINX_LIBRARY = 'libpocketsphinx.so.3';
export const SPHINXBASE_LIBRARY = 'libsphinxbase.so.3';
export const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
export const POCKETSPHINX_INSTALL = 'apt-get install pocketsphinx pocketsphinx-en-us';

export interface PocketsphinxModel {
  /** Acoustic model folder (holds `mdef`). */
  hmm: string;
  lm: string;
  dict: string;
}

export interface PocketsphinxModelOptions {
  /** Folder with `en-us/`, `en-us.lm.bin` and `cmudict-en-us.dict` (the Debian layout). */
  modelDir?: string;
  hmm?: string;
  lm?: string;
  dict?: string;
}

export function resolveModel(opts: PocketsphinxModelOptions = {}): PocketsphinxModel {
  const dir = opts.modelDir ?? POCKETSPHINX_MODEL_DIR;
  return {
    hmm: opts.hmm ?? join(dir, 'en-us'),
    lm: opts.lm ?? join(dir, 'en-us.lm.bin'),
    dict: opts.dict ?? join(dir, 'cmudict-en-us.dict'),
  };
}

/** The model files that are not there, as paths. */
export function missingModelFiles(model: PocketsphinxModel): string[] {
  return [join(model.hmm, 'mdef'), model.lm, model.dict].filter((path) => !existsSync(path));
}

export interface PocketsphinxNative {
  readonly koffiVersion: string;
  /** `ps_init` with these command-line style arguments, off the thread. */
  createDecoder(args: readonly string[]): Promise<Ptr>;
  startUtterance(ps: Ptr): void;
  process(ps: Ptr, pcm: Int16Array): Promise<void>;
  /** The current hypothesis ('' for none). */
  hypothesis(ps: Ptr): string;
  endUtterance(ps: Ptr): Promise<void>;
  free(ps: Ptr): Promise<void>;
}

type Callback<R> = (err: unknown, result: R) => void;
interface AsyncFn<A extends unknown[], R> {
  (...args: A): R;
  async: (...args: [...A, Callback<R>]) => void;
}

function bind<A extends unknown[], R>(lib: ReturnType<Koffi['load']>, prototype: string): AsyncFn<A, R> {
  return lib.func(prototype);
}

function offThread<A extends unknown[], R>(fn: AsyncFn<A, R>): (...args: A) => Promise<R> {
  return promisify(fn.async) as (...args: A) => Promise<R>;
}

function failed(what: string, rc: number): OperatorError {
  return new OperatorError('server', 'stt_failed', `pocketsphinx ${what} failed (${rc})`);
}

/** Imports koffi: a missing package or native binary becomes a clear `stt_unavailable`. */
export async function importKoffi(): Promise<Koffi> {
  try {
    return (await import('koffi')).default;
  } catch (err) {
    throw new OperatorError('server', 'stt_unavailable', `the koffi FFI package does not load (${errorMessage(err)}); run "npm install"`);
  }
}

function bindAll(koffi: Koffi): PocketsphinxNative {
  const sphinxbase = koffi.load(SPHINXBASE_LIBRARY);
  const ps = koffi.load(POCKETSPHINX_LIBRARY);
  // `-logfn` would make every ps_init fclose() the log FILE another thread's decoder may be using:
  // disable the (process-wide) log once instead.
  bind<[null], void>(sphinxbase, 'void err_set_logfp(void *fp)')(null);
  const psArgs = bind<[], Ptr>(ps, 'void *ps_args(void)');
  const parse = bind<[null, Ptr, number, string[], number], Ptr | null>(
    sphinxbase,
    'void *cmd_ln_parse_r(void *inout, void *defn, int32_t argc, const char **argv, int32_t strict)',
  );
  const freeConfig = bind<[Ptr], number>(sphinxbase, 'int cmd_ln_free_r(void *config)');
  const init = offThread(bind<[Ptr], Ptr | null>(ps, 'void *ps_init(void *config)'));
  const start = bind<[Ptr], number>(ps, 'int ps_start_utt(void *ps)');
  const processRaw = offThread(
    bind<[Ptr, Int16Array, number, number, number], number>(ps, 'int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)'),
  );
  const getHyp = bind<[Ptr, number[]], string | null>(ps, 'const char *ps_get_hyp(void *ps, _Out_ int32_t *score)');
  const endUtt = offThread(bind<[Ptr], number>(ps, 'int ps_end_utt(void *ps)'));
  const freeDecoder = offThread(bind<[Ptr], number>(ps, 'int ps_free(void *ps)'));
  const trimHeap = glibcTrim(koffi);

  return {
    koffiVersion: koffi.version,
    async createDecoder(args) {
      const config = parse(null, psArgs(), args.length, [...args], 1);
      if (config === null) throw new OperatorError('server', 'stt_failed', `pocketsphinx rejected its arguments: ${args.join(' ')}`);
      try {
        const decoder = await init(config);
        if (decoder === null) throw new OperatorError('server', 'stt_failed', 'pocketsphinx could not load its model (ps_init failed)');
        return decoder;
      } finally {
        freeConfig(config); // ps_init keeps its own reference
      }
    },
    startUtterance(decoder) {
      const rc = start(decoder);
      if (rc < 0) throw failed('ps_start_utt', rc);
    },
    async process(decoder, pcm) {
      const rc = await processRaw(decoder, pcm, pcm.length, 0, 0);
      if (rc < 0) throw failed('ps_process_raw', rc);
    },
    hypothesis: (decoder) => getHyp(decoder, [0]) ?? '',
    async endUtterance(decoder) {
      const rc = await endUtt(decoder);
      if (rc < 0) throw failed('ps_end_utt', rc);
    },
    async free(decoder) {
      await freeDecoder(decoder);
      await trimHeap?.(0);
    },
  };
}

/**
 * glibc's malloc_trim. Decoders are built and freed on libuv's pool threads, each with its own
 * malloc arena that keeps a freed decoder's ~95 MB: measured, 12 create/free cycles left RSS 300 MB
 * up without trimming, ~60 MB with. Not there on other C libraries (musl): then undefined.
 */
function glibcTrim(koffi: Koffi): ((pad: number) => Promise<number>) | undefined {
  try {
    return offThread(bind<[number], number>(koffi.load('libc.so.6'), 'int malloc_trim(size_t pad)'));
  } catch {
    return undefined;
  }
}

let loaded: Promise<PocketsphinxNative> | undefined;

/** Loads the libraries once per thread (koffi binds per isolate). */
export function loadPocketsphinx(): Promise<PocketsphinxNative> {
  loaded ??= (async () => {
    const koffi = await importKoffi();
    try {
      return bindAll(koffi);
    } catch (err) {
      throw new OperatorError('server', 'stt_unavailable', `${errorMessage(err)}; install it with "${POCKETSPHINX_INSTALL}"`);
    }
  })();
  const attempt = loaded;
  attempt.catch(() => {
    if (loaded === attempt) loaded = undefined;
  });
  return attempt;
}

/**
 * The process's espeak-ng speech host: one worker thread that owns the espeak-ng library (whose
 * state is process-wide and not thread-safe) and speaks for every call worker over MessagePorts.
 *
 *   main thread:  host = await startEspeakHost();  port = host.connect();  → transfer to a call worker
 *   call worker:  tts = new EspeakTts(port, { voice: 'en-us' });  tts.synthesize(text, { signal })
 *
 * Every `startEspeakHost()` in a thread (say, two runtimes in one test process) gets the same host
 * thread; it stops when the last of them closes. Call it from one thread only (the main thread):
 * a host started by another thread cannot be seen, and two would share the library's state.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { OperatorError } from '../../core/errors.ts';
import type { EspeakHostMode, HostControl, HostReport, HostWorkerData } from './espeak-protocol.ts';

export interface EspeakHostOptions {
  /**
   * `auto` (default): the library through koffi, else one `espeak-ng` process per request.
   * `native` insists on the library. `cli` starts a host of its own that never loads the library.
   */
  mode?: 'auto' | EspeakHostMode;
  /** Give up on a host that has not loaded espeak-ng by then. Default 10 s. */
  startTimeoutMs?: number;
}

export interface EspeakHost {
  /** `native`: libespeak-ng in the host thread; `cli`: an `espeak-ng` process per request. */
  readonly mode: EspeakHostMode;
  /** What was loaded (library or binary, versions) and, for `cli` under `auto`, why not the library. */
  readonly detail: string;
  /** How long the host thread took to start and load espeak-ng, in ms. */
  readonly startMs: number;
  /** A port for one client (an `EspeakTts`); transfer it to the thread that speaks. */
  connect(): MessagePort;
  /** Lets go of the host; the last one out stops it, and its clients' requests fail with `tts_failed`. */
  close(): Promise<void>;
}

const WORKER = new URL('./espeak-host-worker.ts', import.meta.url);

/** This thread's shared host (auto / native), and how many handles hold it. */
let shared: { host: Promise<HostThread>; users: number } | undefined;
/** The last shared host's stop: a new one waits for it, so two never hold the library at once. */
let lastStop: Promise<void> = Promise.resolve();

/** Starts the speech host thread, or joins the one running, once espeak-ng is loaded in it. */
export async function startEspeakHost(opts: EspeakHostOptions = {}): Promise<EspeakHost> {
  if (opts.mode === 'cli') {
    const own = await HostThread.launch(opts);
    return new HostHandle(own, () => own.stop());
  }
  if (!shared) {
    const entry = { host: lastStop.then(() => HostThread.launch(opts)), users: 0 };
    shared = entry;
    entry.host.then(
      (thread) => thread.onExit(() => shared === entry && (shared = undefined)),
      () => shared === entry && (shared = undefined),
    );
  }
  const entry = shared;
  entry.users++;
  const release = async (): Promise<void> => {
    if (--entry.users > 0) return;
    if (shared === entry) shared = undefined;
    const stopped = (await entry.host).stop();
    lastStop = stopped;
    await stopped;
  };
  let thread: HostThread;
  try {
    thread = await entry.host;
  } catch (err) {
    entry.users--;
    throw err;
  }
  if (opts.mode === 'native' && thread.mode !== 'native') {
    await release();
    throw new OperatorError('server', 'tts_unavailable', `espeak-ng's library is not loaded: ${thread.detail}`);
  }
  return new HostHandle(thread, release);
}

/** One holder's view of a host thread. */
class HostHandle implements EspeakHost {
  private readonly thread: HostThread;
  private readonly release: () => Promise<void>;
  private closed: Promise<void> | undefined;

  constructor(thread: HostThread, release: () => Promise<void>) {
    this.thread = thread;
    this.release = release;
  }

  get mode(): EspeakHostMode {
    return this.thread.mode;
  }

  get detail(): string {
    return this.thread.detail;
  }

  get startMs(): number {
    return this.thread.startMs;
  }

  connect(): MessagePort {
    if (this.closed) throw new OperatorError('server', 'tts_unavailable', 'this handle on the espeak-ng speech host is closed');
    return this.thread.connect();
  }

  close(): Promise<void> {
    this.closed ??= this.release();
    return this.closed;
  }
}

/** The worker thread that loaded espeak-ng. */
class HostThread {
  readonly mode: EspeakHostMode;
  readonly detail: string;
  readonly startMs: number;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private gone = false;

  static async launch(opts: EspeakHostOptions): Promise<HostThread> {
    const started = performance.now();
    const workerData: HostWorkerData = { mode: opts.mode ?? 'auto' };
    const worker = new Worker(WORKER, { workerData, stdout: false, stderr: false, name: 'espeak-host' });
    const timeoutMs = opts.startTimeoutMs ?? 10_000;
    const report = await new Promise<HostReport>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        void worker.terminate();
        reject(new OperatorError('server', 'tts_unavailable', `the espeak-ng speech host did not start: ${err.message}`));
      };
      worker.once('message', (m: HostReport) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker.once('error', fail);
      worker.once('exit', (code) => fail(new Error(`its thread exited with code ${code}`)));
    });
    worker.removeAllListeners();
    if (report.t === 'failed') {
      await worker.terminate();
      throw new OperatorError('server', 'tts_unavailable', report.message);
    }
    return new HostThread(worker, report.mode, report.detail, Math.round(performance.now() - started));
  }

  private constructor(worker: Worker, mode: EspeakHostMode, detail: string, startMs: number) {
    this.worker = worker;
    this.mode = mode;
    this.detail = detail;
    this.startMs = startMs;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    void this.exited.then(() => (this.gone = true));
    // A crash ends the thread: its clients' ports close, and their requests fail with tts_failed.
    worker.on('error', () => undefined);
    // The host never keeps the process alive by itself; clients with requests in flight do.
    worker.unref();
  }

  onExit(listener: () => void): void {
    void this.exited.then(listener);
  }

  connect(): MessagePort {
    if (this.gone) throw new OperatorError('server', 'tts_unavailable', 'the espeak-ng speech host has stopped');
    const { port1, port2 } = new MessageChannel();
    const m: HostControl = { t: 'connect', port: port2 };
    this.worker.postMessage(m, [port2]);
    return port1;
  }

  async stop(): Promise<void> {
    if (this.gone) return;
    const m: HostControl = { t: 'close' };
    this.worker.postMessage(m);
    const timeout = setTimeout(() => void this.worker.terminate(), 2_000);
    await this.exited;
    clearTimeout(timeout);
  }
}

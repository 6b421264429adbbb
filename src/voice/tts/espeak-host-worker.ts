/**
 * The speech host's thread: loads espeak-ng once (the library, else the binary) and speaks the
 * requests of every connected client, one at a time in arrival order. A bad request gets an
 * error and changes nothing; a client that goes away loses its queued requests.
 */
import { parentPort, workerData, type MessagePort, type Transferable } from 'node:worker_threads';
import { errorMessage, isOperatorError } from '../../core/errors.ts';
import { openCliEspeak } from './espeak-cli.ts';
import { openNativeEspeak } from './espeak-native.ts';
import { requestProblem, type FromHost, type HostControl, type HostReport, type HostWorkerData, type Synthesizer, type ToHost } from './espeak-protocol.ts';

interface Client {
  port: MessagePort;
  closed: boolean;
}

interface Job {
  client: Client;
  id: number;
  text: string;
  voice: string;
  wpm: number;
  stop: Int32Array;
}

async function openSynthesizer(mode: HostWorkerData['mode']): Promise<Synthesizer> {
  if (mode === 'cli') return openCliEspeak();
  try {
    return await openNativeEspeak();
  } catch (err) {
    if (mode === 'native') throw err;
    const cli = await openCliEspeak().catch((cliErr: unknown) => {
      throw new Error(`${errorMessage(err)}; and the fallback: ${errorMessage(cliErr)}`);
    });
    return { mode: cli.mode, detail: `${cli.detail}; the library did not load: ${errorMessage(err)}`, synthesize: cli.synthesize.bind(cli), close: () => cli.close() };
  }
}

class SpeechHost {
  private readonly synthesizer: Synthesizer;
  private readonly queue: Job[] = [];
  private running = false;

  constructor(synthesizer: Synthesizer) {
    this.synthesizer = synthesizer;
  }

  connect(port: MessagePort): void {
    const client: Client = { port, closed: false };
    port.on('message', (m: ToHost) => this.receive(client, m));
    port.on('close', () => {
      client.closed = true;
      this.dropQueued(client);
    });
  }

  close(): void {
    this.synthesizer.close();
  }

  private receive(client: Client, m: ToHost): void {
    if (m?.t !== 'synth' || typeof m.id !== 'number') return;
    const problem = requestProblem(m.text, m.voice, m.wpm);
    const stopFlag = m.stop instanceof Int32Array && m.stop.buffer instanceof SharedArrayBuffer && m.stop.length >= 1;
    if (problem || !stopFlag) {
      const p = problem ?? { code: 'tts_request_invalid', message: 'stop must be an Int32Array on a SharedArrayBuffer' };
      send(client, { t: 'error', id: m.id, kind: 'invalid_request', ...p });
      return;
    }
    this.queue.push({ client, id: m.id, text: m.text, voice: m.voice, wpm: m.wpm, stop: m.stop });
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        await this.speak(job);
        // Let cancels, closes and new requests in between two requests: the library call is synchronous.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
    }
  }

  private async speak(job: Job): Promise<void> {
    const stopped = (): boolean => job.client.closed || Atomics.load(job.stop, 0) !== 0;
    if (stopped()) return send(job.client, { t: 'end', id: job.id });
    try {
      await this.synthesizer.synthesize(job, (pcm) => send(job.client, { t: 'chunk', id: job.id, pcm }, [pcm.buffer as ArrayBuffer]), stopped);
      send(job.client, { t: 'end', id: job.id });
    } catch (err) {
      const kind = isOperatorError(err) ? err.kind : 'server';
      const code = isOperatorError(err) ? err.code : 'tts_failed';
      send(job.client, { t: 'error', id: job.id, kind, code, message: errorMessage(err) });
    }
  }

  private dropQueued(client: Client): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.client === client) this.queue.splice(i, 1);
  }
}

function send(client: Client, m: FromHost, transfer: Transferable[] = []): void {
  if (!client.closed) client.port.postMessage(m, transfer);
}

async function main(): Promise<void> {
  const control = parentPort;
  if (!control) throw new Error('espeak-host-worker.ts runs as a worker thread (startEspeakHost)');
  const report = (m: HostReport): void => control.postMessage(m);
  let host: SpeechHost;
  try {
    const synthesizer = await openSynthesizer((workerData as HostWorkerData).mode);
    host = new SpeechHost(synthesizer);
    report({ t: 'ready', mode: synthesizer.mode, detail: synthesizer.detail });
  } catch (err) {
    report({ t: 'failed', message: errorMessage(err) });
    return;
  }
  control.on('message', (m: HostControl) => {
    if (m.t === 'connect') host.connect(m.port);
    else if (m.t === 'close') {
      host.close();
      control.close();
      process.exit(0);
    }
  });
}

void main();

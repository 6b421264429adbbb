import WebSocket from 'ws';
import type { ServerMsg } from './realtime-client.ts';

/**
 * A browser in voice mode on `/v1/realtime`: sends PCM16 frames at real-time pace, plays the
 * agent's audio at real time (echoing each `audio.mark` once the audio before it has played),
 * and honours `audio.clear`. Records everything.
 */
export class VoiceClient {
  readonly messages: ServerMsg[] = [];
  readonly ws: WebSocket;
  /** Agent audio bytes received, and when (ms since the socket opened). */
  readonly audio: { atMs: number; bytes: number }[] = [];
  closeCode: number | undefined;
  private readonly rate: number;
  private readonly t0 = performance.now();
  /** When the audio queued so far will have finished playing (ms, performance clock). */
  private playEnd = 0;
  private readonly markTimers = new Set<ReturnType<typeof setTimeout>>();
  private waiters: (() => void)[] = [];

  private constructor(ws: WebSocket, rate: number) {
    this.ws = ws;
    this.rate = rate;
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.onAudio(data as Buffer);
      else this.onMessage(JSON.parse((data as Buffer).toString('utf8')) as ServerMsg);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const t of this.markTimers) clearTimeout(t);
      this.wake();
    });
  }

  static connect(baseUrl: string, rate = 16_000): Promise<VoiceClient> {
    const ws = new WebSocket(new URL('/v1/realtime', baseUrl.replace(/^http/, 'ws')));
    const client = new VoiceClient(ws, rate);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  async start(agent: string, extra: object = {}): Promise<ServerMsg> {
    this.send({ type: 'session.start', agent, mode: 'voice', audio: { encoding: 'pcm16', sampleRate: this.rate }, ...extra });
    return this.waitFor((m) => m.type === 'session.started');
  }

  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }

  /** Streams `pcm` in 20 ms frames at real-time pace. */
  async speak(pcm: Int16Array): Promise<void> {
    const frame = (this.rate * 20) / 1000;
    const start = performance.now();
    for (let i = 0, n = 0; i < pcm.length; i += frame, n++) {
      const wait = start + n * 20 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.ws.readyState !== this.ws.OPEN) return;
      const chunk = pcm.slice(i, i + frame);
      this.ws.send(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }

  /** Silence for `ms`, at real-time pace (a browser mic keeps sending). */
  silence(ms: number): Promise<void> {
    return this.speak(new Int16Array((this.rate * ms) / 1000));
  }

  async waitFor(pred: (m: ServerMsg) => boolean, timeoutMs = 15_000, from = 0): Promise<ServerMsg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}); got ${JSON.stringify(this.messages.slice(-10))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.messages.slice(-10))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  all(type: string): ServerMsg[] {
    return this.messages.filter((m) => m.type === type);
  }

  audioBytes(): number {
    return this.audio.reduce((n, a) => n + a.bytes, 0);
  }

  close(): void {
    this.ws.close();
  }

  private nowMs(): number {
    return performance.now() - this.t0;
  }

  private onAudio(data: Buffer): void {
    this.audio.push({ atMs: this.nowMs(), bytes: data.length });
    const now = performance.now();
    this.playEnd = Math.max(this.playEnd, now) + (data.length / 2 / this.rate) * 1000;
  }

  private onMessage(m: ServerMsg): void {
    this.messages.push({ ...m, atMs: this.nowMs() });
    if (m.type === 'audio.mark') {
      const t = setTimeout(() => {
        this.markTimers.delete(t);
        if (this.ws.readyState === this.ws.OPEN) this.send({ type: 'audio.mark', id: m.id });
      }, Math.max(0, this.playEnd - performance.now()));
      this.markTimers.add(t);
    } else if (m.type === 'audio.clear') {
      this.playEnd = performance.now();
      for (const t of this.markTimers) clearTimeout(t);
      this.markTimers.clear();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A loud 300 Hz tone with some harmonics: the energy VAD hears it as speech. */
export function speechLike(ms: number, rate = 16_000): Int16Array {
  const n = (rate * ms) / 1000;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    out[i] = Math.round(6000 * Math.sin(2 * Math.PI * 300 * t) + 3000 * Math.sin(2 * Math.PI * 900 * t) + 1500 * Math.sin(2 * Math.PI * 1700 * t));
  }
  return out;
}

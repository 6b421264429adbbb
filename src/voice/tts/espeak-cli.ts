/**
 * The fallback when libespeak-ng cannot be loaded in-process: one `espeak-ng --stdout` process per
 * request, its WAV streamed back as it comes. Costs a process start (~10-50 ms) before the first
 * audio, and each voice's data is loaded anew every time.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { OperatorError } from '../../core/errors.ts';
import { WavStreamDecoder } from '../wav.ts';
import { ESPEAK_INSTALL, ESPEAK_RATE, plainText, type Synthesizer } from './espeak-protocol.ts';

export const ESPEAK_BINARY = 'espeak-ng';

/** Checks the binary runs; throws `tts_unavailable` with the fix when it does not. */
export async function openCliEspeak(binary = ESPEAK_BINARY): Promise<Synthesizer> {
  let version: string;
  try {
    const { stdout } = await promisify(execFile)(binary, ['--version'], { timeout: 5_000 });
    version = stdout.trim();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${binary} is not on the PATH` : `${binary} --version failed`;
    throw new OperatorError('server', 'tts_unavailable', `${reason}; install it with "${ESPEAK_INSTALL}"`, { cause: err });
  }
  return new CliEspeak(binary, `${binary} binary (${version}), one process per request`);
}

class CliEspeak implements Synthesizer {
  readonly mode = 'cli';
  readonly detail: string;
  private readonly binary: string;

  constructor(binary: string, detail: string) {
    this.binary = binary;
    this.detail = detail;
  }

  synthesize(request: { text: string; voice: string; wpm: number }, onChunk: (pcm: Int16Array) => void, shouldStop: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      // Text on stdin, never as an argument: it cannot be taken for an option. -b 1: UTF-8 input.
      const child = spawn(this.binary, ['--stdout', '-b', '1', '-v', request.voice, '-s', String(request.wpm)], { stdio: ['pipe', 'pipe', 'pipe'] });
      const wav = new WavStreamDecoder();
      let stderr = '';
      let stopped = false;
      child.stdout.on('data', (piece: Buffer) => {
        if (stopped) return;
        if (shouldStop()) {
          stopped = true;
          child.kill();
          return;
        }
        try {
          const pcm = wav.push(piece);
          if (wav.format && wav.format.sampleRate !== ESPEAK_RATE) throw new OperatorError('server', 'tts_failed', `espeak-ng spoke at ${wav.format.sampleRate} Hz`);
          if (pcm.length > 0) onChunk(pcm);
        } catch (err) {
          stopped = true;
          child.kill();
          reject(err instanceof OperatorError ? err : new OperatorError('server', 'tts_failed', `espeak-ng wrote bad audio: ${String(err)}`));
        }
      });
      child.stderr.on('data', (piece: Buffer) => {
        if (stderr.length < 2_000) stderr += piece.toString('utf8');
      });
      child.on('error', (err) => reject(new OperatorError('server', 'tts_failed', `${this.binary} did not start: ${err.message}`)));
      child.on('close', (code) => {
        if (stopped || code === 0) return resolve();
        if (/voice does not exist/i.test(stderr)) {
          return reject(new OperatorError('invalid_request', 'tts_voice_not_found', `espeak-ng has no voice "${request.voice}"`));
        }
        reject(new OperatorError('server', 'tts_failed', `${this.binary} exited with ${code}: ${stderr.trim() || 'no message'}`));
      });
      child.stdin.on('error', () => undefined); // EPIPE when it exits early; 'close' reports why
      child.stdin.end(plainText(request.text));
    });
  }

  close(): void {}
}

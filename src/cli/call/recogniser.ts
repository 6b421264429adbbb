import { errorMessage } from '../../core/errors.ts';
import { Resampler } from '../../voice/resample.ts';
import type { SttEngine } from '../../voice/types.ts';

/** Follows one agent utterance as it plays (PCM16 at 8 kHz, as heard on the phone). */
export interface HeardUtterance {
  write(pcm8k: Int16Array): void;
  /** The text; a failure comes back as a bracketed note rather than a rejection. */
  finish(): Promise<string>;
}

export interface Recogniser {
  /** Starts the next utterance; the previous one must have been finished. */
  begin(): HeardUtterance;
  close(): Promise<void>;
}

const STT_RATE = 16_000;

/**
 * pocketsphinx with its en-us model and the phone-band transform (the agent is heard through the
 * phone line), in this process (~95 MB, ~250 ms to load). Rejects with the
 * engine's own message, which names the package to install, when it cannot load.
 */
export async function openPocketsphinx(): Promise<Recogniser> {
  const { PocketsphinxStt } = await import('../../voice/stt/pocketsphinx.ts');
  const stt = await PocketsphinxStt.create({ sampleRate: STT_RATE, band: 'phone' });
  return sttRecogniser(stt);
}

/** Utterances on `stt`, the phone audio brought up to the engine's 16 kHz on the way. */
export function sttRecogniser(stt: SttEngine): Recogniser {
  return {
    begin() {
      const stream = stt.start({ sampleRate: STT_RATE });
      const upsample = new Resampler(8000, STT_RATE);
      return {
        write: (pcm8k) => stream.write(upsample.push(pcm8k)),
        async finish() {
          stream.write(upsample.flush());
          try {
            return (await stream.finish()).text;
          } catch (err) {
            return `[not recognised: ${errorMessage(err)}]`;
          }
        },
      };
    },
    close: () => stt.close(),
  };
}

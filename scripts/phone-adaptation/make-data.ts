/**
 * Writes the adaptation data for build.sh: every utterance band-limited exactly like a phone call
 * (16 kHz -> 8 kHz -> μ-law -> 16 kHz, with the project's own resampler and codec) as a 16 kHz WAV,
 * plus the control file and transcription sphinx_fe and bw read.
 *
 *   node make-data.ts OUT_DIR [--wideband] [--hold-out NAME,...]
 *
 * Data: the real read speech shipped in Debian's pocketsphinx-testdata and sphinxtrain (librivox,
 * cards, goforward, something, TIMIT sa1) and espeak-ng speech of customer-service sentences in
 * TRAIN_VOICES at two speeds. The voices the evaluation uses (EVAL_VOICES) and the sentences of
 * the evaluation (scripts/phone-adaptation/eval-wer.ts, test/voice/pocketsphinx.test.ts) are left out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulawToPcm16, pcm16ToMulaw } from '../../src/voice/codec.ts';
import { resampleAll } from '../../src/voice/resample.ts';
import { builtinPhrases } from '../../src/voice/stt/domain-corpus.ts';
import { parseWav, writeWav } from '../../src/voice/wav.ts';

const RATE = 16_000;
const DICT = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';
const PS_DATA = '/usr/share/pocketsphinx/test/data';
const ST_DATA = '/usr/lib/x86_64-linux-gnu/sphinxtrain/python/cmusphinx/test';

/** espeak-ng voices the transform is trained on. */
export const TRAIN_VOICES = ['en-us+f2', 'en+m2', 'en-gb', 'en-gb-x-rp+m4', 'en-us+m5', 'en+f4', 'en-029+m6', 'en-gb-scotland+f5'];
/** Held out: wer.ts's default set plus three more, never in the training data. */
export const EVAL_VOICES = ['en-us+m3', 'en-us', 'en-us+f3', 'en+m1', 'en-us+f1', 'en+m7', 'en-gb-x-gbclan+m4'];

/** The sentences eval-wer.ts scores: never trained on. */
export const EVAL_SENTENCES = [
  'where is my order a one two three four five',
  'has my package shipped yet',
  'can i talk to a person',
  'transfer me to billing',
  'i want to speak to someone',
  'i will type in my account number',
  'let me enter my account number',
  'yes please',
  'no thank you goodbye',
  'what is the status of order a one zero zero zero one',
  'i have a question about a refund',
  'track my order please',
];

/** The sentences the evaluations use (eval-wer.ts's and test/voice/pocketsphinx.test.ts's): never trained on. */
export const HELD_OUT_SENTENCES = new Set([
  ...EVAL_SENTENCES,
  // test/voice/pocketsphinx.test.ts
  'i need to change my delivery address',
  'my order number is seven three nine one',
  'can i get my money back',
  'the package arrived broken',
]);

/** More of what callers say, and a few phonetically rich read sentences, for variety. */
const EXTRA = `
i ordered a blue jacket last week and it has not arrived
the tracking number does not work
could you check when my parcel will be delivered
i was charged twice for the same order
please cancel the subscription on my account
i would like to update my credit card
the item i received is the wrong size
can you send me a return label
my invoice shows the wrong amount
i moved last month so my address has changed
how long does shipping usually take
is there a store near me
i forgot my password
the website keeps giving me an error
can i pay with a gift card
i never got a confirmation email
please call me back this afternoon
my phone number is five five five two one nine eight
the order was placed on monday
i am calling about a damaged box
the birch canoe slid on the smooth planks
glue the sheet to the dark blue background
it is easy to tell the depth of a well
these days a chicken leg is a rare dish
rice is often served in round bowls
the juice of lemons makes fine punch
the box was thrown beside the parked truck
four hours of steady work faced us
a large size in stockings is hard to sell
the boy was there when the sun rose
a rod is used to catch pink salmon
the source of the huge river is the clear spring
kick the ball straight and follow through
help the woman get back to her feet
a pot of tea helps to pass the evening
smoky fires lack flame and heat
the soft cushion broke the man's fall
the salt breeze came across from the sea
the girl at the booth sold fifty bonds
the small pup gnawed a hole in the sock
`;

function dictionary(): Set<string> {
  const words = new Set<string>();
  for (const line of readFileSync(DICT, 'utf8').split('\n')) {
    const word = line.split(' ')[0];
    if (word) words.add(word.replace(/\(\d+\)$/, ''));
  }
  return words;
}

/** What a phone call does to 16 kHz speech: the same chain as the Twilio media stream. */
export function phoneBand(pcm16k: Int16Array): Int16Array {
  const narrow = resampleAll(pcm16k, RATE, 8_000);
  return resampleAll(mulawToPcm16(pcm16ToMulaw(narrow)), 8_000, RATE);
}

/** 300 ms of silence either side, as a VAD's pre-roll leaves it. */
function padded(pcm: Int16Array): Int16Array {
  const pad = (RATE * 300) / 1000;
  const out = new Int16Array(pcm.length + 2 * pad);
  out.set(pcm, pad);
  return out;
}

function espeak(text: string, voice: string, speed: number): Int16Array {
  const wav = parseWav(execFileSync('espeak-ng', ['-v', voice, '-s', String(speed), '--stdout', text]));
  return padded(resampleAll(wav.samples, wav.sampleRate, RATE));
}

/** The real, read speech Debian ships with transcripts: [name, 16 kHz samples, words]. */
export function humanSpeech(): [string, Int16Array, string][] {
  const out: [string, Int16Array, string][] = [];
  const parse = (line: string): [string, string] | undefined => {
    const m = /^<s>(.*)<\/s>\s*\((.+)\)\s*$/.exec(line.trim());
    return m ? [m[2]!, m[1]!.trim().replace(/\s+/g, ' ').toLowerCase()] : undefined;
  };
  for (const [dir, file] of [['librivox', 'transcription'], ['cards', 'cards.transcription']] as const) {
    for (const line of readFileSync(join(PS_DATA, dir, file), 'utf8').split('\n')) {
      const parsed = parse(line);
      if (parsed) out.push([`${dir}-${parsed[0]}`, parseWav(readFileSync(join(PS_DATA, dir, `${parsed[0]}.wav`))).samples, parsed[1]]);
    }
  }
  const raw = (path: string): Int16Array => new Int16Array(new Uint8Array(readFileSync(path)).buffer);
  out.push(['goforward', raw(join(PS_DATA, 'goforward.raw')), 'go forward ten meters']);
  out.push(['something', raw(join(PS_DATA, 'something.raw')), 'go somewhere and do something']);
  if (existsSync(join(ST_DATA, 'sa1.wav'))) {
    out.push(['timit-sa1', parseWav(readFileSync(join(ST_DATA, 'sa1.wav'))).samples, 'she had your dark suit in greasy wash water all year']);
  }
  return out;
}

/** The sentences espeak-ng says: the domain corpus and EXTRA, less the held-out ones. */
export function trainingSentences(): string[] {
  const words = dictionary();
  const all = [...builtinPhrases(), ...EXTRA.split('\n')].map((s) => s.trim().toLowerCase()).filter(Boolean);
  return [...new Set(all)].filter((s) => !HELD_OUT_SENTENCES.has(s) && s.split(' ').every((w) => words.has(w)));
}

function main(): void {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node make-data.ts OUT_DIR [--wideband] [--hold-out NAME,...]');
  const wideband = process.argv.includes('--wideband');
  const holdAt = process.argv.indexOf('--hold-out');
  const holdOut = new Set(holdAt > 0 ? (process.argv[holdAt + 1] ?? '').split(',') : []);
  mkdirSync(join(out, 'wav'), { recursive: true });
  // Two sets, so that build.sh can weight the (few) human recordings against the synthetic ones.
  const sets = { human: { ids: [] as string[], transcripts: [] as string[] }, espeak: { ids: [] as string[], transcripts: [] as string[] } };
  const add = (set: keyof typeof sets, id: string, pcm: Int16Array, words: string): void => {
    writeFileSync(join(out, 'wav', `${id}.wav`), writeWav(wideband ? pcm : phoneBand(pcm), RATE));
    sets[set].ids.push(`wav/${id}`);
    sets[set].transcripts.push(`<s> ${words} </s> (${id})`);
  };
  for (const [name, pcm, words] of humanSpeech()) if (!holdOut.has(name)) add('human', name, padded(pcm), words);
  const sentences = trainingSentences();
  TRAIN_VOICES.forEach((voice, v) => {
    sentences.forEach((sentence, i) => {
      const speed = (i + v) % 2 === 0 ? 140 : 175;
      add('espeak', `espeak-${v}-${i}`, espeak(sentence, voice, speed), sentence);
    });
  });
  for (const [set, { ids, transcripts }] of Object.entries(sets)) {
    writeFileSync(join(out, `${set}.fileids`), ids.join('\n') + '\n');
    writeFileSync(join(out, `${set}.transcription`), transcripts.join('\n') + '\n');
  }
  const counts = `${sets.human.ids.length} human recordings, ${sets.espeak.ids.length} espeak-ng utterances (${sentences.length} sentences x ${TRAIN_VOICES.length} voices)`;
  console.log(`${counts}, ${wideband ? 'wideband' : 'phone band'}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();

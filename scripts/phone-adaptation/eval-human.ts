/**
 * Word error on real (human) read speech, wideband and phone band, without and with an MLLR
 * transform: each file on a fresh decoder (as each call gets one), with the general en-us language
 * model (the domain model knows none of these words).
 *
 *   node eval-human.ts MLLR_FILE NAME,...   (names as make-data.ts gives them, e.g. goforward)
 */
import { PocketsphinxStt } from '../../src/voice/stt/pocketsphinx.ts';
import { humanSpeech, phoneBand } from './make-data.ts';

export function wordErrors(reference: string, hypothesis: string): number {
  const ref = reference.split(' ');
  const hyp = hypothesis.split(' ').filter(Boolean);
  let row = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const next = [i];
    for (let j = 1; j <= hyp.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    row = next;
  }
  return row[hyp.length]!;
}

/** One utterance on a fresh decoder (the general model unless `decoderArgs` say otherwise), with 300 ms of silence either side. */
export async function decode(pcm: Int16Array, decoderArgs: Record<string, string>): Promise<string> {
  const stt = await PocketsphinxStt.create({ decoderArgs });
  try {
    const pad = new Int16Array(4_800);
    const stream = stt.start({ sampleRate: 16_000 });
    for (const part of [pad, pcm, pad]) for (let at = 0; at < part.length; at += 320) stream.write(part.subarray(at, at + 320));
    return (await stream.finish()).text;
  } finally {
    await stt.close();
  }
}

async function main(): Promise<void> {
  const [mllr, names] = process.argv.slice(2);
  if (!mllr || !names) throw new Error('usage: node eval-human.ts MLLR_FILE NAME,...');
  const wanted = new Set(names.split(','));
  const files = humanSpeech().filter(([name]) => wanted.has(name));
  const conditions = [
    ['wideband', false, {}],
    ['wideband + mllr', false, { mllr }],
    ['phone', true, {}],
    ['phone + mllr', true, { mllr }],
  ] as const;
  for (const [label, phone, args] of conditions) {
    let errors = 0;
    let words = 0;
    for (const [name, pcm, said] of files) {
      const text = await decode(phone ? phoneBand(pcm) : pcm, args);
      errors += wordErrors(said, text);
      words += said.split(' ').length;
      if (process.env.SHOW === '1') console.log(label, '|', name, '=>', text);
    }
    console.log(JSON.stringify({ condition: label, files: files.length, words, wer: +(errors / words).toFixed(3) }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

/**
 * Leave-one-out check on the real speech: for each human recording, an MLLR transform solved from
 * the espeak-ng counts and every other human recording's counts (bw accumulates per recording,
 * so this needs one mllr_solve per fold, not one bw), then that recording decoded phone-band
 * without and with it, and wideband (as recorded) without and with it.
 *
 *   node loo.ts ACCUM_DIR MEANS VARIANCES HUMAN_WEIGHT [ESPEAK_ACCUM]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, wordErrors } from './eval-human.ts';
import { humanSpeech, phoneBand } from './make-data.ts';


const [accum, means, variances, weight, espeak] = process.argv.slice(2);
if (!accum || !means || !variances || !weight) throw new Error('usage: node loo.ts ACCUM_DIR MEANS VARIANCES HUMAN_WEIGHT [ESPEAK_ACCUM]');
const work = mkdtempSync(join(tmpdir(), 'loo-'));
const files = humanSpeech();
const errors = { phone: 0, phoneMllr: 0, wide: 0, wideMllr: 0 };
let words = 0;
for (const [name, pcm, said] of files) {
  const dirs: string[] = espeak === 'none' ? [] : [espeak ?? join(accum, 'espeak')];
  for (const [other] of files) if (other !== name) for (let i = 0; i < Number(weight); i++) dirs.push(join(accum, `h-${other}`));
  const out = join(work, `${name}.mllr`);
  execFileSync('/usr/lib/sphinxtrain/mllr_solve', ['-meanfn', means, '-varfn', variances, '-outmllrfn', out, '-accumdir', dirs.join(',')], { stdio: 'ignore' });
  const phone = phoneBand(pcm);
  const e = {
    phone: wordErrors(said, await decode(phone, {})),
    phoneMllr: wordErrors(said, await decode(phone, { mllr: out })),
    wide: wordErrors(said, await decode(pcm, {})),
    wideMllr: wordErrors(said, await decode(pcm, { mllr: out })),
  };
  for (const key of Object.keys(errors) as (keyof typeof errors)[]) errors[key] += e[key];
  words += said.split(' ').length;
  console.log(`${name} (${said.split(' ').length} words): errors ${JSON.stringify(e)}`);
}
const wer = Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, +(v / words).toFixed(3)]));
console.log(JSON.stringify({ weight, espeak: espeak ?? 'espeak', words, wer }));

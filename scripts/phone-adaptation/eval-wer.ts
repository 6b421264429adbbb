/**
 * Word error of pocketsphinx with the domain language model on 12 customer-service sentences
 * (not used to build the phone transform) said by espeak-ng voices, wideband or through 8 kHz
 * μ-law as on a phone call. Run from the repository root with Node 24:
 *   PHONE=1|0 VOICES=en-us+m3,en-us SHOW=1 ARGS='{"mllr":"assets/pocketsphinx/en-us-phone.mllr"}' node scripts/phone-adaptation/eval-wer.ts
 * NOISE=<amplitude> adds white noise; HMM=<dir> uses another acoustic model; LM=general the general model.
 */
import { execFileSync } from 'node:child_process';
import { mulawToPcm16, pcm16ToMulaw } from '../../src/voice/codec.ts';
import { resampleAll } from '../../src/voice/resample.ts';
import { parseWav } from '../../src/voice/wav.ts';
import { PocketsphinxStt } from '../../src/voice/stt/pocketsphinx.ts';
import { domainModel } from '../../src/voice/stt/domain-lm.ts';
import { resolveModel } from '../../src/voice/stt/pocketsphinx-native.ts';
import { wordErrors } from './eval-human.ts';
import { EVAL_SENTENCES } from './make-data.ts';

const SENT = EVAL_SENTENCES;
const VOICES = (process.env.VOICES ?? 'en-us+m3,en-us,en-us+f3,en+m1').split(',');
const phrases = ['where is my order A12345', "what's the status of order A10001", 'has my package shipped yet', 'track my order', 'order status',
  'can I talk to a person', 'transfer me to a human', 'I want to speak to someone', 'enter my account number', 'I will type it in', 'let me key in my PIN',
  'billing', 'transfer me to billing', 'billing questions and refunds', "Hi, this is Acme support. I can look up an order for you — what's your order number?", 'Acme Support'];
function speech(text: string, voice: string, phone: boolean): Int16Array {
  const wav = parseWav(execFileSync('espeak-ng', ['-v', voice, '-s', '150', '--stdout', text]));
  let pcm: Int16Array;
  if (phone) {
    const p8 = resampleAll(wav.samples, wav.sampleRate, 8000);
    pcm = resampleAll(mulawToPcm16(pcm16ToMulaw(p8)), 8000, 16000);
  } else pcm = resampleAll(wav.samples, wav.sampleRate, 16000);
  const pad = 4800; const out = new Int16Array(pcm.length + 2 * pad); out.set(pcm, pad);
  if (process.env.NOISE) for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, out[i]! + Math.round((Math.random() * 2 - 1) * Number(process.env.NOISE))));
  return out;
}
const args = JSON.parse(process.env.ARGS ?? '{}') as Record<string, string>;
const phone = process.env.PHONE !== '0';
const base = process.env.HMM ? { hmm: process.env.HMM } : {};
const domain = process.env.LM === 'general' ? {} : domainModel(phrases, resolveModel().dict);
let errs = 0, words = 0; const show = process.env.SHOW === '1';
for (const voice of VOICES) {
  const stt = await PocketsphinxStt.create({ ...base, ...domain, decoderArgs: args });
  for (const s of SENT) {
    const st = stt.start({ sampleRate: 16000 }); const pcm = speech(s, voice, phone);
    for (let at = 0; at < pcm.length; at += 320) st.write(pcm.subarray(at, at + 320));
    const r = await st.finish(); const e = wordErrors(s, r.text); errs += e; words += s.split(' ').length;
    if (show) console.log(voice, '|', s, '=>', r.text);
  }
  await stt.close();
}
console.log(JSON.stringify({ phone, args, hmm: process.env.HMM ?? 'default', wer: +(errs / words).toFixed(3) }));

/**
 * The channel part of a phone-band MLLR transform, without the speaker part.
 *
 *   node compose-mllr.ts PHONE_MLLR WIDE_MLLR OUT_MLLR
 *
 * Both transforms come from the same utterances: PHONE_MLLR (μ -> A_p μ + b_p) from them as a phone
 * call delivers them, WIDE_MLLR (μ -> A_w μ + b_w) from them at 16 kHz. Both also learn the
 * speakers (mostly espeak-ng voices); the map from where wideband speech sits to where the same
 * speech sits after the phone line is A_p A_w⁻¹ (x - b_w) + b_p, and applied to the model's own
 * (human, wideband) means that is the channel alone. Per feature stream, one class.
 *
 * The file format (SphinxTrain mllr_solve, read by pocketsphinx -mllr): #classes, #streams, then
 * per stream: its length n, n rows of A (output dimension first), one row b, one row of variance
 * scales.
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Stream {
  a: number[][];
  b: number[];
  h: number[];
}

export function parseMllr(text: string): Stream[] {
  const tokens = text.trim().split(/\s+/).map(Number);
  let at = 0;
  const next = (): number => tokens[at++]!;
  const classes = next();
  if (classes !== 1) throw new Error(`only one regression class is supported, not ${classes}`);
  const streams: Stream[] = [];
  for (let s = next(); s > 0; s--) {
    const n = next();
    const row = (): number[] => Array.from({ length: n }, next);
    const a = Array.from({ length: n }, row);
    streams.push({ a, b: row(), h: row() });
  }
  return streams;
}

export function formatMllr(streams: readonly Stream[]): string {
  const row = (v: readonly number[]): string => v.map((x) => x.toFixed(6)).join(' ') + ' \n';
  let out = `1\n${streams.length}\n`;
  for (const { a, b, h } of streams) out += `${a.length}\n${a.map(row).join('')}${row(b)}${row(h)}`;
  return out;
}

/** Gauss-Jordan inverse with partial pivoting. */
function invert(m: readonly number[][]): number[][] {
  const n = m.length;
  const w = m.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(w[r]![c]!) > Math.abs(w[p]![c]!)) p = r;
    [w[c], w[p]] = [w[p]!, w[c]!];
    const pivot = w[c]![c]!;
    if (Math.abs(pivot) < 1e-12) throw new Error('singular MLLR matrix');
    for (let k = 0; k < 2 * n; k++) w[c]![k]! /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = w[r]![c]!;
      if (f !== 0) for (let k = 0; k < 2 * n; k++) w[r]![k]! -= f * w[c]![k]!;
    }
  }
  return w.map((r) => r.slice(n));
}

function multiply(x: readonly number[][], y: readonly number[][]): number[][] {
  return x.map((r) => y[0]!.map((_, j) => r.reduce((sum, v, k) => sum + v * y[k]![j]!, 0)));
}

export function channelOnly(phone: readonly Stream[], wide: readonly Stream[]): Stream[] {
  return phone.map((p, s) => {
    const w = wide[s]!;
    const a = multiply(p.a, invert(w.a));
    const b = p.b.map((bp, i) => bp - a[i]!.reduce((sum, v, k) => sum + v * w.b[k]!, 0));
    return { a, b, h: p.h.map(() => 1) };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [phone, wide, out] = process.argv.slice(2);
  if (!phone || !wide || !out) throw new Error('usage: node compose-mllr.ts PHONE_MLLR WIDE_MLLR OUT_MLLR');
  writeFileSync(out, formatMllr(channelOnly(parseMllr(readFileSync(phone, 'utf8')), parseMllr(readFileSync(wide, 'utf8')))));
}

/**
 * Converts a PocketSphinx `sendump` (8-bit quantised mixture weights) to the SphinxTrain
 * `mixture_weights` file that `bw` needs: sphinxtrain's own sendump.py does the same but is
 * Python 2 and needs numpy, which Debian's python3 does not have.
 *
 *   node sendump-to-mixw.ts MODEL/sendump OUT/mixture_weights
 *
 * sendump: a header of length-prefixed strings ending with a 0 length, then int32 #codewords,
 * int32 #senones, then for each feature stream and codeword, one byte per senone: -log(w) in
 * log base 1.0001, shifted right by 10 bits. mixture_weights: "s3\n", "name value" lines, "endhdr\n"
 * (padded so the data is 4-byte aligned), 0x11223344, uint32 d1 d2 d3 n, then n float32 in
 * [senone][stream][codeword] order.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const MIXW_SHIFT = 10;

export function sendumpToMixw(sendump: Buffer): Buffer {
  let at = 0;
  const int32 = (): number => {
    const v = sendump.readInt32LE(at);
    at += 4;
    return v;
  };
  for (let len = int32(); len !== 0; len = int32()) {
    const text = sendump.toString('latin1', at, at + len - 1);
    at += len;
    if (/^cluster_count [1-9]/m.test(text)) throw new Error('clustered sendump files are not supported');
  }
  const codewords = int32();
  const senones = int32();
  const streams = (sendump.length - at) / (codewords * senones);
  if (!Number.isInteger(streams)) throw new Error(`unexpected sendump size: ${sendump.length - at} bytes of weights`);
  const weights = new Float32Array(senones * streams * codewords);
  for (let f = 0; f < streams; f++) {
    for (let c = 0; c < codewords; c++) {
      for (let s = 0; s < senones; s++) weights[(s * streams + f) * codewords + c] = Math.pow(1.0001, -(sendump[at++]! << MIXW_SHIFT));
    }
  }
  // Quantisation leaves each distribution summing to ~1: make it exactly 1.
  for (let i = 0; i < senones * streams; i++) {
    const row = weights.subarray(i * codewords, (i + 1) * codewords);
    const sum = row.reduce((a, b) => a + b, 0);
    for (let c = 0; c < codewords; c++) row[c]! /= sum;
  }
  let header = 's3\nversion 1.0\n';
  const misalign = (header.length + 'endhdr\n'.length) & 3;
  header += `${' '.repeat(misalign === 0 ? 0 : 4 - misalign)}endhdr\n`;
  const dims = Buffer.alloc(20);
  dims.writeInt32LE(0x11223344, 0);
  [senones, streams, codewords, weights.length].forEach((v, i) => dims.writeUInt32LE(v, 4 + 4 * i));
  console.log(`mixture_weights: ${senones} senones x ${streams} streams x ${codewords} codewords`);
  return Buffer.concat([Buffer.from(header, 'latin1'), dims, Buffer.from(weights.buffer)]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) throw new Error('usage: node sendump-to-mixw.ts SENDUMP OUT_MIXTURE_WEIGHTS');
  writeFileSync(output, sendumpToMixw(readFileSync(input)));
}

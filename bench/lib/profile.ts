import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Summarises the V8 CPU profiles `node --cpu-prof` wrote for the server (one file per thread
 * that exited normally; `CPU.<date>.<pid>.<threadId>.<n>.cpuprofile`, thread 0 = main): self time
 * by where the code lives — a package, a file of src/, a Node internal module, GC.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  thread: string;
  files: number;
  /** Sampled time, excluding idle (ms). */
  busyMs: number;
  byPlace: { place: string; ms: number; pct: number }[];
  byFunction: { fn: string; ms: number; pct: number }[];
}

function place(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/(src\/.+)$/.exec(url);
  if (src) return src[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
  return url;
}

function top(m: Map<string, number>, busy: number, n: number): { key: string; ms: number; pct: number }[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, us]) => ({ key, ms: Math.round(us / 1000), pct: Math.round((us / busy) * 1000) / 10 }));
}

/**
 * `window`: only samples taken between these CLOCK_MONOTONIC times (µs; the client's
 * `process.hrtime.bigint() / 1000n`), e.g. to leave out start-up and keep one phase.
 */
export function summarizeProfiles(dir: string, topN = 20, window?: { fromUs: number; toUs: number }): ProfileSummary[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const thread = f.split('.')[4] === '0' ? 'main thread' : 'worker threads';
    groups.set(thread, [...(groups.get(thread) ?? []), f]);
  }
  return [...groups.entries()].map(([thread, fs]) => {
    const places = new Map<string, number>();
    const fns = new Map<string, number>();
    let busy = 0;
    for (const f of fs) {
      const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
      const byId = new Map(prof.nodes.map((n) => [n.id, n]));
      let at = prof.startTime;
      prof.samples.forEach((id, i) => {
        at += prof.timeDeltas[i] ?? 0;
        if (window && (at < window.fromUs || at > window.toUs)) return;
        const node = byId.get(id);
        const us = prof.timeDeltas[i + 1] ?? 0;
        if (!node || node.callFrame.functionName === '(idle)') return;
        const { url, functionName, lineNumber } = node.callFrame;
        const where = place(url, functionName);
        busy += us;
        places.set(where, (places.get(where) ?? 0) + us);
        const fn = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
        fns.set(fn, (fns.get(fn) ?? 0) + us);
      });
    }
    return {
      thread,
      files: fs.length,
      busyMs: Math.round(busy / 1000),
      byPlace: top(places, busy, topN).map(({ key, ms, pct }) => ({ place: key, ms, pct })),
      byFunction: top(fns, busy, topN).map(({ key, ms, pct }) => ({ fn: key, ms, pct })),
    };
  });
}

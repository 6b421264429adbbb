import type { Summary } from './stats.ts';

/** What a benchmark hands back to the runner, and how the runner prints and stores it. */

export interface Target {
  op: '<' | '>=';
  value: number;
  /** Where the target comes from (DESIGN.md, the issue). */
  source: string;
}

export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  /** Extra context shown next to the value, e.g. the other percentiles. */
  detail?: string;
  target?: Target;
  pass?: boolean;
}

export function figure(id: string, label: string, value: number, unit: string, opts: { detail?: string; target?: Target } = {}): Figure {
  const f: Figure = { id, label, value, unit, ...opts };
  if (opts.target) f.pass = opts.target.op === '<' ? value < opts.target.value : value >= opts.target.value;
  return f;
}

export function latencyDetail(s: Summary): string {
  return `p50 ${s.p50} / p95 ${s.p95} / p99 ${s.p99} ms, max ${s.max}, n=${s.n}`;
}

export interface BenchOutput {
  figures: Figure[];
  /** Every measured series and the parameters of the run. */
  data: Record<string, unknown>;
  /** Warn/error lines the server logged, if any. */
  serverProblems: string[];
}

export interface BenchContext {
  quick: boolean;
  /** Extra `node` arguments for the server process (e.g. --cpu-prof). */
  serverNodeArgs: string[];
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchOutput>;
}

function fmtValue(f: Figure): string {
  const v = Math.abs(f.value) >= 100 ? Math.round(f.value).toLocaleString('en-US') : String(Math.round(f.value * 100) / 100);
  return `${v} ${f.unit}`;
}

function fmtTarget(t: Target | undefined, unit: string): string {
  if (!t) return '—';
  return `${t.op} ${t.value.toLocaleString('en-US')} ${unit}`;
}

/** The summary table printed at the end of a run. */
export function renderTable(rows: { bench: string; figure?: Figure; error?: string }[]): string {
  const lines: string[][] = [['benchmark', 'figure', 'measured', 'target', 'result']];
  for (const r of rows) {
    if (r.error || !r.figure) {
      lines.push([r.bench, 'FAILED', r.error ?? 'no figures', '', '']);
      continue;
    }
    const f = r.figure;
    const result = f.pass === undefined ? 'info' : f.pass ? 'pass' : 'MISS';
    lines.push([r.bench, f.label, fmtValue(f), fmtTarget(f.target, f.unit), result]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

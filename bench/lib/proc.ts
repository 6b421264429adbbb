import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Readers of /proc (Linux): a process's memory and CPU, the machine's load. */

/** Resident set of a process (all its threads), in MB. */
export function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) a process has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** How busy the machine was (all cores, %) over `ms`, before this benchmark added any load. */
export async function backgroundLoad(ms = 1000): Promise<{ busyCpuPct: number; loadavg1m: number }> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const pct = b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * 100 : 0;
  return { busyCpuPct: Math.round(pct * 10) / 10, loadavg1m: Math.round(loadavg()[0]! * 100) / 100 };
}

/** MemAvailable of the machine, in MB (to size the 500-session runs safely). */
export function availableMemoryMb(): number {
  const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.POSITIVE_INFINITY;
}

/**
 * How many more sessions of `mbEach` fit in the machine's available memory, keeping `reserveMb`
 * free for everything else on it (at most `wanted`). The 500-session runs need ~15 GB here.
 */
export function sessionsThatFit(wanted: number, mbEach: number, reserveMb = 2048): number {
  const room = availableMemoryMb() - reserveMb;
  return Math.max(0, Math.min(wanted, Math.floor(room / Math.max(mbEach, 1))));
}

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

/** The machine's CPU time so far, in clock ticks: busy (not idle or iowait) and total, all cores. */
export function cpuTimes(): { busy: number; total: number } {
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

/** Memory mappings a process holds now (each worker thread adds ~140: heap spaces, stack, code). */
export function mapCount(pid: number): number {
  return readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').length - 1;
}

/**
 * The kernel's per-process limit on mappings. Past it mmap fails, which V8 reports as "JavaScript
 * heap out of memory" and aborts the whole process (every live conversation with it).
 */
export function maxMapCount(): number {
  try {
    return Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim()) || 65_530;
  } catch {
    return 65_530;
  }
}

export interface FleetCap {
  /** How many more sessions to open. */
  more: number;
  limitedBy?: string;
}

/**
 * How many more sessions (at most `wanted`) the machine can take: the memory left (keeping 2 GB
 * for everything else) and the server's mappings kept under 90 % of vm.max_map_count, counting
 * the `spareWorkers` the pool refills on top of the live ones.
 */
export function fleetCap(pid: number, wanted: number, cost: { mb: number; maps: number }, spareWorkers: number): FleetCap {
  const byMemory = Math.floor((availableMemoryMb() - 2048) / Math.max(cost.mb, 1));
  const limit = maxMapCount();
  const byMaps = Math.floor((limit * 0.9 - mapCount(pid)) / Math.max(cost.maps, 1)) - spareWorkers;
  const more = Math.max(0, Math.min(wanted, byMemory, byMaps));
  if (more === wanted) return { more };
  return {
    more,
    limitedBy:
      byMaps <= byMemory
        ? `vm.max_map_count (${limit}): each live session's worker thread holds ~${Math.round(cost.maps)} mappings`
        : `available memory (${Math.round(availableMemoryMb())} MB at ~${Math.round(cost.mb)} MB per session)`,
  };
}

export interface CpuWindow {
  serverCpuS: number;
  clientCpuS: number;
  /** CPU other processes on the machine used meanwhile, % of all cores (interference). */
  otherCpuPct: number;
}

/** Starts measuring CPU: the server's, this process's, and everybody else's; call the result to stop. */
export function cpuWindow(serverPid: number): () => CpuWindow {
  const server0 = processCpuSeconds(serverPid);
  const client0 = process.cpuUsage();
  const machine0 = cpuTimes();
  return () => {
    const serverCpuS = processCpuSeconds(serverPid) - server0;
    const client = process.cpuUsage(client0);
    const machine1 = cpuTimes();
    const clientCpuS = (client.user + client.system) / 1e6;
    const busyS = (machine1.busy - machine0.busy) / CLK_TCK;
    const totalS = (machine1.total - machine0.total) / CLK_TCK;
    const otherCpuPct = totalS > 0 ? Math.max(0, ((busyS - serverCpuS - clientCpuS) / totalS) * 100) : 0;
    return { serverCpuS, clientCpuS, otherCpuPct };
  };
}

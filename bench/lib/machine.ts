import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { NODE24, ROOT, SERVER_ROOT } from './server.ts';

/** Where and on what a result was measured (written into every results file). */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  node: string;
  date: string;
  gitCommit: string;
  /** Uncommitted changes in the measured tree when the run started. */
  gitDirty: boolean;
  serverRoot: string;
}

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  const root = git(['rev-parse', '--show-toplevel'], SERVER_ROOT) ? SERVER_ROOT : ROOT;
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: execFileSync(NODE24, ['--version'], { encoding: 'utf8' }).trim(),
    date: new Date().toISOString(),
    gitCommit: git(['rev-parse', 'HEAD'], root) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain', '--untracked-files=no'], root) ?? '') !== '',
    serverRoot: SERVER_ROOT === ROOT ? '.' : SERVER_ROOT,
  };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { burst, closeAll, openSessions, sleep, turnEach } from './lib/fleet.ts';
import { summarizeProfiles } from './lib/profile.ts';
import { spawnBenchServer } from './lib/server.ts';
import { fmtSummary, round, summarize } from './lib/stats.ts';

/**
 * Where the server's time goes per turn: runs it under `node --cpu-prof`, drives one session
 * through sequential turns, then a burst, and summarises the samples taken during each phase
 * only (start-up and worker spawning left out).
 *   node bench/profile-turns.ts [--turns 2000] [--sessions 100] [--burst-turns 10] [--keep]
 * Profile times are wall-clock samples of each thread: with more threads than cores they include
 * time a thread waited for a core, so read the percentages, and the /proc CPU figure for cost.
 */
const { values } = parseArgs({
  options: {
    turns: { type: 'string', default: '2000' },
    sessions: { type: 'string', default: '100' },
    'burst-turns': { type: 'string', default: '10' },
    top: { type: 'string', default: '15' },
    keep: { type: 'boolean', default: false },
  },
});
const turns = Number(values.turns);
const sessions = Number(values.sessions);
const burstTurns = Number(values['burst-turns']);
const top = Number(values.top);

const dir = mkdtempSync(join(tmpdir(), 'operator-profile-'));
const server = await spawnBenchServer({ poolSize: 4, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'] });
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const windows: { name: string; fromUs: number; toUs: number; turns: number; serverCpuMs: number; latency: string }[] = [];

const one = await openSessions(server, 1);
for (let i = 0; i < 50; i++) await one.sessions[0]!.turn('hello');
let cpu = server.cpuSeconds();
let from = nowUs();
const seq: number[] = [];
for (let i = 0; i < turns; i++) seq.push((await one.sessions[0]!.turn('hello')).firstDeltaMs);
windows.push({ name: `1 session, ${turns} sequential turns`, fromUs: from, toUs: nowUs(), turns, serverCpuMs: (server.cpuSeconds() - cpu) * 1000, latency: fmtSummary(summarize(seq)) });
await closeAll(one.sessions);

const fleet = await openSessions(server, sessions, 4);
await turnEach(fleet.sessions);
await sleep(1000);
cpu = server.cpuSeconds();
from = nowUs();
const b = await burst(server, fleet.sessions, burstTurns);
windows.push({ name: `${sessions} sessions × ${burstTurns} turns at once`, fromUs: from, toUs: nowUs(), turns: b.firstDeltaMs.length, serverCpuMs: (server.cpuSeconds() - cpu) * 1000, latency: fmtSummary(summarize(b.firstDeltaMs)) });
await closeAll(fleet.sessions);
await server.stop();

for (const w of windows) {
  process.stdout.write(`\n## ${w.name}: first delta ${w.latency}; server CPU ${round(w.serverCpuMs / w.turns)} ms/turn (/proc)\n`);
  for (const p of summarizeProfiles(dir, top, w)) {
    process.stdout.write(`### ${p.thread}: ${p.busyMs} ms sampled busy (${round(p.busyMs / w.turns)} ms/turn)\n`);
    for (const x of p.byPlace) process.stdout.write(`  ${String(x.pct).padStart(5)} %  ${x.place}\n`);
    process.stdout.write('  top functions:\n');
    for (const x of p.byFunction) process.stdout.write(`  ${String(x.pct).padStart(5)} %  ${x.fn}\n`);
  }
}
if (values.keep) process.stdout.write(`\nprofiles kept in ${dir}\n`);
else rmSync(dir, { recursive: true, force: true });

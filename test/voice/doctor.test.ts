import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/commands/doctor.ts';
import { embeddedEngineStatus, findBinary } from '../../src/voice/engines-status.ts';
import type { EngineStatus } from '../../src/voice/types.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** Whether this machine has the Debian packages (CI installs them in .ci/run). */
const installed = {
  pocketsphinx: findBinary('pocketsphinx_continuous') !== undefined,
  espeak: findBinary('espeak-ng') !== undefined,
};

function doctor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'doctor', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function byEngine(statuses: EngineStatus[]): Record<string, EngineStatus> {
  return Object.fromEntries(statuses.map((s) => [s.engine, s]));
}

describe('engine availability', () => {
  it('finds the embedded engines, or says what is missing and how to install it', async () => {
    const found = byEngine(await embeddedEngineStatus());
    expect(found.pocketsphinx).toMatchObject({ kind: 'stt', available: installed.pocketsphinx });
    expect(found['espeak-ng']).toMatchObject({ kind: 'tts', available: installed.espeak });
    if (installed.pocketsphinx) expect(found.pocketsphinx!.detail).toMatch(/libpocketsphinx\.so\.3 via koffi \d+\.\d+\.\d+, model \/usr\/share\/pocketsphinx/);
    if (installed.espeak) expect(found['espeak-ng']!.detail).toMatch(/native: libespeak-ng\.so\.1 via koffi/);

    const missing = byEngine(await embeddedEngineStatus({ pocketsphinx: { modelDir: '/nonexistent/model' } }));
    expect(missing.pocketsphinx!.available).toBe(false);
    expect(missing.pocketsphinx!.detail).toContain('model files missing: /nonexistent/model/en-us/mdef');
    expect(missing.pocketsphinx!.detail).toContain('fix: apt-get install pocketsphinx pocketsphinx-en-us');
  });

  it('prints one block per engine, what it found or why not, and a summary', () => {
    const text = formatStatus([
      { kind: 'stt', engine: 'pocketsphinx', available: true, detail: 'libpocketsphinx.so.3 via koffi 3.3.4' },
      { kind: 'tts', engine: 'espeak-ng', available: false, detail: `${'word '.repeat(40)}fix: apt-get install espeak-ng` },
    ]);
    expect(text).toContain('  stt pocketsphinx  available\n    libpocketsphinx.so.3 via koffi 3.3.4\n');
    expect(text).toContain('  tts espeak-ng     NOT AVAILABLE\n');
    expect(text.split('\n').every((line) => line.length <= 110)).toBe(true);
    expect(text).toContain('fix: apt-get install espeak-ng');
    expect(text).toContain('1 of 2 embedded speech engines are not available.');
  });
});

describe('operator doctor', () => {
  it('reports as JSON, and exits 0 even when an engine is missing', { timeout: 60_000 }, async () => {
    const { code, stdout } = await doctor('--json', '--quick', '--model-dir', '/nonexistent/model');
    expect(code).toBe(0);
    const statuses = byEngine(JSON.parse(stdout) as EngineStatus[]);
    expect(Object.keys(statuses).sort()).toEqual(['espeak-ng', 'pocketsphinx', 'silero']);
    expect(statuses.silero!.kind).toBe('vad');
    expect(statuses.pocketsphinx!.available).toBe(false);
  });

  it('exits 1 with --require-embedded when something is missing', { timeout: 60_000 }, async () => {
    const { code, stdout } = await doctor('--quick', '--require-embedded', '--model-dir', '/nonexistent/model');
    expect(code).toBe(1);
    expect(stdout).toMatch(/stt pocketsphinx\s+NOT AVAILABLE/);
    expect(stdout).toContain('apt-get install pocketsphinx pocketsphinx-en-us');
  });

  it.skipIf(!installed.pocketsphinx || !installed.espeak)('runs each engine once and exits 0 with --require-embedded', { timeout: 60_000 }, async () => {
    const { code, stdout } = await doctor('--json', '--require-embedded');
    const statuses = byEngine(JSON.parse(stdout) as EngineStatus[]);
    expect(statuses.pocketsphinx!.detail).toMatch(/loaded and decoded in \d+ ms/);
    expect(statuses['espeak-ng']!.detail).toMatch(/the host started in \d+ ms \(native mode\) and spoke/);
    expect(code).toBe(statuses.silero!.available ? 0 : 1);
  });

  it('explains itself with --help', async () => {
    const { code, stdout } = await doctor('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: operator doctor');
    expect(stdout).toContain('--require-embedded');
  });
});

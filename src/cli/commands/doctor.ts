import type { EngineStatus } from '../../voice/types.ts';
import { embeddedEngineStatus } from '../../voice/engines-status.ts';
import { vadStatus } from '../../voice/vad/index.ts';
import type { Command } from '../args.ts';

/** The embedded engines' statuses: pocketsphinx, espeak-ng, Silero. */
export async function speechEngineStatus(opts: { probe: boolean; modelDir?: string }): Promise<EngineStatus[]> {
  const embedded = await embeddedEngineStatus({ probe: opts.probe, ...(opts.modelDir ? { pocketsphinx: { modelDir: opts.modelDir } } : {}) });
  return [...embedded, await vadStatus()];
}

/** One block per engine: a status line, then what was found or why not, indented. */
export function formatStatus(statuses: readonly EngineStatus[]): string {
  const width = Math.max(...statuses.map((s) => `${s.kind} ${s.engine}`.length));
  const lines = statuses.map((s) => {
    const mark = s.available ? 'available' : 'NOT AVAILABLE';
    return `  ${`${s.kind} ${s.engine}`.padEnd(width)}  ${mark}\n${wrap(s.detail, 96).map((l) => `    ${l}`).join('\n')}`;
  });
  const missing = statuses.filter((s) => !s.available).length;
  const summary = missing === 0 ? 'Every embedded speech engine is available.' : `${missing} of ${statuses.length} embedded speech engines are not available.`;
  return `Speech engines on this machine (offline, no keys needed):\n\n${lines.join('\n\n')}\n\n${summary}\n`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Report which embedded speech engines (STT, TTS, VAD) run on this machine, and why not',
  usage: 'operator doctor [--json] [--quick] [--require-embedded] [--model-dir DIR]',
  help: `
Checks the engines voice calls use when no cloud engine is configured: pocketsphinx (speech to
text), espeak-ng (text to speech) and Silero (voice activity). For each it says whether it is
available, what it found (libraries, model files, versions) or why not and what to install.
By default each engine is also run once (~1 s in all).

Options:
      --json               Print the statuses as JSON: [{ kind, engine, available, detail }]
      --quick              Only look for libraries and files; do not run the engines
      --require-embedded   Exit with 1 when an engine is not available (otherwise always 0)
      --model-dir DIR      pocketsphinx model folder [default /usr/share/pocketsphinx/model/en-us]`,
  options: {
    json: { type: 'boolean' },
    quick: { type: 'boolean' },
    'require-embedded': { type: 'boolean' },
    'model-dir': { type: 'string' },
  },
  async run(values) {
    const modelDir = typeof values['model-dir'] === 'string' ? values['model-dir'] : undefined;
    const statuses = await speechEngineStatus({ probe: values.quick !== true, ...(modelDir ? { modelDir } : {}) });
    process.stdout.write(values.json === true ? `${JSON.stringify(statuses, null, 2)}\n` : formatStatus(statuses));
    return values['require-embedded'] === true && statuses.some((s) => !s.available) ? 1 : 0;
  },
};

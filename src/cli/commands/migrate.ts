import { settingsFromEnv } from '../../server/main.ts';
import { openStore } from '../../store/index.ts';
import type { Command } from '../args.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations and exit (the server also runs them at start)',
  usage: 'operator migrate [--data-dir DIR]',
  help: `
Options:
      --data-dir DIR     Folder of the embedded SQLite store [OPERATOR_DATA_DIR, default .operator]

With DATABASE_URL set, migrates that PostgreSQL database instead. Safe to run while other nodes
run: migrations take a lock and each one runs once.`,
  options: { 'data-dir': { type: 'string' } },
  async run(values) {
    const env = { ...process.env };
    if (typeof values['data-dir'] === 'string') env.OPERATOR_DATA_DIR = values['data-dir'];
    const s = settingsFromEnv(env);
    const store = await openStore({ ...(s.databaseUrl ? { databaseUrl: s.databaseUrl } : {}), dataDir: s.dataDir, nodeId: s.nodeId });
    try {
      const { applied } = await store.migrate();
      process.stdout.write(
        applied.length > 0 ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'The database is up to date.\n',
      );
    } finally {
      await store.close();
    }
    return 0;
  },
};

#!/usr/bin/env node
// Entry of `npx operator`. The project runs on Node 24 (node:sqlite, TypeScript type stripping);
// when invoked by an older system Node, re-run this command on the Node 24 from the `node` npm package.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  await import(cli);
} else {
  const node24 = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(node24)) {
    console.error(`operator needs Node.js 24 or later (this is ${process.version}); run "npm install" in the project first.`);
    process.exit(1);
  }
  const child = spawn(node24, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal's process group; forward only SIGTERM.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)));
}

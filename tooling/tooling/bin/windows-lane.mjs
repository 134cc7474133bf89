#!/usr/bin/env node
// Runs this package's Vitest suite as real Windows code.
//
// - On a Windows machine: plain `vitest run` (the win32-gated suites simply run).
// - Elsewhere: through a Windows node.exe runner, taken from $IPCEZ_WIN_NODE, or else the
//   repo's own copy at tooling/win-node/win-node (a real Windows node.exe under wine; it
//   installs wine on first use). The runner gets `node_modules/vitest/vitest.mjs run ...args`.
//
// It exits with the runner's exit code, so failing Windows tests fail the lane.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(process.cwd(), 'package.json'));
const vitestEntry = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const args = ['run', ...process.argv.slice(2)];
const env = { ...process.env, IPCEZ_TEST_LANE: 'windows' };

let cmd;
let cmdArgs;
if (process.platform === 'win32') {
  cmd = process.execPath;
  cmdArgs = [vitestEntry, ...args];
} else {
  cmd = process.env.IPCEZ_WIN_NODE || join(here, '..', '..', 'win-node', 'win-node');
  if (!existsSync(cmd)) {
    console.error(`windows lane: runner not found at ${cmd} (set IPCEZ_WIN_NODE)`);
    process.exit(127);
  }
  // The runner executes in the package directory; a relative path avoids Z: drive mapping issues.
  cmdArgs = [relative(process.cwd(), vitestEntry), ...args];
}
console.error(`windows lane: ${cmd} ${cmdArgs.join(' ')}`);
const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env });
if (result.error) {
  console.error(`windows lane: could not start ${cmd}: ${result.error.message}`);
  process.exit(127);
}
process.exit(result.status ?? 1);

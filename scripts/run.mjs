#!/usr/bin/env node
// The README's entry points. Works on a machine that has Node >= 20.5 and npm but no pnpm:
// pnpm 10 is taken from PATH when present, otherwise run through `npx -y pnpm@10`.
//
//   node scripts/run.mjs setup   install the workspace (frozen lockfile) and build it
//   node scripts/run.mjs demo    setup, then the main job (`ipcez` demo)
//   node scripts/run.mjs test    setup, then every test: the Linux lane, then the Windows lane
//                                (scripts/system-deps.sh first: chromium and wine)
//   node scripts/run.mjs bench   setup, then every benchmark
//
// Each step is echoed before it runs; the first failing step stops the job with its exit code.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

process.env.TURBO_TELEMETRY_DISABLED ??= '1';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const job = process.argv[2];
const jobs = ['setup', 'demo', 'test', 'bench'];
if (!jobs.includes(job)) {
  console.error(`usage: node scripts/run.mjs <${jobs.join('|')}>`);
  process.exit(64);
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 5)) {
  console.error(`ipcez needs Node.js >= 20.5 (this is ${process.version}).`);
  process.exit(1);
}

function run(cmd, args, options = {}) {
  console.error(`\n$ ${[cmd, ...args].join(' ')}`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) {
    console.error(`could not run ${cmd}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function pnpmCommand() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0 && probe.stdout.trim().startsWith('10.')) return ['pnpm'];
  return ['npx', '-y', 'pnpm@10'];
}

const [pnpm, ...pnpmArgs] = pnpmCommand();
const pnpmRun = (...args) => run(pnpm, [...pnpmArgs, ...args]);

pnpmRun('install', '--frozen-lockfile');
pnpmRun('exec', 'turbo', 'run', 'build');

switch (job) {
  case 'setup':
    break;
  case 'demo':
    pnpmRun('--filter', 'ipcez', 'run', 'demo');
    break;
  case 'test':
    run('bash', ['scripts/system-deps.sh']);
    pnpmRun('exec', 'turbo', 'run', 'test', '--concurrency=1');
    if (process.env.IPCEZ_SKIP_WINDOWS_LANE === '1') {
      console.error(
        '\nWINDOWS LANE SKIPPED (IPCEZ_SKIP_WINDOWS_LANE=1): the named-pipe and named-event suites did not run.',
      );
    } else {
      pnpmRun('exec', 'turbo', 'run', 'test:windows', '--concurrency=1');
    }
    break;
  case 'bench':
    pnpmRun('--filter', '@ipcez/bench', 'run', 'bench');
    break;
}

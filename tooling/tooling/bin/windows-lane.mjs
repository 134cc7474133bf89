#!/usr/bin/env node
// ipcez-windows-lane: runs the current package's Vitest suite as real Windows code.
//
// - On a Windows machine: `vitest run` with this node (the win32-gated suites simply run).
// - Elsewhere: through a Windows node.exe runner, taken from $IPCEZ_WIN_NODE, or else the
//   repo's own copy at tooling/win-node/win-node (a real Windows node.exe under wine). A
//   win-node runner is first called with `--win-node-setup`, which installs wine, node.exe
//   and the wine prefix on a fresh machine (a no-op once they are there), so the setup's
//   one-time cost and its errors are reported apart from the tests. The runner then gets
//   `<vitest.mjs> run ...`.
//
// Usage (from a package directory, as its `test:windows` script): ipcez-windows-lane [vitest args]
//
// Under wine every process start and socket operation is several times slower than on Linux
// node, so unless the caller passes them, the lane raises Vitest's timeouts (they only stop
// hangs; the tests carry no wall-clock thresholds): --testTimeout 20000 --hookTimeout 30000
// --teardownTimeout 20000. IPCEZ_WINDOWS_LANE_TIMEOUT_S (default 900) bounds the whole run: past
// it the runner gets SIGTERM and the lane fails with exit code 124.
//
// Unless the caller passes --reporter, it adds Vitest's JSON reporter and ends with a summary
// line: "windows lane: <package>: N passed, N failed, N skipped in N files, exit S after T s".
// It exits with the runner's exit code, so failing Windows tests fail the lane. Inside the
// run, IPCEZ_TEST_LANE=windows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(process.cwd(), 'package.json'));
const vitestEntry = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const userArgs = process.argv.slice(2);
const env = { ...process.env, IPCEZ_TEST_LANE: 'windows' };

const defaults = [
  ['--testTimeout', '20000'],
  ['--hookTimeout', '30000'],
  ['--teardownTimeout', '20000'],
];
const args = ['run'];
for (const [flag, value] of defaults) {
  if (!userArgs.some((a) => a === flag || a.startsWith(`${flag}=`))) args.push(`${flag}=${value}`);
}
// Unless the caller chose reporters, add Vitest's JSON report next to the default one, so the
// lane can end with a one-line summary of what ran under Windows (CI logs grep for it).
let reportDir;
let reportFile;
if (!userArgs.some((a) => a === '--reporter' || a.startsWith('--reporter='))) {
  reportDir = mkdtempSync(join(tmpdir(), 'ipcez-lane-'));
  reportFile = join(reportDir, 'report.json');
  // node.exe under wine reads a Linux absolute path as one on its current drive, Z: = /.
  args.push('--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`);
}
args.push(...userArgs);

const totalTimeoutS = Number(process.env.IPCEZ_WINDOWS_LANE_TIMEOUT_S ?? '900');
if (!Number.isFinite(totalTimeoutS) || totalTimeoutS <= 0) {
  console.error(
    `windows lane: IPCEZ_WINDOWS_LANE_TIMEOUT_S must be a positive number of seconds, got "${process.env.IPCEZ_WINDOWS_LANE_TIMEOUT_S}"`,
  );
  process.exit(64);
}

/** Runs a command with inherited stdio; returns its exit code (124 on the lane timeout). */
function run(cmd, cmdArgs, timeoutMs) {
  console.error(`windows lane: ${cmd} ${cmdArgs.join(' ')}`);
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env, timeout: timeoutMs, killSignal: 'SIGTERM' });
  if (result.error?.code === 'ETIMEDOUT') {
    console.error(
      `windows lane: ${basename(cmd)} did not finish within ${timeoutMs / 1000} s (IPCEZ_WINDOWS_LANE_TIMEOUT_S); stopped it`,
    );
    return 124;
  }
  if (result.error) {
    console.error(`windows lane: could not start ${cmd}: ${result.error.message}`);
    return 127;
  }
  if (result.signal) console.error(`windows lane: ${basename(cmd)} ended by ${result.signal}`);
  return result.status ?? 1;
}

const started = Date.now();
let status;
if (process.platform === 'win32') {
  status = run(process.execPath, [vitestEntry, ...args], totalTimeoutS * 1000);
} else {
  // IPCEZ_WIN_NODE is an absolute path (the lane runs in each package's directory).
  const runner = process.env.IPCEZ_WIN_NODE || join(here, '..', '..', 'win-node', 'win-node');
  if (!existsSync(runner)) {
    console.error(
      `windows lane: runner not found at ${runner} (set IPCEZ_WIN_NODE to the absolute path of a win-node or compatible runner)`,
    );
    process.exit(127);
  }
  if (basename(runner) === 'win-node') {
    // Setup gets its own budget: a first run may apt-get install wine (minutes).
    status = run(runner, ['--win-node-setup'], 1_200_000);
    if (status !== 0) {
      console.error(`windows lane: ${runner} --win-node-setup failed (exit ${status}); the Windows tests did not run`);
      process.exit(status);
    }
  }
  // The runner executes in the package directory; a relative path avoids Z: drive mapping issues.
  status = run(runner, [relative(process.cwd(), vitestEntry), ...args], totalTimeoutS * 1000);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
let counts = '';
if (reportFile !== undefined) {
  try {
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    const skipped = report.numPendingTests + report.numTodoTests;
    counts =
      `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped ` +
      `in ${report.testResults.length} files, `;
  } catch {
    counts = 'no test report, ';
  }
  rmSync(reportDir, { recursive: true, force: true });
}
const where = process.platform === 'win32' ? 'Windows' : 'Windows node.exe via win-node';
console.error(
  `windows lane: ${process.env.npm_package_name ?? basename(process.cwd())}: ${counts}exit ${status} after ${seconds} s (${where})`,
);
process.exit(status);

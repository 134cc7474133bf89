import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { appendRow } from './report.js';
import type { ReportRow } from './report.js';

/** `IPCEZ_SOAK=long` (the `pnpm soak` script) runs every scenario longer. */
export const isLong: boolean = process.env['IPCEZ_SOAK'] === 'long';

export const isLinux: boolean = process.platform === 'linux';

/** Path of a fixture script. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** A child Node process running a fixture, its stdout split into lines. */
export interface Child {
  readonly process: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line (already printed or to come) that `match` accepts. */
  line(match: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  stderr(): string;
}

const children = new Set<ChildProcess>();

/** Starts `node <fixture> ...args` with a user's environment (no vitest NODE_PATH). */
export function start(script: string, args: string[], env: Record<string, string> = {}): Child {
  const { NODE_PATH: _np, ...base } = process.env;
  const child = spawn(process.execPath, [fixture(script), ...args], {
    env: { ...base, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (!waiter.match(line)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exited = once(child, 'exit').then(([code]) => {
    children.delete(child);
    return code as number | null;
  });
  return {
    process: child,
    lines,
    exited,
    stderr: () => stderr,
    line: (match) => {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<string>((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then((code) => {
          reject(new Error(`${script} exited (${String(code)}) before the expected line; stderr: ${stderr}`));
        });
      });
    },
  };
}

/** Kills every child still running (afterEach: also when a test failed). */
export async function killAll(): Promise<void> {
  const running = [...children].filter((child) => child.exitCode === null && child.signalCode === null);
  const exits = running.map((child) => once(child, 'exit'));
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(exits);
}

/** A fresh short temp directory (socket paths must stay under the 108-byte limit). */
export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `ipcez-rel-${tag}-`));
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The /dev/shm files of the ipcez semaphores named after sockets under `dir`. */
export function semaphoresUnder(dir: string): string[] {
  if (!isLinux) return [];
  const escaped = dir.replaceAll('%', '%25').replaceAll('_', '%5F').replaceAll('/', '_');
  return readdirSync('/dev/shm').filter((f) => f.startsWith(`sem.ipcez${escaped}`));
}

/** Removes those files (after a failed run), returning what was there. */
export function removeSemaphoresUnder(dir: string): string[] {
  const found = semaphoresUnder(dir);
  for (const file of found) rmSync(join('/dev/shm', file), { force: true });
  return found;
}

/** What `fixtures/echo-listener.mjs` reports on `stats` (and `gc`). */
export interface ListenerStats {
  readonly fds: number;
  readonly handles: number;
  /** Resident set size now, in bytes. */
  readonly rss: number;
  /** The kernel's peak resident set size (VmHWM) since start or the last `resetpeak`. */
  readonly peakRss: number;
  readonly live: number;
  readonly accepted: number;
  /** Accepted connections ended, by the code of their terminal error. */
  readonly ends: Record<string, number>;
  /** Connections refused, by code (`onRefused`). */
  readonly refused: Record<string, number>;
}

/** Asks an echo listener for its stats (`gc` collects garbage first). */
export async function listenerStats(listener: Child, command: 'stats' | 'gc' = 'stats'): Promise<ListenerStats> {
  const before = listener.lines.length;
  listener.process.stdin?.write(`${command}\n`);
  const line = await listener.line((l) => l.startsWith('{') && listener.lines.lastIndexOf(l) >= before);
  return JSON.parse(line) as ListenerStats;
}

/** Polls until `check` holds (every 20 ms), failing after `attempts` tries: stops a hang, not a speed test. */
export async function until(check: () => boolean | Promise<boolean>, what: string, attempts = 1500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Adds one scenario's figures to the run's report (`test/report.ts`). */
export function record(row: ReportRow): void {
  const rowsFile = process.env['IPCEZ_REL_REPORT_ROWS'];
  if (rowsFile !== undefined) appendRow(rowsFile, row);
}

import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI: string = fileURLToPath(new URL('../../bin/ipcez.js', import.meta.url));

/** The environment a child gets: the test's, with `target`/`os` set (or removed when `null`). */
export function childEnv(overrides: Record<string, string | null> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    ...process.env,
    // As a user's shell starts it: pnpm's bin shims give vitest a NODE_PATH into the store,
    // which would hide module-resolution failures of the installed packages.
    NODE_PATH: undefined,
    target: 'local',
    os: process.platform === 'win32' ? 'windows' : 'linux',
  };
  for (const [k, v] of Object.entries(overrides)) env[k] = v ?? undefined;
  // An undefined value would reach the child as the string "undefined": drop those keys.
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion (killed after `timeoutMs` to stop a hang). */
export async function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; spawn?: SpawnOptions } = {},
): Promise<RunResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: options.env ?? childEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
    ...options.spawn,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** A long-running CLI server (`echo`/`listen`) that printed its `listening <endpoint>` line. */
export interface CliServer {
  readonly child: ChildProcess;
  readonly endpoint: string;
  /** Lines printed after the listening line. */
  readonly lines: string[];
  /** Resolves once `n` lines were printed after the listening line. */
  waitForLines(n: number): Promise<void>;
  /** Resolves with the exit code once the process has exited (also if it already has). */
  readonly exited: Promise<number | null>;
  /** Sends SIGTERM (default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startCliServer(args: string[], env: NodeJS.ProcessEnv = childEnv()): Promise<CliServer> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout });
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  let first: ((line: string) => void) | undefined;
  rl.on('line', (line) => {
    if (first) {
      const f = first;
      first = undefined;
      f(line);
      return;
    }
    lines.push(line);
    waiter?.();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const firstLine = await Promise.race([
    new Promise<string>((resolve) => (first = resolve)),
    exited.then(([code]) => {
      throw new Error(`server exited with ${String(code)} before listening: ${stderr}`);
    }),
  ]);
  const match = /^listening (.+)$/.exec(firstLine);
  if (!match) {
    child.kill('SIGKILL');
    throw new Error(`expected "listening <endpoint>", got ${JSON.stringify(firstLine)}`);
  }
  return {
    child,
    endpoint: match[1]!,
    exited: exited.then(([code]) => code),
    lines,
    async waitForLines(n) {
      while (lines.length < n) {
        await new Promise<void>((resolve) => (waiter = resolve));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      // A server that does not stop within 10 s is killed: stop a hang, not a slow machine.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        const [code] = await exited;
        return code;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Prefix of the CLI tests' temp directories (and so of their signal names). */
export const TEMP_PREFIX = 'ipcez-cli-';

/** Names in /dev/shm of the semaphores whose socket path starts with `prefix` under the temp dir. */
export function leftoverSemaphores(prefix: string): string[] {
  if (process.platform !== 'linux') return [];
  const escaped = join(tmpdir(), prefix).replaceAll('%', '%25').replaceAll('_', '%5F').replaceAll('/', '_');
  return readdirSync('/dev/shm').filter((f) => f.startsWith(`sem.ipcez${escaped}`));
}

/** A fresh short temp directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

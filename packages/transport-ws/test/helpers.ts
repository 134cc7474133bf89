// Shared test helpers (not a test file: vitest only runs *.test.ts).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Connection, IpcezError, Listener, MessageResult } from '@ipcez/core';

/** The package directory: child scripts run here so `ws` resolves. */
export const PACKAGE_DIR: string = fileURLToPath(new URL('..', import.meta.url));

/** Collects every result a connection's handler receives, with waits on them. */
export class Collector {
  readonly results: MessageResult[] = [];
  #waiters: (() => void)[] = [];

  constructor(connection: Connection) {
    connection.messageHandler((result) => {
      this.results.push(result);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    });
  }

  get messages(): Uint8Array[] {
    return this.results.flatMap((r) => (r.ok ? [r.message] : []));
  }

  get errors(): IpcezError[] {
    return this.results.flatMap((r) => (r.ok ? [] : [r.error]));
  }

  /** Resolves once `predicate` holds (checked after each result). */
  async until(predicate: (c: Collector) => boolean): Promise<void> {
    while (!predicate(this)) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async messageCount(n: number): Promise<void> {
    await this.until((c) => c.messages.length >= n);
  }

  /** Resolves with the one terminal error. */
  async end(): Promise<IpcezError> {
    await this.until((c) => c.errors.length > 0);
    return this.errors[0]!;
  }
}

/** Resolves with the listener's next accepted connection. */
export function nextConnection(listener: Listener): Promise<Connection> {
  return new Promise((resolve) => {
    listener.connectionHandler(resolve);
  });
}

/** Every listener's accepted connections, in order, collected as they come. */
export class Accepted {
  readonly connections: Connection[] = [];
  #waiters: (() => void)[] = [];

  constructor(listener: Listener) {
    listener.connectionHandler((connection) => {
      this.connections.push(connection);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    });
  }

  async count(n: number): Promise<Connection[]> {
    while (this.connections.length < n) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.connections;
  }
}

/** Makes every received message come back (an echo server). */
export function echo(listener: Listener): void {
  listener.connectionHandler((connection) => {
    connection.messageHandler((result) => {
      if (result.ok) {
        connection.send(result.message).catch(() => {
          // The client may be gone; the echo server does not care.
        });
      }
    });
  });
}

/** Resolves when a promise rejects, with the reason; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** Distinct bytes for message `index`. */
export function payload(index: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (index + i) & 0xff;
  if (size >= 4) new DataView(bytes.buffer).setUint32(0, index);
  return bytes;
}

/** A child node process running `script` (an ES module), whose stdout lines can be awaited. */
export class Child {
  readonly process: ChildProcess;
  readonly #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #stderr = '';

  constructor(script: string, args: string[] = []) {
    this.process = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.#lines.push(line);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    });
    this.process.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.process.once('exit', () => {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    });
  }

  /** Resolves with the first stdout line starting with `prefix`. */
  async line(prefix: string): Promise<string> {
    for (;;) {
      const found = this.#lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return found;
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`child exited before printing "${prefix}": ${this.#stderr}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resumes (if stopped) and kills the child, and waits for it to exit. */
  async dispose(): Promise<void> {
    const child = this.process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }
}

// Drives test/fixtures/peer.mjs, a listener in a second process.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const PEER = fileURLToPath(new URL('./fixtures/peer.mjs', import.meta.url));

/** A listener process and the lines it printed. */
export class Peer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<number | null>;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.exited = once(child, 'exit').then(([code]) => code as number | null);
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(`[peer ${child.pid}] ${chunk.toString()}`);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const index = this.#waiters.findIndex((w) => line.startsWith(w.prefix));
      if (index >= 0) this.#waiters.splice(index, 1)[0]!.resolve(line);
      else this.#lines.push(line);
    });
  }

  /** Starts `peer.mjs listen <endpoint> [raw]` and returns once it printed its first line. */
  static async listen(endpoint: string, raw = false): Promise<{ peer: Peer; first: string }> {
    const args = [PEER, 'listen', endpoint, ...(raw ? ['raw'] : [])];
    const peer = new Peer(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const first = await Promise.race([peer.next(''), peer.exited.then((code) => `exited ${String(code)}`)]);
    return { peer, first };
  }

  /** The next stdout line starting with `prefix`. */
  next(prefix: string): Promise<string> {
    const index = this.#lines.findIndex((l) => l.startsWith(prefix));
    if (index >= 0) return Promise.resolve(this.#lines.splice(index, 1)[0]!);
    return new Promise((resolve) => this.#waiters.push({ prefix, resolve }));
  }

  /** Asks for the receive count: `{ count, inOrder }`. */
  async report(): Promise<{ count: number; inOrder: boolean }> {
    this.child.stdin.write('report\n');
    const [, count, inOrder] = (await this.next('report ')).split(' ');
    return { count: Number(count), inOrder: inOrder === 'true' };
  }

  /** Closes the listener in its documented order and waits for the process to exit. */
  async close(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.stdin.write('close\n');
    return this.exited;
  }

  /** Kills the process without any cleanup (a crash). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen } from 'ipcez';
import type { Server, Socket } from 'ipcez';

export const local = { target: 'local', os: 'linux' } as const;

/** A connected ipcez socket pair over a real transport, and how to release it. */
export interface SocketPair {
  readonly client: Socket;
  readonly server: Socket;
  readonly listener: Server;
  close(): Promise<void>;
}

/** `unix`: a Unix socket in a fresh temp dir (acks as asked); `ws`: a WebSocket server on a free port. */
export async function socketPair(kind: 'unix' | 'ws', ack = false): Promise<SocketPair> {
  const dir = kind === 'unix' ? mkdtempSync(join(tmpdir(), 'ipcez-rpc-')) : undefined;
  const endpoint = dir === undefined ? 'ws://127.0.0.1:0/rpc' : join(dir, 's.sock');
  const options = kind === 'unix' ? { ...local, ack } : {};
  const listener = await listen(endpoint, options);
  try {
    const accepted = new Promise<Socket>((resolve) => {
      listener.connectionHandler(resolve);
    });
    const client = await connect(listener.endpoint, options);
    const server = await accepted;
    return {
      client,
      server,
      listener,
      async close() {
        await client.disconnect();
        await listener.close();
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await listener.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The next message a socket receives, as parsed JSON. */
export function nextJson(socket: Socket): () => Promise<unknown> {
  const queue: unknown[] = [];
  let waiter: ((value: unknown) => void) | undefined;
  socket.messageHandler((r) => {
    if (!r.ok) return;
    const value: unknown = JSON.parse(new TextDecoder().decode(r.message));
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(value);
    } else queue.push(value);
  });
  return () =>
    queue.length > 0
      ? Promise.resolve(queue.shift())
      : new Promise((resolve) => {
          waiter = resolve;
        });
}

/** `Promise.withResolvers` (Node 22+), for Node 20. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

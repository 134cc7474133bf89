import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

import type { Connection, Listener, MessageResult } from '@ipcez/core';
import { connectPipe, listenPipe, PIPE_PREFIX } from '@ipcez/transport-pipe';

import { uniquePipeName } from './pipe-names.js';

const PEER = fileURLToPath(new URL('./fixtures/pipe-peer.mjs', import.meta.url));
const SIZES = [0, 1, 64 * 1024, 1024 * 1024];

/** The message `pipe-peer.mjs send` sends as number k. */
function expected(k: number): Uint8Array {
  const message = new Uint8Array(SIZES[k % SIZES.length]!);
  for (let i = 0; i < message.length; i++) message[i] = (k + i) & 255;
  return message;
}

describe.runIf(process.platform === 'win32')('pipes across two Windows processes', () => {
  const children: ChildProcess[] = [];
  const opened: (Listener | Connection)[] = [];

  function startPeer(...args: string[]): { child: ChildProcess; lines: AsyncIterator<string> } {
    const child = spawn(process.execPath, [PEER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return { child, lines };
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((x) => x.close()));
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill();
        await exited;
      }
    }
  });

  it('a client here talks to a server in another process: 1000 echoes come back in order', async () => {
    const name = uniquePipeName('xs');
    const { child, lines } = startPeer('serve', name);
    expect((await lines.next()).value).toBe(`listening ${PIPE_PREFIX}${name} (win32)`);
    const client = await connectPipe(name);
    opened.push(client);
    const received: string[] = [];
    const done = new Promise<void>((resolve) => {
      client.messageHandler((result: MessageResult) => {
        if (result.ok) received.push(new TextDecoder().decode(result.message));
        if (received.length === 1000) resolve();
      });
    });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => client.send(new TextEncoder().encode(`m${i}`))));
    await done;
    expect(received).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    const exited = once(child, 'exit');
    child.stdin!.end();
    expect(await exited).toEqual([0, null]);
  });

  it('a server here receives every message a client process sends, in order, then peer-closed', async () => {
    const listener = await listenPipe(uniquePipeName('xc'));
    opened.push(listener);
    const count = 40;
    const results: MessageResult[] = [];
    const ended = new Promise<void>((resolve) => {
      listener.connectionHandler((connection) => {
        connection.messageHandler((result) => {
          results.push(result);
          if (!result.ok) resolve();
        });
      });
    });
    const { child, lines } = startPeer('send', listener.endpoint, String(count));
    expect((await lines.next()).value).toBe(`sent ${count}`);
    await ended;
    expect(await once(child, 'exit')).toEqual([0, null]);
    expect(results).toHaveLength(count + 1);
    results.slice(0, count).forEach((result, k) => {
      expect(result.ok).toBe(true);
      if (result.ok) expect(Buffer.from(result.message).equals(expected(k))).toBe(true);
    });
    expect(results[count]).toMatchObject({
      ok: false,
      error: { code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' },
    });
  });

  it('a server process killed without closing ends the client with peer-closed and leaves the name free', async () => {
    const name = uniquePipeName('xk');
    const { child, lines } = startPeer('serve', name);
    expect((await lines.next()).value).toBe(`listening ${PIPE_PREFIX}${name} (win32)`);
    const client = await connectPipe(name);
    opened.push(client);
    const ending = new Promise<MessageResult>((resolve) => {
      client.messageHandler((result) => {
        if (!result.ok) resolve(result);
      });
    });
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    expect(await ending).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_CONNECTION_LOST' } });
    // No socket file on Windows: the OS drops the pipe with its last handle, so nothing is stale.
    const again = await listenPipe(name);
    opened.push(again);
    expect(again.endpoint).toBe(PIPE_PREFIX + name);
  });
});

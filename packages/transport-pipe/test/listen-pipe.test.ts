import { once } from 'node:events';
import { connect as netConnect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import type { Connection, Listener, MessageResult } from '@ipcez/core';
import { connectPipe, listenPipe, PIPE_PREFIX } from '@ipcez/transport-pipe';

import { uniquePipeName } from './pipe-names.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Resolves with the next `count` results a connection delivers. */
function nextResults(connection: Connection, count: number): Promise<MessageResult[]> {
  const results: MessageResult[] = [];
  return new Promise((resolve) => {
    connection.messageHandler((result) => {
      results.push(result);
      if (results.length === count) resolve(results);
    });
  });
}

/** Whether a raw client can open the pipe right now: 'open', or the OS error code. */
async function probe(pipeName: string): Promise<string> {
  const socket = netConnect(pipeName);
  try {
    await once(socket, 'connect');
    return 'open';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'unknown';
  } finally {
    socket.destroy();
    if (!socket.closed) await once(socket, 'close');
  }
}

function echo(listener: Listener): void {
  listener.connectionHandler((connection) => {
    connection.messageHandler((result) => {
      if (result.ok) connection.send(result.message).catch(() => undefined);
    });
  });
}

// Wine sets WINECONFIGDIR in every Windows process it runs.
const underWine = process.env['WINECONFIGDIR'] !== undefined;

describe.runIf(process.platform === 'win32')('listenPipe / connectPipe on Windows', () => {
  const opened: (Listener | Connection)[] = [];
  const track = <T extends Listener | Connection>(x: T): T => {
    opened.push(x);
    return x;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((x) => x.close()));
  });

  it('runs as real Windows code', () => {
    expect(process.platform).toBe('win32');
  });

  it('listens on a bare name under \\\\.\\pipe\\ and a client reaches it by either spelling', async () => {
    const name = uniquePipeName('spell');
    const listener = track(await listenPipe(name));
    expect(listener.endpoint).toBe(PIPE_PREFIX + name);
    expect(listener.transport).toBe('pipe');
    expect(listener.isListening).toBe(true);
    echo(listener);
    for (const spelling of [name, PIPE_PREFIX + name]) {
      const client = track(await connectPipe(spelling));
      expect(client.endpoint).toBe(PIPE_PREFIX + name);
      expect(client.transport).toBe('pipe');
      const replies = nextResults(client, 1);
      await client.send(text(`via ${spelling}`));
      expect(await replies).toEqual([{ ok: true, message: text(`via ${spelling}`) }]);
    }
  });

  it('serves many clients at once, each getting its own replies', async () => {
    const listener = track(await listenPipe(uniquePipeName('many')));
    echo(listener);
    const clients = await Promise.all(Array.from({ length: 16 }, () => connectPipe(listener.endpoint).then(track)));
    const replies = await Promise.all(
      clients.map(async (client, i) => {
        const got = nextResults(client, 3);
        await Promise.all([0, 1, 2].map((j) => client.send(text(`${i}.${j}`))));
        return (await got).map((r) => (r.ok ? str(r.message) : r.error.code));
      }),
    );
    expect(replies).toEqual(clients.map((_, i) => [`${i}.0`, `${i}.1`, `${i}.2`]));
  });

  it('rejects connect with IoError ENOENT, cause and path, when no server listens', async () => {
    const name = uniquePipeName('none');
    const error: unknown = await connectPipe(name).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'IoError',
      code: 'IPCEZ_ERR_IO',
      osCode: 'ENOENT',
      syscall: 'connect',
      path: PIPE_PREFIX + name,
      message: expect.stringContaining(`no server listens on ${PIPE_PREFIX}${name}`) as unknown,
    });
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
  });

  it('rejects listen with EndpointInUseError where a live server owns the name, and leaves that server working', async () => {
    const name = uniquePipeName('inuse');
    const first = track(await listenPipe(name));
    echo(first);
    let beforeBindCalled = false;
    await expect(
      listenPipe(name, {
        beforeBind: () => {
          beforeBindCalled = true;
        },
      }),
    ).rejects.toMatchObject({
      name: 'EndpointInUseError',
      code: 'IPCEZ_ERR_ENDPOINT_IN_USE',
      endpoint: PIPE_PREFIX + name,
    });
    expect(beforeBindCalled).toBe(false);
    expect(first.isListening).toBe(true);
    const client = track(await connectPipe(name));
    const replies = nextResults(client, 1);
    await client.send(text('still here'));
    expect(await replies).toEqual([{ ok: true, message: text('still here') }]);
  });

  it('awaits beforeBind after the in-use check and before the pipe exists, with the full pipe name', async () => {
    const name = uniquePipeName('order');
    const seen: string[] = [];
    const listener = track(
      await listenPipe(name, {
        beforeBind: async (resolved) => {
          seen.push(`beforeBind ${resolved}`);
          seen.push(`pipe during beforeBind: ${await probe(resolved)}`);
          await new Promise((resolve) => setImmediate(resolve));
          seen.push('beforeBind done');
        },
      }),
    );
    seen.push(`pipe after listen: ${await probe(listener.endpoint)}`);
    expect(seen).toEqual([
      `beforeBind ${PIPE_PREFIX}${name}`,
      'pipe during beforeBind: ENOENT',
      'beforeBind done',
      'pipe after listen: open',
    ]);
  });

  it('rejects listen with the error beforeBind throws and creates no pipe', async () => {
    const name = uniquePipeName('bbfail');
    const failure = new Error('pair could not be created');
    await expect(
      listenPipe(name, {
        beforeBind: () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(await probe(PIPE_PREFIX + name)).toBe('ENOENT');
  });

  // Wine does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (a second server on a name simply
  // succeeds there), so this runs on real Windows only (e.g. a Windows CI runner).
  it.skipIf(underWine)(
    'reports a server that takes the name between the check and the bind as EndpointInUseError',
    async () => {
      const name = uniquePipeName('race');
      let intruder: Server | undefined;
      try {
        const error: unknown = await listenPipe(name, {
          beforeBind: async (pipeName) => {
            intruder = createServer((socket) => socket.end());
            intruder.listen(pipeName);
            await once(intruder, 'listening');
          },
        }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'IPCEZ_ERR_ENDPOINT_IN_USE', endpoint: PIPE_PREFIX + name });
        expect((error as Error).cause).toMatchObject({ code: 'EADDRINUSE' });
        expect(intruder?.listening).toBe(true);
      } finally {
        if (intruder !== undefined) {
          const closed = once(intruder, 'close');
          intruder.close();
          await closed;
        }
      }
    },
  );

  it('rejects a name over 256 characters with InvalidEndpointError before touching the OS', async () => {
    const name = 'n'.repeat(300);
    await expect(listenPipe(name)).rejects.toMatchObject({
      code: 'IPCEZ_ERR_INVALID_ENDPOINT',
      endpoint: PIPE_PREFIX + name,
    });
    await expect(connectPipe(name)).rejects.toMatchObject({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' });
  });

  it('frees the name on close, so a new listener can take it, and close is idempotent', async () => {
    const name = uniquePipeName('reuse');
    const first = await listenPipe(name);
    const closing = first.close();
    expect(first.close()).toBe(closing);
    expect(first.isListening).toBe(false);
    await closing;
    expect(await probe(PIPE_PREFIX + name)).toBe('ENOENT');
    const second = track(await listenPipe(name));
    expect(second.isListening).toBe(true);
  });

  it('closes the accepted connections when the listener closes: the client sees peer-closed', async () => {
    const listener = track(await listenPipe(uniquePipeName('closeall')));
    const accepted = new Promise<Connection>((resolve) => {
      listener.connectionHandler(resolve);
    });
    const client = track(await connectPipe(listener.endpoint));
    const ending = nextResults(client, 1);
    const server = await accepted;
    await listener.close();
    expect(server.state).toBe('closed');
    const [result] = await ending;
    expect(result).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' } });
  });

  it('ends async iteration over accepted connections when the listener closes', async () => {
    const listener = track(await listenPipe(uniquePipeName('iter')));
    const client = track(await connectPipe(listener.endpoint));
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const connection of listener) {
        seen.push(connection.endpoint);
        await listener.close();
      }
      seen.push('done');
    })();
    await iterating;
    expect(seen).toEqual([listener.endpoint, 'done']);
    expect(client.transport).toBe('pipe');
  });

  it('closes the listener when its signal aborts after it is ready', async () => {
    const controller = new AbortController();
    const name = uniquePipeName('abort');
    const listener = track(await listenPipe(name, { signal: controller.signal }));
    controller.abort();
    await listener.close();
    expect(listener.isListening).toBe(false);
    expect(await probe(PIPE_PREFIX + name)).toBe('ENOENT');
  });

  it('rejects with the signal reason when the signal is already aborted, creating nothing', async () => {
    const name = uniquePipeName('pre');
    const reason = new Error('stop');
    await expect(listenPipe(name, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(connectPipe(name, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(await probe(PIPE_PREFIX + name)).toBe('ENOENT');
  });

  it('has no half-close: after the client ends, the server still gets every message, then peer-closed', async () => {
    const listener = track(await listenPipe(uniquePipeName('half')));
    const accepted = new Promise<Connection>((resolve) => {
      listener.connectionHandler(resolve);
    });
    const client = await connectPipe(listener.endpoint);
    const server = await accepted;
    const got = nextResults(server, 4);
    await Promise.all(['a', 'b', 'c'].map((m) => client.send(text(m))));
    await client.close();
    const results = await got;
    expect(results.slice(0, 3)).toEqual(['a', 'b', 'c'].map((m) => ({ ok: true, message: text(m) })));
    expect(results[3]).toMatchObject({
      ok: false,
      error: { code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' },
    });
    await expect(server.send(text('too late'))).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
  });
});

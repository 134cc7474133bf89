import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from 'ipcez';
import type { Socket } from 'ipcez';

const local = { target: 'local', os: 'linux' } as const;
let dir: string | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

// Unix sockets are not a Windows transport (the Windows lane runs the ws case).
const kinds = process.platform === 'win32' ? (['ws'] as const) : (['unix', 'ws'] as const);

describe.each(kinds)('server.connections and server.broadcast over %s', (kind) => {
  it('lists the live sockets, broadcasts to each and reports per socket', async () => {
    dir = kind === 'unix' ? mkdtempSync(join(tmpdir(), 'ipcez-bcast-')) : undefined;
    const endpoint = dir === undefined ? 'ws://127.0.0.1:0/b' : join(dir, 's.sock');
    const options = kind === 'unix' ? { ...local, ack: false } : {};
    const server = await listen(endpoint, options);
    cleanups.push(() => server.close());
    const accepted: Socket[] = [];
    let onAccept: (() => void) | undefined;
    server.connectionHandler((s) => {
      accepted.push(s);
      onAccept?.();
    });
    // One at a time, so that accepted[i] is clients[i]'s peer (connects made at once may reach
    // the listener in any order).
    const clients: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await connect(server.endpoint, options);
      cleanups.push(() => client.disconnect());
      clients.push(client);
      while (accepted.length < i + 1) await new Promise<void>((resolve) => (onAccept = resolve));
    }
    expect(server.connections).toEqual(accepted);

    const got = clients.map((c) => {
      const seen: string[] = [];
      c.messageHandler((r) => {
        if (r.ok) seen.push(new TextDecoder().decode(r.message));
      });
      return seen;
    });
    const results = await server.broadcast('to all');
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(results.map((r) => r.socket)).toEqual(accepted);

    // One client leaves: once its server-side socket has ended it is no longer listed.
    const leaving = accepted[1]!;
    const ended = new Promise<void>((resolve) => {
      leaving.messageHandler((r) => {
        if (!r.ok) resolve();
      });
    });
    await clients[1]!.disconnect();
    await ended;
    expect(server.connections).toEqual([accepted[0], accepted[2]]);
    // A send that fails is reported, not thrown: one over the size limit fails for everyone.
    const tooBig = await server.broadcast(new Uint8Array(4 * 1024 * 1024 + 1));
    expect(tooBig).toHaveLength(2);
    for (const r of tooBig) expect(r).toMatchObject({ ok: false, error: { code: 'IPCEZ_ERR_FRAME_TOO_LARGE' } });
    await server.broadcast('again');
    while (got[0]!.length < 2 || got[2]!.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    // (The client that left may or may not have read 'to all' before it disconnected.)
    expect([got[0], got[2]]).toEqual([
      ['to all', 'again'],
      ['to all', 'again'],
    ]);
    expect(() => server.broadcast(42 as never)).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
    await server.close();
    expect(server.connections).toEqual([]);
  });
});

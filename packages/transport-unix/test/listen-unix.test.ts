import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connection, Listener } from '@ipcez/core';
import { connectUnix, listenUnix } from '@ipcez/transport-unix';

const posix = process.platform !== 'win32';

describe.runIf(posix)('listenUnix / connectUnix (POSIX file system behaviour)', () => {
  let dir: string;
  const listeners: Listener[] = [];
  const connections: Connection[] = [];
  const servers: net.Server[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcez-'));
  });

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
    await Promise.all(listeners.splice(0).map((l) => l.close()));
    for (const server of servers.splice(0)) {
      server.close();
      await once(server, 'close');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function listen(endpoint: string, options?: Parameters<typeof listenUnix>[1]): Promise<Listener> {
    const listener = await listenUnix(endpoint, options);
    listeners.push(listener);
    return listener;
  }

  async function connect(endpoint: string): Promise<Connection> {
    const connection = await connectUnix(endpoint);
    connections.push(connection);
    return connection;
  }

  /** A socket file left by a server process that was SIGKILLed (so nothing unlinked it). */
  async function makeStaleSocket(file: string): Promise<void> {
    const child = spawn(
      process.execPath,
      ['-e', `require('net').createServer().listen(process.argv[1], () => console.log('ready'))`, file],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(child.stdout, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(fs.lstatSync(file).isSocket()).toBe(true);
  }

  it('creates the socket file with mode 0600 and leaves nothing else in the directory', async () => {
    const file = path.join(dir, 'perm.sock');
    const listener = await listen(file);
    const stats = fs.statSync(file);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['perm.sock']);
    expect(listener.endpoint).toBe(file);
  });

  it('keeps mode 0600 whatever the process umask is', async () => {
    const previous = process.umask(0o000);
    try {
      await listen(path.join(dir, 'open-umask.sock'));
    } finally {
      process.umask(previous);
    }
    expect(fs.statSync(path.join(dir, 'open-umask.sock')).mode & 0o777).toBe(0o600);
  });

  it('refuses a path where a live server answers with EndpointInUseError, leaving its file and server alone', async () => {
    const file = path.join(dir, 'live.sock');
    const server = net.createServer((socket) => socket.end());
    servers.push(server);
    server.listen(file);
    await once(server, 'listening');
    const { ino } = fs.statSync(file);
    let beforeBindCalled = false;
    await expect(
      listenUnix(file, {
        beforeBind: () => {
          beforeBindCalled = true;
        },
      }),
    ).rejects.toMatchObject({ code: 'IPCEZ_ERR_ENDPOINT_IN_USE', endpoint: file });
    expect(beforeBindCalled).toBe(false);
    expect(fs.statSync(file).ino).toBe(ino);
    const probe = net.connect(file);
    await once(probe, 'connect');
    probe.destroy();
  });

  it('removes a stale socket file from a dead server and listens there', async () => {
    const file = path.join(dir, 'stale.sock');
    await makeStaleSocket(file);
    await expect(connectUnix(file)).rejects.toMatchObject({ code: 'IPCEZ_ERR_IO', osCode: 'ECONNREFUSED', path: file });
    const listener = await listen(file);
    const client = await connect(file);
    expect(client.endpoint).toBe(listener.endpoint);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('never deletes a file that is not a socket, and says so', async () => {
    const file = path.join(dir, 'data.txt');
    fs.writeFileSync(file, 'precious');
    await expect(listenUnix(file)).rejects.toMatchObject({
      code: 'IPCEZ_ERR_INVALID_ENDPOINT',
      endpoint: file,
      message: expect.stringContaining('not a socket') as unknown,
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
  });

  it('calls beforeBind after the stale file is gone and before the socket exists, and waits for it', async () => {
    const file = path.join(dir, 'order.sock');
    await makeStaleSocket(file);
    const seen: string[] = [];
    await listen(file, {
      beforeBind: async (endpoint) => {
        seen.push(`called with ${endpoint}, file exists: ${String(fs.existsSync(file))}`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        seen.push(`still no file: ${String(!fs.existsSync(file))}`);
      },
    });
    expect(seen).toEqual([`called with ${file}, file exists: false`, 'still no file: true']);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('binds nothing when beforeBind throws, and rejects with its error', async () => {
    const file = path.join(dir, 'hook-fails.sock');
    const failure = new Error('semaphores unavailable');
    await expect(
      listenUnix(file, {
        beforeBind: () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('removes its socket file on close, but not a file that replaced it', async () => {
    const first = path.join(dir, 'mine.sock');
    const listener = await listenUnix(first);
    await listener.close();
    expect(fs.existsSync(first)).toBe(false);

    const second = path.join(dir, 'replaced.sock');
    const replaced = await listenUnix(second);
    fs.unlinkSync(second);
    fs.writeFileSync(second, 'someone else');
    await replaced.close();
    expect(fs.readFileSync(second, 'utf8')).toBe('someone else');
  });

  it('refuses a path over the OS limit before creating anything, naming the resolved path', async () => {
    const long = path.join(dir, 'x'.repeat(200));
    await expect(listenUnix(long)).rejects.toMatchObject({ code: 'IPCEZ_ERR_INVALID_ENDPOINT', endpoint: long });
    await expect(connectUnix(long)).rejects.toMatchObject({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('listens on a path that exactly fills sun_path', async () => {
    const limit = process.platform === 'linux' ? 107 : 103;
    const file = path.join(dir, 'f'.repeat(limit - dir.length - 1));
    expect(Buffer.byteLength(file)).toBe(limit);
    const listener = await listen(file);
    await connect(file);
    expect(fs.statSync(listener.endpoint).mode & 0o777).toBe(0o600);
  });

  it('keeps mode 0600 for a near-limit path whose private bind directory would not fit (umask fallback), and removes the file on close', async () => {
    // dir of 100 bytes + "/s": the private "<dir>/.ipcez-XXXXXX/s" would exceed sun_path, so
    // the listener takes its umask fallback.
    const deep = path.join(dir, 'd'.repeat(100 - dir.length - 1));
    fs.mkdirSync(deep);
    const file = path.join(deep, 's');
    const previous = process.umask(0o022);
    let listener: Listener;
    try {
      listener = await listenUnix(file);
    } finally {
      process.umask(previous);
    }
    expect(process.umask(0o022)).toBe(0o022); // restored (set again to read it without the deprecated no-arg call)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    await connect(file);
    await listener.close();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('resolves relative paths against the working directory, and reports the absolute path', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const listener = await listen('rel.sock');
      expect(listener.endpoint).toBe(path.join(fs.realpathSync(dir), 'rel.sock'));
      const client = await connect('./rel.sock');
      expect(client.endpoint).toBe(listener.endpoint);
      const error = await connectUnix('missing.sock').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'IPCEZ_ERR_IO', osCode: 'ENOENT' });
      expect((error as Error).message).toContain(path.join(fs.realpathSync(dir), 'missing.sock'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('fails with IoError when the directory does not exist', async () => {
    await expect(listenUnix(path.join(dir, 'no-such-dir', 'x.sock'))).rejects.toMatchObject({
      code: 'IPCEZ_ERR_IO',
      osCode: 'ENOENT',
    });
  });

  it('closes the listener when its signal aborts after it is ready, and rejects when aborted before', async () => {
    const controller = new AbortController();
    const listener = await listen(path.join(dir, 'abort.sock'), { signal: controller.signal });
    controller.abort();
    await listener.close();
    expect(listener.isListening).toBe(false);
    expect(fs.existsSync(path.join(dir, 'abort.sock'))).toBe(false);
    const reason = new Error('stop');
    await expect(listenUnix(path.join(dir, 'never.sock'), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fs.existsSync(path.join(dir, 'never.sock'))).toBe(false);
  });

  it('throws IPCEZ_ERR_INVALID_ARG synchronously for bad arguments', () => {
    expect(() => listenUnix(1 as never)).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
    expect(() => connectUnix('/tmp/x.sock', { highWaterMark: -1 })).toThrow(RangeError);
    expect(() => listenUnix('/tmp/x.sock', { beforeBind: 'no' as never })).toThrow(TypeError);
  });
});

describe.runIf(process.platform === 'linux')('Linux abstract sockets (@name)', () => {
  const listeners: Listener[] = [];
  const connections: Connection[] = [];

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  it('listens and connects on @name without creating a file, and refuses a second listener', async () => {
    const name = `@ipcez-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const listener = await listenUnix(name);
    listeners.push(listener);
    expect(listener.endpoint).toBe(name);
    const client = await connectUnix(name);
    connections.push(client);
    expect(client.endpoint).toBe(name);
    const received = new Promise<Uint8Array>((resolve) => {
      listener.connectionHandler((connection) => {
        connection.messageHandler((r) => {
          if (r.ok) resolve(r.message);
        });
      });
    });
    await client.send(Uint8Array.of(1, 2, 3));
    expect(await received).toEqual(Uint8Array.of(1, 2, 3));
    await expect(listenUnix(name)).rejects.toMatchObject({ code: 'IPCEZ_ERR_ENDPOINT_IN_USE', endpoint: name });
  });

  it('fails to connect to an abstract name nobody listens on with IoError ECONNREFUSED', async () => {
    await expect(connectUnix(`@ipcez-nobody-${process.pid}`)).rejects.toMatchObject({
      code: 'IPCEZ_ERR_IO',
      osCode: 'ECONNREFUSED',
      path: `@ipcez-nobody-${process.pid}`,
    });
  });
});

// Server and client in separate processes: the child imports the built package (dist/).
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connection, Listener, MessageResult } from '@ipcez/core';
import { connectUnix, listenUnix } from '@ipcez/transport-unix';

const packageDir = path.resolve(import.meta.dirname, '..');

const ECHO_SERVER = `
import { listenUnix } from '@ipcez/transport-unix';
const listener = await listenUnix(process.argv[1]);
listener.connectionHandler((connection) => {
  connection.messageHandler((r) => { if (r.ok) connection.send(r.message).catch(() => {}); });
});
process.stdout.write('listening ' + listener.endpoint + '\\n');
process.on('SIGTERM', () => { listener.close().then(() => process.exit(0)); });
`;

const SENDING_CLIENT = `
import { connectUnix } from '@ipcez/transport-unix';
const connection = await connectUnix(process.argv[1]);
const count = Number(process.argv[2]);
for (let i = 0; i < count; i++) void connection.send(new TextEncoder().encode('msg ' + i));
await connection.close();
`;

type Child = ChildProcessByStdio<null, Readable, null>;

describe.runIf(process.platform !== 'win32')('unix transport across processes', () => {
  let dir: string;
  const children: Child[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcez-'));
  });

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function run(script: string, args: string[]): Child {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    return child;
  }

  it('talks to an echo server in another process: 5,000 messages echoed in order', async () => {
    const file = path.join(dir, 'x.sock');
    const server = run(ECHO_SERVER, [file]);
    const [line] = (await once(server.stdout.setEncoding('utf8'), 'data')) as [string];
    expect(line.trim()).toBe(`listening ${file}`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    const connection: Connection = await connectUnix(file);
    closers.push(() => connection.close());
    const received: string[] = [];
    const done = new Promise<void>((resolve) => {
      connection.messageHandler((r: MessageResult) => {
        if (r.ok) received.push(new TextDecoder().decode(r.message));
        if (received.length === 5000) resolve();
      });
    });
    for (let i = 0; i < 5000; i++) void connection.send(new TextEncoder().encode(`n${i}`));
    await done;
    expect(received).toEqual(Array.from({ length: 5000 }, (_, i) => `n${i}`));

    server.kill('SIGTERM');
    const [code] = (await once(server, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  }, 30_000);

  it('receives everything a client process sends before it closes, then one peer-closed', async () => {
    const file = path.join(dir, 'y.sock');
    const listener: Listener = await listenUnix(file);
    closers.push(() => listener.close());
    const results: MessageResult[] = [];
    const ended = new Promise<void>((resolve) => {
      listener.connectionHandler((connection) => {
        connection.messageHandler((r) => {
          results.push(r);
          if (!r.ok) resolve();
        });
      });
    });
    const client = run(SENDING_CLIENT, [file, '3000']);
    await ended;
    const [code] = (await once(client, 'exit')) as [number | null];
    expect(code).toBe(0);
    const messages = results.filter((r) => r.ok).map((r) => new TextDecoder().decode(r.message));
    expect(messages).toEqual(Array.from({ length: 3000 }, (_, i) => `msg ${i}`));
    const last = results.at(-1);
    expect(last?.ok).toBe(false);
    expect(last?.ok === false && last.error).toMatchObject({
      code: 'IPCEZ_ERR_CONNECTION_LOST',
      reason: 'peer-closed',
    });
  }, 30_000);
});

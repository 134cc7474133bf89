#!/usr/bin/env node
// A host process that starts its sidecar and talks to it through ipcez.
//
//   node examples/sidecar/host.mjs
//
// The host listens on a local endpoint (a Unix socket on Linux, a named pipe on Windows),
// spawns sidecar.mjs with the endpoint, sends it a few JSON requests and prints the replies.
// Every request is acknowledged: sendMessage resolves once the sidecar has read it.
// Set IPCEZ_ENDPOINT=ws://127.0.0.1:0/sidecar to run the same code over WebSocket.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen } from 'ipcez';

const isWindows = process.platform === 'win32';
// ipcez reads target/os from the environment; the sidecar inherits them.
process.env.target ??= 'local';
process.env.os ??= isWindows ? 'windows' : 'linux';

const dir = mkdtempSync(join(tmpdir(), 'ipcez-sidecar-'));
const endpoint = process.env.IPCEZ_ENDPOINT ?? (isWindows ? `ipcez-sidecar-${process.pid}` : join(dir, 'sidecar.sock'));
const server = await listen(endpoint);
console.log(`host: listening on ${server.endpoint} (${server.transport}, acks ${server.isAcked ? 'on' : 'off'})`);

const sidecar = spawn(
  process.execPath,
  [join(dirname(fileURLToPath(import.meta.url)), 'sidecar.mjs'), server.endpoint],
  {
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);
try {
  // The first connection is the sidecar.
  const [socket] = await Promise.race([
    (async () => {
      for await (const s of server) return [s];
    })(),
    once(sidecar, 'exit').then(([code]) => {
      throw new Error(`sidecar exited with ${code} before connecting`);
    }),
  ]);
  const replies = socket[Symbol.asyncIterator]();
  const decoder = new TextDecoder();
  for (const request of [
    { op: 'add', args: [2, 3] },
    { op: 'upper', args: ['hello sidecar'] },
    { op: 'nope', args: [] },
  ]) {
    await socket.sendMessage(JSON.stringify(request));
    const { value } = await replies.next();
    console.log(`host: ${JSON.stringify(request)} -> ${decoder.decode(value)}`);
  }
  await socket.sendMessage(JSON.stringify({ op: 'exit', args: [] }));
  const [code] = sidecar.exitCode === null ? await once(sidecar, 'exit') : [sidecar.exitCode];
  console.log(`host: sidecar exited with ${code}`);
  process.exitCode = code === 0 ? 0 : 1;
} finally {
  if (sidecar.exitCode === null) sidecar.kill();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

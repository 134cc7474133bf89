#!/usr/bin/env node
// `pnpm demo` / `npm run demo`: the main job. For every transport this machine has, start a
// real server process (`ipcez echo`) and a real client process (demo/client.mjs), send a
// batch of messages, check every echo, and print one table row per transport.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'bin', 'ipcez.js');
const client = join(here, 'client.mjs');
const MESSAGES = Number(process.env.IPCEZ_DEMO_MESSAGES ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'ipcez-demo-'));
const isWindows = process.platform === 'win32';
const env = { ...process.env, target: 'local', os: isWindows ? 'windows' : 'linux' };

// The local transport twice: with acks (the default: every send waits until the recipient
// confirmed it read the message) and without, so the table shows what the confirmation costs.
const cases = [
  isWindows
    ? { name: 'named pipe, acks on', endpoint: `ipcez-demo-${process.pid}` }
    : { name: 'unix socket, acks on', endpoint: join(dir, 'demo.sock') },
  isWindows
    ? { name: 'named pipe, acks off', endpoint: `ipcez-demo-noack-${process.pid}`, noAck: true }
    : { name: 'unix socket, acks off', endpoint: join(dir, 'demo-noack.sock'), noAck: true },
  { name: 'websocket', endpoint: 'ws://127.0.0.1:0/ipcez-demo' },
];

async function runCase({ name, endpoint, noAck = false }) {
  const ackArgs = noAck ? ['--no-ack'] : [];
  const server = spawn(process.execPath, [cli, 'echo', endpoint, ...ackArgs], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: server.stdout });
    const first = await Promise.race([
      once(lines, 'line').then(([line]) => line),
      once(server, 'exit').then(([code]) => {
        throw new Error(`${name}: server exited with code ${code} before listening`);
      }),
    ]);
    const match = /^listening (.+)$/.exec(first);
    if (!match) throw new Error(`${name}: server printed ${JSON.stringify(first)} instead of "listening <endpoint>"`);
    const resolved = match[1];
    const child = spawn(process.execPath, [client, resolved, String(MESSAGES), ...ackArgs], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`${name}: client exited with code ${code}`);
    return { name, ...JSON.parse(out.trim().split('\n').pop()) };
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  }
}

const rows = [];
let failed = false;
try {
  for (const c of cases) {
    try {
      rows.push(await runCase(c));
    } catch (error) {
      failed = true;
      console.error(`demo: ${error.message}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const header = ['transport', 'endpoint', 'messages', 'echoes ok', 'acked', 'rtt p50', 'rtt p99', 'throughput'];
const table = rows.map((r) => [
  `${r.transport} (${r.name})`,
  r.endpoint,
  String(r.messages),
  String(r.echoed),
  r.acked ? `yes (${r.ackMode})` : 'no',
  `${r.p50.toFixed(3)} ms`,
  `${r.p99.toFixed(3)} ms`,
  `${Math.round(r.throughput).toLocaleString('en-US')} msg/s`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const fmt = (row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ');
console.log(`\nipcez demo: a server process and a client process per transport, ${MESSAGES} messages each\n`);
console.log(fmt(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of table) console.log(fmt(row));
for (const r of rows) if (r.echoed !== r.messages) failed = true;
if (failed || rows.length !== cases.length) {
  console.error('\ndemo FAILED: see the messages above');
  process.exit(1);
}
console.log('\nevery message was echoed back intact.');
console.log(
  'acked: each send resolved only once the recipient confirmed it read the message. Between ipcez peers the\n' +
    'acks travel on the connection itself (protocol v2: one 4-byte ACK per read, exact per message), so the acked\n' +
    'row costs about what the same socket with acks off does; with a peer that speaks only the seed protocol they\n' +
    'go through OS semaphores instead (ack mode "seed"), one wait per send.',
);

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('..', import.meta.url));
// A whole lifecycle in a child process: listen, a connect that retries, a send, a reply, close.
const SCRIPT = `
import { connect, listen } from 'ipcez';
const path = process.argv[1];
const pending = connect(path, { retry: { attempts: 50, minDelayMs: 5, maxDelayMs: 20 } });
await new Promise((r) => setTimeout(r, 60));
const server = await listen(path);
server.connectionHandler((s) => s.messageHandler((r) => { if (r.ok) void s.sendMessage(r.message); }));
const socket = await pending;
const echoed = new Promise((resolve) => socket.messageHandler((r) => { if (r.ok) resolve(); }));
await socket.sendMessage('hi');
await echoed;
await socket.disconnect();
await server.close();
`;

let dir: string;
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

// A listener at maxConnections refuses a raw client.
const REFUSAL_SCRIPT = `
import net from 'node:net';
import { connect, listen } from 'ipcez';
const path = process.argv[1];
const server = await listen(path, { maxConnections: 1 });
const first = await connect(path);
const raw = net.connect(path);
raw.on('error', () => {});
await new Promise((resolve) => raw.once('close', resolve));
await first.disconnect();
await server.close();
`;

function run(nodeDebug: string | undefined, script = SCRIPT): { stderr: string; status: number | null } {
  dir = mkdtempSync(join(tmpdir(), 'ipcez-debug-'));
  const env: NodeJS.ProcessEnv = { ...process.env, target: 'local', os: 'linux' };
  delete env['NODE_DEBUG'];
  if (nodeDebug !== undefined) env['NODE_DEBUG'] = nodeDebug;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, join(dir, 's.sock')], {
    cwd: PKG,
    env,
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { stderr: result.stderr, status: result.status };
}

describe.runIf(process.platform === 'linux')('NODE_DEBUG=ipcez', { timeout: 20_000 }, () => {
  it('prints the lifecycle: retries, listening, connections with their ack mode, and their end', () => {
    const { stderr, status } = run('ipcez');
    expect(status).toBe(0);
    const lines = stderr.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^IPCEZ \d+: /);
    expect(stderr).toMatch(/no server yet \(ENOENT\), retry 1 in \d+ ms/);
    expect(stderr).toMatch(/listening on \/.*s\.sock \(unix, acks on\)/);
    expect(stderr).toMatch(/client connected to \/.*s\.sock over unix \(acks on\)/);
    expect(stderr).toMatch(/server accepted on \/.*s\.sock over unix \(acks on\)/);
    expect(stderr).toMatch(/client .*: close\(\)/);
    expect(stderr).toMatch(/ended \(local-close\): IPCEZ_ERR_CONNECTION_LOST: .* \(sent 1, received 1\)/);
    expect(stderr).toMatch(/server .*s\.sock: close\(\)/);
  });

  it('says why a listener refused a connection (maxConnections)', () => {
    const { stderr, status } = run('ipcez', REFUSAL_SCRIPT);
    expect(status).toBe(0);
    expect(stderr).toMatch(
      /listener on \/.*s\.sock refused a connection: it already serves maxConnections 1 connections \(IPCEZ_ERR_CONNECTION_LIMIT\)/,
    );
  });

  it('is silent without NODE_DEBUG, and with NODE_DEBUG naming other modules only', () => {
    expect(run(undefined)).toEqual({ stderr: '', status: 0 });
    expect(run('net,http')).toEqual({ stderr: expect.not.stringContaining('IPCEZ') as unknown, status: 0 });
  });
});

import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { openSignalPair } from '@ipcez/ack';
import { describe, expect, it } from 'vitest';
import { CLI, childEnv, runCli, tempDir, useCliFixture } from './helpers/cli.js';

const onLinux = process.platform === 'linux';
// Servers stop cleanly and temp dirs go after each test; no signal pair is left at the end.
const { cleanups, server, sockPath } = useCliFixture();

// Each test starts several real processes; on a loaded 2-core machine that takes seconds.
describe.runIf(onLinux)('ipcez CLI over a Unix socket (real processes)', { timeout: 30_000 }, () => {
  it('echo serves, prints exactly one listening line with the resolved path, and send prints the replies (exit 0)', async () => {
    const path = sockPath();
    const echo = await server(['echo', path]);
    expect(echo.endpoint).toBe(path);
    const result = await runCli(['send', path, 'hello there', '--count', '3', '--replies', '3']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean)).toEqual(['hello there', 'hello there', 'hello there']);
    expect(await echo.stop()).toBe(0);
    expect(echo.lines).toEqual([]);
  });

  it('echo and send work over WebSocket with the same commands', async () => {
    const echo = await server(['echo', 'ws://127.0.0.1:0/cli']);
    expect(echo.endpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/cli$/);
    const result = await runCli(['send', echo.endpoint, 'over ws', '--replies', '1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('over ws\n');
    // --ack asks for acks over WebSocket: the echo server speaks ipcez.v2.
    const acked = await runCli(['send', echo.endpoint, 'acked', '--replies', '1', '--ack'], {
      env: childEnv({ NODE_DEBUG: 'ipcez' }),
    });
    expect(acked.code).toBe(0);
    expect(acked.stdout).toBe('acked\n');
    expect(acked.stderr).toMatch(/ack mode v2/);
    expect((await runCli(['send', echo.endpoint, 'x', '--ack', '--no-ack'])).code).toBe(64);
  });

  it('send --file sends the whole file as one message', async () => {
    const path = sockPath();
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'm.bin');
    writeFileSync(file, 'line one\nline two');
    const listen = await server(['listen', path, '--count', '1', '--format', 'hex']);
    const result = await runCli(['send', path, '--file', file]);
    expect(result.code).toBe(0);
    await listen.waitForLines(1);
    expect(listen.lines).toEqual(['6c696e65206f6e650a6c696e652074776f']);
    // --count 1 reached: the server stops by itself, cleanly.
    expect(await listen.exited).toBe(0);
  });

  it.each([
    ['text', ['héllo', 'a\\nb\\\\c', '']],
    ['hex', ['68c3a96c6c6f', '610a625c63', '']],
    ['base64', ['aMOpbGxv', 'YQpiXGM=', '']],
  ] as const)('listen --format %s prints one line per message', async (format, expected) => {
    const path = sockPath();
    const listen = await server(['listen', path, '--count', '3', '--format', format]);
    // Three lines on stdin: "héllo", "a\nb\c" can't be one line, so send it via --file; empty last.
    const t = tempDir();
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, 'nl'), 'a\nb\\c');
    writeFileSync(join(t.dir, 'empty'), '');
    for (const args of [['héllo'], ['--file', join(t.dir, 'nl')], ['--file', join(t.dir, 'empty')]]) {
      const sent = await runCli(['send', path, ...args]);
      expect(sent.code, sent.stderr).toBe(0);
    }
    await listen.waitForLines(3);
    expect(listen.lines).toEqual(expected);
    // --count 3 reached: the server stops by itself, cleanly.
    expect(await listen.exited).toBe(0);
  });

  it('listen --format json prints index, size, text and base64 per message', async () => {
    const path = sockPath();
    const listen = await server(['listen', path, '--count', '2', '--format', 'json']);
    expect((await runCli(['send', '--stdin', path], { input: 'first\nsecond\n' })).code).toBe(0);
    await listen.waitForLines(2);
    expect(listen.lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { index: 0, bytes: 5, text: 'first', base64: 'Zmlyc3Q=' },
      { index: 1, bytes: 6, text: 'second', base64: 'c2Vjb25k' },
    ]);
  });

  it('echo stops cleanly on SIGINT and SIGTERM and removes its socket file and signals', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const path = sockPath();
      const echo = await server(['echo', path]);
      expect(await echo.stop(signal)).toBe(0);
      const { existsSync, readdirSync } = await import('node:fs');
      expect(existsSync(path)).toBe(false);
      const escaped = path.replaceAll('%', '%25').replaceAll('_', '%5F').replaceAll('/', '_');
      expect(readdirSync('/dev/shm').filter((f) => f.includes(escaped))).toEqual([]);
    }
  });

  it('exits 1 when no server answers: missing socket file, and a stale one (refused)', async () => {
    const missing = await runCli(['send', sockPath('none.sock'), 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/none\.sock/);
    const stalePath = sockPath('stale.sock');
    const raw = createServer();
    raw.listen(stalePath);
    await once(raw, 'listening');
    // Leave the file behind without a listener: close the handle but keep the path.
    const { linkSync, mkdtempSync } = await import('node:fs');
    const keep = join(mkdtempSync(join(stalePath, '..', 'k')), 'kept.sock');
    linkSync(stalePath, keep);
    raw.close();
    await once(raw, 'close');
    const refused = await runCli(['send', keep, 'x']);
    expect(refused.code).toBe(1);
  });

  it('exits 3 on a transport error: the connection is lost before the replies arrive', async () => {
    const path = sockPath();
    await server(['listen', path, '--count', '1']);
    const result = await runCli(['send', path, 'only one', '--replies', '1']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/connection lost|closed/i);
  });

  it('exits 3 when a WebSocket handshake fails (wrong path: HTTP 404)', async () => {
    const echo = await server(['echo', 'ws://127.0.0.1:0/right']);
    const result = await runCli(['send', echo.endpoint.replace('/right', '/wrong'), 'x']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/404/);
  });

  it('exits 50 when permission is denied', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, 'private.sock');
    await server(['echo', path]);
    let result: { code: number | null; stderr: string };
    if (process.getuid?.() === 0) {
      // root ignores file modes through its capabilities: give the directory to another user
      // and run the CLI as root without any capability (setpriv), so the 0700 directory is
      // closed to it. (Running it as that other user would not do: it may not be able to read
      // this checkout at all.)
      chownSync(t.dir, 65534, 65534);
      const child = spawn(
        'setpriv',
        ['--bounding-set', '-all', '--inh-caps', '-all', '--', process.execPath, CLI, 'send', path, 'x'],
        {
          env: childEnv(),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      result = { code, stderr };
    } else {
      chmodSync(t.dir, 0o000);
      cleanups.unshift(() => {
        chmodSync(t.dir, 0o700);
      });
      result = await runCli(['send', path, 'x']);
    }
    expect(result.code).toBe(50);
    expect(result.stderr).toMatch(/EACCES|permission/i);
  });

  it.each([
    [['frobnicate'], /unknown command/],
    [['send'], /missing <endpoint>/],
    [['send', '/tmp/x.sock', 'a', '--bogus'], /bogus/],
    [['send', '/tmp/x.sock', 'a', '--stdin'], /exactly one/],
    [['listen', '/tmp/x.sock', '--format', 'yaml'], /--format/],
    [['send', '/tmp/x.sock', 'a', '--count', '0'], /--count/],
    [['send', '/tmp/x.sock', '--file', '/nonexistent/ipcez-message'], /cannot read --file/],
  ])('exits 64 on invalid arguments: %j', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(message);
  });

  it('exits 78 when detection fails, naming the variable and printing the fix once', async () => {
    const result = await runCli(['send', '/tmp/ipcez-x.sock', 'x'], { env: childEnv({ target: null }) });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/target is not set/);
    expect(result.stderr.match(/export target=local os=linux/g)).toHaveLength(1);
    const bad = await runCli(['send', '/tmp/ipcez-x.sock', 'x'], { env: childEnv({ os: 'plan9' }) });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/"plan9"/);
  });

  it('exits 78 for an unsupported combination (os=windows on Linux), and --os overrides the env', async () => {
    const result = await runCli(['send', '/tmp/ipcez-x.sock', 'x', '--os', 'windows']);
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/os=windows/);
  });

  it('exits 124 when --timeout passes before the replies arrive', async () => {
    const path = sockPath();
    await server(['listen', path]);
    const result = await runCli(['send', path, 'x', '--replies', '1', '--timeout', '300']);
    expect(result.code).toBe(124);
    expect(result.stderr).toMatch(/timed out/);
  });

  it('exits 124 on an ack timeout: a seed-only peer that reads but never acks', async () => {
    const path = sockPath();
    // A foreign peer speaking only the seed protocol, that never posts "data acked".
    const raw = createServer((socket) => socket.resume());
    raw.listen(path);
    await once(raw, 'listening');
    try {
      const result = await runCli(['send', path, 'x', '--ack-timeout', '200']);
      expect(result.code).toBe(124);
      expect(result.stderr).toMatch(/data acked/);
    } finally {
      raw.close();
      await once(raw, 'close');
    }
    // The client created the pair the foreign peer never made (a client opens the pair,
    // creating it if missing, and never unlinks it); remove it as a listener restart would.
    const leftover = await openSignalPair(path, { role: 'listener' });
    leftover.unlink();
    await leftover.close();
  });

  it('exits 0 against a listener with acks off: in protocol v2 it still acks what it reads', async () => {
    const path = sockPath();
    await server(['listen', path, '--no-ack']);
    const result = await runCli(['send', path, 'x', '--ack-timeout', '2000']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('exits 125 on an internal failure: listen cannot print (its stdout reader went away)', async () => {
    const path = sockPath();
    // head reads one byte of the "listening" line and exits: printing the next line fails with EPIPE.
    const script = `"${process.execPath}" "${CLI}" listen "${path}" | head -c 1 > /dev/null; exit \${PIPESTATUS[0]}`;
    const child = spawn('bash', ['-c', script], { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = once(child, 'exit') as Promise<[number | null]>;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await expect.poll(() => existsSync(path), { timeout: 10_000 }).toBe(true);
      const sent = await runCli(['send', path, 'hello']);
      expect(sent.code, sent.stderr).toBe(0);
      const [code] = await exited;
      expect(code).toBe(125);
      expect(stderr).toMatch(/internal failure: .*EPIPE/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // The crashed server could not remove its signal pair; do what a restart would.
      const leftover = await openSignalPair(path, { role: 'listener' });
      leftover.unlink();
      await leftover.close();
    }
  });

  it('doctor reports the detection, the socket path, the budget and working signals', async () => {
    const path = sockPath();
    const text = await runCli(['doctor', path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/transport=unix/);
    expect(text.stdout).toContain(`maps to: socket-file ${path}`);
    expect(text.stdout).toMatch(new RegExp(`length budget: ${Buffer.byteLength(path)} of 107 bytes`));
    expect(text.stdout).toMatch(/named signals: work here \(posix\)/);
    const json = await runCli(['doctor', path, '--json']);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      mapping: { resolved: string };
      signals: { available: boolean };
    };
    expect(report).toMatchObject({ ok: true, mapping: { resolved: path }, signals: { available: true } });
    const broken = await runCli(['doctor', path, '--json'], { env: childEnv({ target: null, os: null }) });
    expect(broken.code).toBe(78);
    expect((JSON.parse(broken.stdout) as { fixes: string[] }).fixes.join('\n')).toMatch(/export target=local os=linux/);
  });

  it('doctor on a WebSocket URL connects with acks and reports the ack mode (v2 with an ipcez server)', async () => {
    const echo = await server(['echo', 'ws://127.0.0.1:0/doctor']);
    const text = await runCli(['doctor', echo.endpoint]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('server: live (a WebSocket handshake succeeded)');
    expect(text.stdout).toMatch(/ack mode: v2 /);
    const json = JSON.parse((await runCli(['doctor', echo.endpoint, '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ ok: true, server: { state: 'live' }, ackMode: 'v2' });
  });

  it('prints help for the tool and each command', async () => {
    for (const cmd of [
      ['--help'],
      ['echo', '--help'],
      ['listen', '--help'],
      ['send', '--help'],
      ['doctor', '--help'],
    ]) {
      const result = await runCli(cmd);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Usage: ipcez/);
    }
  });
});

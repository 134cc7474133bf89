import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { createInterface } from 'node:readline';
import { listen } from 'ipcez';
import { describe, expect, it } from 'vitest';
import { CLI, childEnv, runCli, startCliServer, useCliFixture } from '../helpers/cli.js';

const onLinux = process.platform === 'linux';
// Servers stop cleanly and temp dirs go after each test; no signal pair is left at the end.
const { server, sockPath } = useCliFixture();

function semaphoresOf(path: string): string[] {
  const escaped = path.replaceAll('%', '%25').replaceAll('_', '%5F').replaceAll('/', '_');
  return readdirSync('/dev/shm').filter((f) => f.startsWith(`sem.ipcez${escaped}.`));
}

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('ipcez CLI: usage and arguments', { timeout: 30_000 }, () => {
  it('--version prints the package version and exits 0', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  it('bare ipcez prints the usage to stderr and exits 64', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Usage: ipcez <command>/);
  });

  it.each([
    ['ech', 'echo'],
    ['sned', 'send'],
    ['doctr', 'doctor'],
  ])('an unknown command %s suggests %s (exit 64)', async (typo, meant) => {
    const result = await runCli([typo, '/tmp/x.sock']);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(`unknown command "${typo}"; did you mean "${meant}"?`);
  });

  it('an unknown option suggests the closest one, without the parser message (exit 64)', async () => {
    const result = await runCli(['send', '/tmp/x.sock', 'a', '--cuont', '2']);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('ipcez send: unknown option --cuont; did you mean --count?');
    expect(result.stderr).not.toMatch(/positional argument|ERR_PARSE_ARGS/);
  });

  it('an option without its value is named (exit 64)', async () => {
    const result = await runCli(['send', '/tmp/x.sock', 'a', '--count']);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('ipcez send: option --count needs a value');
  });

  it('prints the help hint once and the command prefix once', async () => {
    for (const args of [['frobnicate'], ['send'], ['send', '/tmp/x.sock', 'a', '--bogus']]) {
      const result = await runCli(args);
      expect(result.code).toBe(64);
      expect(result.stderr.match(/--help/g), result.stderr).toHaveLength(1);
      expect(result.stderr).not.toMatch(/ipcez: ipcez/);
    }
    expect((await runCli(['send'])).stderr).toBe('ipcez send: missing <endpoint>\nrun "ipcez send --help" for usage\n');
  });

  it.each(['tcp://127.0.0.1:5555', 'unix:///tmp/x.sock', 'HTTP://example.com/ipc'])(
    'refuses the URL %s with a clear message (exit 64), never as a socket path',
    async (endpoint) => {
      const result = await runCli(['send', endpoint, 'x']);
      expect(result.code).toBe(64);
      expect(result.stderr).toMatch(/not a supported endpoint scheme|is not a WebSocket endpoint/);
      expect(result.stderr).toContain(endpoint);
    },
  );
});

describe.runIf(onLinux)('ipcez send: replies (real processes)', { timeout: 30_000 }, () => {
  it('prints the replies that came, then exits 124 when the rest time out', async () => {
    const path = sockPath();
    await server(['echo', path]);
    const result = await runCli(['send', path, 'x', '--count', '2', '--replies', '3', '--timeout', '2000']);
    expect(result.code).toBe(124);
    expect(result.stdout).toBe('x\nx\n');
    expect(result.stderr).toMatch(/timed out after 2000 ms: 2 of 3 replies/);
  });

  it('prints each reply as it arrives, before the next one is sent', async () => {
    const path = sockPath();
    const env = { target: 'local', os: 'linux' } as const;
    const srv = await listen(path, env);
    let reply!: (text: string) => Promise<void>;
    const connected = new Promise<void>((resolve) => {
      srv.connectionHandler((socket) => {
        reply = (text) => socket.sendMessage(text);
        resolve();
      });
    });
    const child = spawn(process.execPath, [CLI, 'send', path, 'go', '--replies', '2', '--timeout', '20000'], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit') as Promise<[number | null]>;
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    try {
      await connected;
      await reply('first');
      // The second reply is sent only after the first was printed.
      expect((await lines.next()).value).toBe('first');
      await reply('second');
      expect((await lines.next()).value).toBe('second');
      expect((await exited)[0]).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await srv.close();
    }
  });

  it('--replies without --timeout gives up after the default 5000 ms (exit 124)', async () => {
    const path = sockPath();
    await server(['listen', path]);
    const result = await runCli(['send', path, 'x', '--replies', '1'], { timeoutMs: 25_000 });
    expect(result.code).toBe(124);
    expect(result.stderr).toMatch(
      /timed out after 5000 ms \(the default with --replies; set --timeout\): 0 of 1 replies/,
    );
  });
});

describe.runIf(onLinux)('ipcez doctor: liveness and leftovers (real processes)', { timeout: 30_000 }, () => {
  it('reports a live server and --fix leaves it alone', async () => {
    const path = sockPath();
    await server(['echo', path]);
    const before = semaphoresOf(path);
    // The seed pair and the protocol v2 marker.
    expect(before).toHaveLength(3);
    const result = await runCli(['doctor', path, '--fix']);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/server: live/);
    expect(result.stdout).toMatch(/ack mode: v2 /);
    expect(result.stdout).not.toMatch(/removed/);
    expect(existsSync(path)).toBe(true);
    expect(semaphoresOf(path)).toEqual(before);
    const send = await runCli(['send', path, 'still here', '--replies', '1']);
    expect(send.stdout).toBe('still here\n');
  });

  it('reports the stale socket file and orphaned semaphores of a SIGKILLed server; --fix removes them', async () => {
    const path = sockPath();
    const killed = await startCliServer(['echo', path]);
    expect(await killed.stop('SIGKILL')).toBe(null);
    expect(existsSync(path)).toBe(true);
    const sems = semaphoresOf(path);
    expect(sems).toHaveLength(3);

    const report = await runCli(['doctor', path]);
    expect(report.code).toBe(1);
    expect(report.stdout).toMatch(/server: none answers/);
    expect(report.stdout).toContain(`stale socket file: ${path}`);
    for (const sem of sems) expect(report.stdout).toContain(`orphaned semaphore: /dev/shm/${sem}`);
    expect(report.stdout).toMatch(/fix: .*--fix/);
    expect(existsSync(path)).toBe(true);

    // Without an endpoint, doctor scans /dev/shm and finds the same orphans.
    const scan = await runCli(['doctor', '--json']);
    const scanned = JSON.parse(scan.stdout) as { leftovers: { kind: string; path: string; endpoint: string }[] };
    for (const sem of sems)
      expect(scanned.leftovers).toContainEqual({
        kind: 'semaphore',
        path: `/dev/shm/${sem}`,
        endpoint: path,
        removed: false,
      });

    const fixed = await runCli(['doctor', path, '--fix']);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).toContain(`removed stale socket file: ${path}`);
    expect(existsSync(path)).toBe(false);
    expect(semaphoresOf(path)).toEqual([]);
    // A new server starts on the endpoint as usual.
    await server(['echo', path]);
  });

  it('probes an abstract socket: nothing listening is "none answers", not a stale file', async () => {
    const name = `@ipcez-doctor-${String(process.pid)}`;
    const none = await runCli(['doctor', name]);
    expect(none.code, none.stdout).toBe(0);
    expect(none.stdout).toMatch(/server: none answers \(nothing at the endpoint\)/);
    await server(['echo', name]);
    expect((await runCli(['doctor', name])).stdout).toMatch(/server: live/);
  });

  it('never removes a file that is not a socket', async () => {
    const path = sockPath();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, 'not a socket');
    const result = await runCli(['doctor', path, '--fix']);
    expect(result.stdout).toMatch(/not a socket/);
    expect(readFileSync(path, 'utf8')).toBe('not a socket');
  });
});

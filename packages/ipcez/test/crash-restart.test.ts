// A listener killed with SIGKILL leaves its socket file and its signal pair behind. Restarting
// it on the same path, in a fresh process that loads everything through the workspace's pnpm
// (symlinked) node_modules, must work with acks on, the default. Each step is its own process,
// as an operator would run them: nothing (koffi included) is loaded in this test's process.
import { existsSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliServer } from './helpers/cli.js';
import { childEnv, leftoverSemaphores, runCli, startCliServer, tempDir } from './helpers/cli.js';

const env = childEnv();

const servers: CliServer[] = [];
const cleanups: (() => void)[] = [];
let prefix = '';

afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop('SIGKILL');
  for (const cleanup of cleanups.splice(0)) cleanup();
  // This test's own names only: other test files may run at the same time.
  const leftover = prefix === '' ? [] : leftoverSemaphores(prefix);
  // Remove what a failed run left (a semaphore is a file in /dev/shm), then report it.
  for (const name of leftover) rmSync(join('/dev/shm', name), { force: true });
  // A SIGKILLed listener cannot unlink its pair; the restarted one starts it fresh and
  // unlinks it on close, so nothing of this test is left in /dev/shm.
  expect(leftover).toEqual([]);
});

describe.runIf(process.platform === 'linux')('a listener killed with SIGKILL', () => {
  it('restarts on the same path in a fresh process and answers an acked echo', { timeout: 30_000 }, async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    prefix = basename(dir);
    const path = join(dir, 'app.sock');

    const first = await startCliServer(['echo', path], env);
    servers.push(first);
    await first.stop('SIGKILL');
    // What the crash left: the socket file (and the pair, checked by the restart's close).
    expect(existsSync(path)).toBe(true);

    const second = await startCliServer(['echo', path], env);
    servers.push(second);
    expect(second.endpoint).toBe(path);

    const sent = await runCli(['send', path, 'after-restart', '--replies', '1', '--timeout', '10000'], { env });
    expect(sent.stderr).toBe('');
    expect(sent.stdout.trim()).toBe('after-restart');
    expect(sent.code).toBe(0);

    expect(await second.stop('SIGTERM')).toBe(0);
    expect(existsSync(path)).toBe(false);
  });
});

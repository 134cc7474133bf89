// Connect, echo one message, disconnect, a thousand times: the listener's and the client's file
// descriptors and handles come back to where they were, and /dev/shm holds only the listener's
// signals, with acks off and on.
import { readdirSync } from 'node:fs';
import { connect } from 'ipcez';
import { afterEach, describe, expect, test } from 'vitest';
import type { Child, ListenerStats } from './helpers.js';
import {
  isLinux,
  isLong,
  killAll,
  listenerStats,
  record,
  removeSemaphoresUnder,
  semaphoresUnder,
  start,
  tempDir,
} from './helpers.js';

const CYCLES = isLong ? 20_000 : 1000;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await killAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function cycle(endpoint: string, ack: boolean, n: number): Promise<void> {
  const payload = new TextEncoder().encode(`cycle ${n}`);
  const socket = await connect(endpoint, { target: 'local', os: 'linux', ack });
  const echoed = (async () => {
    for await (const message of socket) return message;
    return undefined;
  })();
  await socket.sendMessage(payload);
  expect(await echoed).toEqual(payload);
  await socket.disconnect();
}

/** Polls until the listener has no live connection left (closes land asynchronously). */
async function settled(listener: Child): Promise<ListenerStats> {
  for (let i = 0; ; i++) {
    const now = await listenerStats(listener);
    if (now.live === 0 || i === 100) return now;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.runIf(isLinux)(`${CYCLES} connect / echo / disconnect cycles`, () => {
  for (const ack of [false, true]) {
    test(`acks ${ack ? 'on' : 'off'}: no descriptor, handle or semaphore is left behind`, async () => {
      const started = Date.now();
      const { dir, cleanup } = tempDir('cycles');
      cleanups.push(cleanup);
      const endpoint = `${dir}/c.sock`;
      const listener = start('echo-listener.mjs', [endpoint, ack ? 'on' : 'off']);
      await listener.line((l) => l.startsWith('listening '));
      // Warm up (lazy loads, first allocations), then take the baseline.
      for (let i = 0; i < 20; i++) await cycle(endpoint, ack, i);
      const before = await settled(listener);
      const ownFds = readdirSync('/proc/self/fd').length;
      const ownHandles = process.getActiveResourcesInfo().length;
      const semaphores = semaphoresUnder(dir).sort();
      for (let i = 0; i < CYCLES; i++) await cycle(endpoint, ack, i);
      const after = await settled(listener);
      expect(after.live).toBe(0);
      expect(after.accepted - before.accepted).toBe(CYCLES);
      expect(after.fds).toBe(before.fds);
      expect(after.handles).toBe(before.handles);
      expect(readdirSync('/proc/self/fd').length).toBe(ownFds);
      expect(process.getActiveResourcesInfo().length).toBe(ownHandles);
      expect(semaphoresUnder(dir).sort()).toEqual(semaphores);
      listener.process.stdin?.write('close\n');
      expect(await listener.exited).toBe(0);
      expect(removeSemaphoresUnder(dir)).toEqual([]);
      record({
        scenario: `${CYCLES} connect cycles, acks ${ack ? 'on' : 'off'}`,
        messages: CYCLES,
        losses: 0,
        rssPeakBytes: after.peakRss,
        fds: after.fds,
        durationMs: Date.now() - started,
      });
    });
  }
});

// Kill and restart, both roles, each in a fresh process from the pnpm install: a client
// SIGKILLed mid-stream (its listener keeps serving, a fresh client process connects and is
// served, no descriptor and no /dev/shm signal is left behind), then the listener SIGKILLed
// mid-stream and restarted on the same path (a fresh client is served by the new one; closing
// it leaves /dev/shm as it was).
import { afterEach, describe, expect, test } from 'vitest';
import type { Child } from './helpers.js';
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
  until,
} from './helpers.js';

const KILLS = isLong ? 50 : 5;
const MESSAGES = 200;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await killAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface Outcome {
  readonly resolved: number;
  readonly rejected: Record<string, number>;
}

/** A fresh sender process: connects, sends MESSAGES (acked), reports, disconnects. */
async function freshSender(endpoint: string, id: number): Promise<Outcome> {
  const sender = start('soak-sender.mjs', [endpoint, 'on', String(id), String(MESSAGES), '16']);
  const line = await sender.line((l) => l.startsWith('{'));
  expect(await sender.exited).toBe(0);
  return JSON.parse(line) as Outcome;
}

async function killMidStream(endpoint: string): Promise<Child> {
  const client = start('stream-client.mjs', [endpoint, 'on']);
  await client.line((l) => l === 'streaming');
  client.process.kill('SIGKILL');
  await client.exited;
  return client;
}

describe.runIf(isLinux)('kill and restart, both roles, in fresh processes', () => {
  test(`a client SIGKILLed mid-stream ${KILLS} times: the listener keeps serving fresh clients and leaks nothing`, async () => {
    const started = Date.now();
    const { dir, cleanup } = tempDir('kill');
    cleanups.push(() => {
      removeSemaphoresUnder(dir);
      cleanup();
    });
    const endpoint = `${dir}/k.sock`;
    const listener = start('echo-listener.mjs', [endpoint, 'on']);
    await listener.line((l) => l.startsWith('listening '));
    expect(await freshSender(endpoint, 1)).toMatchObject({ resolved: MESSAGES, rejected: {} });
    await until(async () => (await listenerStats(listener)).live === 0, 'the first sender to be gone');
    const before = await listenerStats(listener);
    const signals = semaphoresUnder(dir).sort();
    let delivered = MESSAGES;
    for (let i = 0; i < KILLS; i++) {
      await killMidStream(endpoint);
      // The listener sees the killed client's connection end, then serves a fresh process.
      await until(async () => (await listenerStats(listener)).live === 0, 'the killed client to be gone');
      const outcome = await freshSender(endpoint, 100 + i);
      expect(outcome).toMatchObject({ resolved: MESSAGES, rejected: {} });
      delivered += outcome.resolved;
    }
    await until(async () => (await listenerStats(listener)).live === 0, 'the last sender to be gone');
    const after = await listenerStats(listener);
    expect(after.fds).toBe(before.fds);
    expect(after.handles).toBe(before.handles);
    expect(after.ends['IPCEZ_ERR_CONNECTION_LOST']).toBe(before.ends['IPCEZ_ERR_CONNECTION_LOST']! + 2 * KILLS);
    // Protocol v2 clients use no OS signal: the killed ones left nothing in /dev/shm.
    expect(semaphoresUnder(dir).sort()).toEqual(signals);
    listener.process.stdin?.write('close\n');
    expect(await listener.exited).toBe(0);
    expect(semaphoresUnder(dir)).toEqual([]);
    record({
      scenario: `client SIGKILLed mid-stream ×${KILLS}`,
      messages: delivered,
      losses: 0,
      rssPeakBytes: after.peakRss,
      fds: after.fds,
      durationMs: Date.now() - started,
    });
  });

  test('a listener SIGKILLed mid-stream restarts on the same path in a fresh process and serves a fresh client', async () => {
    const started = Date.now();
    const { dir, cleanup } = tempDir('killl');
    cleanups.push(() => {
      removeSemaphoresUnder(dir);
      cleanup();
    });
    const endpoint = `${dir}/k.sock`;
    let delivered = 0;
    let fds = 0;
    for (let i = 0; i < Math.max(2, KILLS / 5); i++) {
      const listener = start('echo-listener.mjs', [endpoint, 'on']);
      await listener.line((l) => l.startsWith('listening '));
      const outcome = await freshSender(endpoint, 200 + i);
      expect(outcome).toMatchObject({ resolved: MESSAGES, rejected: {} });
      delivered += outcome.resolved;
      const streaming = start('stream-client.mjs', [endpoint, 'on']);
      await streaming.line((l) => l === 'streaming');
      fds = (await listenerStats(listener)).fds;
      listener.process.kill('SIGKILL');
      await listener.exited;
      // The client hears of it: its pending sends reject and it exits.
      expect(await streaming.exited).toBe(3);
      expect(streaming.lines.at(-1)).toBe('lost IPCEZ_ERR_CONNECTION_LOST');
    }
    // The last listener was killed too: a restart, served, then closed, removes its signals.
    const last = start('echo-listener.mjs', [endpoint, 'on']);
    await last.line((l) => l.startsWith('listening '));
    expect(await freshSender(endpoint, 300)).toMatchObject({ resolved: MESSAGES, rejected: {} });
    last.process.stdin?.write('close\n');
    expect(await last.exited).toBe(0);
    expect(semaphoresUnder(dir)).toEqual([]);
    record({
      scenario: 'listener SIGKILLed mid-stream, restarted',
      messages: delivered + MESSAGES,
      losses: 0,
      rssPeakBytes: 0,
      fds,
      durationMs: Date.now() - started,
    });
  });
});

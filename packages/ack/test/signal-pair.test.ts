import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { openSignalPair } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import { isLinux, isWindows, semaphoreMode, shmSemaphores, track, uniqueEndpoint } from './helpers.js';

const RecipientAckTimeoutErrorCode = 'IPCEZ_ERR_ACK_TIMEOUT';
const supported = isLinux || isWindows;
const opened: SignalPair[] = [];

async function open(endpoint: string, role: 'client' | 'listener' = 'client'): Promise<SignalPair> {
  const pair = await openSignalPair(endpoint, { role });
  opened.push(pair);
  return pair;
}

afterEach(async () => {
  for (const pair of opened.splice(0)) {
    pair.unlink();
    await pair.close();
  }
});

describe.runIf(supported)('SignalPair (both platforms)', () => {
  test('waitAcked resolves after signalAcked from another pair on the same endpoint', async () => {
    const endpoint = uniqueEndpoint('basic');
    const listener = await open(endpoint, 'listener');
    const client = await open(endpoint);
    const waiting = client.waitAcked(4000);
    listener.signalAcked();
    await expect(waiting).resolves.toBeUndefined();
  });

  test('waitAcked rejects with RecipientAckTimeoutError carrying the timeout when nothing is acked', async () => {
    const pair = await open(uniqueEndpoint('timeout'), 'listener');
    await expect(pair.waitAcked(50)).rejects.toMatchObject({ code: RecipientAckTimeoutErrorCode, timeoutMs: 50 });
  });

  test('tryTakeReady never blocks: false when nothing is ready, true once after signalReady', async () => {
    const pair = await open(uniqueEndpoint('ready'), 'listener');
    expect(pair.tryTakeReady()).toBe(false);
    pair.signalReady();
    expect(pair.tryTakeReady()).toBe(true);
    expect(pair.tryTakeReady()).toBe(false);
  });

  test('a listener opening the pair starts it fresh: an ack posted before is gone', async () => {
    const endpoint = uniqueEndpoint('fresh');
    const old = await open(endpoint, 'listener');
    old.signalAcked();
    old.signalReady();
    const restarted = await open(endpoint, 'listener');
    expect(restarted.tryTakeReady()).toBe(false);
    await expect(restarted.waitAcked(50)).rejects.toMatchObject({ code: RecipientAckTimeoutErrorCode });
  });

  test('hands each ack to the oldest waiter first', async () => {
    const pair = await open(uniqueEndpoint('fifo'), 'listener');
    const order: string[] = [];
    const all = [1, 2, 3].map((i) => track(`w${i}`, pair.waitAcked(4000), order));
    // One ack at a time (a Windows event holds at most one), each waited for.
    for (let acks = 1; acks <= 3; acks++) {
      pair.signalAcked();
      while (order.length < acks) await delay(5);
      expect(order).toEqual(['w1:ok', 'w2:ok', 'w3:ok'].slice(0, acks));
    }
    await Promise.all(all);
  });

  test('an ack that arrives after every waiter gave up is kept for the next waiter, not lost or doubled', async () => {
    const pair = await open(uniqueEndpoint('giveback'), 'listener');
    // The native wait started for this call may still be running when it times out; the ack
    // posted next is then taken by that wait with nobody left to hand it to.
    await expect(pair.waitAcked(20)).rejects.toMatchObject({ code: RecipientAckTimeoutErrorCode });
    pair.signalAcked();
    await delay(30); // let that native wait take it and return
    await expect(pair.waitAcked(4000)).resolves.toBeUndefined();
    await expect(pair.waitAcked(50)).rejects.toMatchObject({ code: RecipientAckTimeoutErrorCode });
  });

  test('an aborted oldest waiter passes the next ack to the waiter after it', async () => {
    const pair = await open(uniqueEndpoint('abort2'), 'listener');
    const controller = new AbortController();
    const order: string[] = [];
    const first = track('first', pair.waitAcked(4000, controller.signal), order);
    const second = track('second', pair.waitAcked(4000), order);
    controller.abort(new Error('gave up'));
    await first;
    pair.signalAcked();
    await second;
    expect(order).toEqual(['first:gave up', 'second:ok']);
  });

  test('an abort rejects the wait with signal.reason', async () => {
    const pair = await open(uniqueEndpoint('abort'), 'listener');
    const controller = new AbortController();
    const waiting = pair.waitAcked(4000, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(pair.waitAcked(4000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  test('close() rejects pending waits with ConnectionLostError, returns the same promise, and later calls fail', async () => {
    const pair = await openSignalPair(uniqueEndpoint('close'), { role: 'listener' });
    const waiting = pair.waitAcked(4000).catch((error: unknown) => error);
    const first = pair.close();
    expect(pair.close()).toBe(first);
    await first;
    expect(await waiting).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'local-close' });
    expect(pair.state).toBe('closed');
    expect(() => {
      pair.signalReady();
    }).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_CONNECTION_LOST' }));
    await expect(pair.waitAcked(10)).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    pair.unlink();
  });

  test('closing one pair of an endpoint leaves another pair of the same endpoint working', async () => {
    const endpoint = uniqueEndpoint('shared');
    const a = await open(endpoint, 'listener');
    const b = await openSignalPair(endpoint);
    await b.close();
    a.signalAcked();
    await expect(a.waitAcked(4000)).resolves.toBeUndefined();
  });

  test('100 concurrent waits leave the libuv pool free: fs.promises.stat completes while they all wait', async () => {
    const pair = await open(uniqueEndpoint('pool'), 'listener');
    const settled: string[] = [];
    const waits = Array.from({ length: 100 }, (_, i) => track(`w${i}`, pair.waitAcked(4000), settled));
    // Let native waits start; a design with one pool thread per wait would now hold all 4.
    await delay(50);
    const stats = await Promise.all(Array.from({ length: 8 }, () => stat(import.meta.dirname)));
    expect(stats.every((s) => s.isDirectory())).toBe(true);
    expect(settled).toEqual([]);
    for (let i = 0; i < 100; i++) {
      pair.signalAcked();
      if (isWindows) await delay(5); // an event is binary: let each set be taken
    }
    if (!isWindows) {
      await Promise.all(waits);
      expect(settled.filter((s) => s.endsWith(':ok'))).toHaveLength(100);
    } else {
      await pair.close();
      await Promise.all(waits);
    }
  });

  test('throws IPCEZ_ERR_INVALID_ARG synchronously for a bad endpoint, role or timeout', async () => {
    expect(() => openSignalPair('')).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
    expect(() => openSignalPair('/tmp/x.sock', { role: 'server' as 'client' })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
    const pair = await open(uniqueEndpoint('args'), 'listener');
    expect(() => pair.waitAcked(-1)).toThrow(RangeError);
    expect(() => pair.waitAcked(Number.NaN)).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
  });
});

describe.runIf(isLinux)('SignalPair on Linux (POSIX semaphores)', () => {
  test('creates both semaphores in /dev/shm with mode 0600 and removes them on unlink, not on close', async () => {
    const endpoint = uniqueEndpoint('shm');
    const pair = await openSignalPair(endpoint, { role: 'listener' });
    expect(pair.namespace).toBe('posix');
    expect(semaphoreMode(pair.names.ready)).toBe(0o600);
    expect(semaphoreMode(pair.names.acked)).toBe(0o600);
    const fragment = pair.names.ready.slice(1, -'.data_ready'.length);
    expect(shmSemaphores(fragment).sort()).toEqual([`sem.${fragment}.data_acked`, `sem.${fragment}.data_ready`]);
    await pair.close();
    expect(shmSemaphores(fragment)).toHaveLength(2);
    pair.unlink();
    expect(shmSemaphores(fragment)).toEqual([]);
  });

  test('counts exactly: three acks release three waits and a fourth times out', async () => {
    const pair = await open(uniqueEndpoint('count'), 'listener');
    pair.signalAcked();
    pair.signalAcked();
    pair.signalAcked();
    await pair.waitAcked(1000);
    await pair.waitAcked(1000);
    await pair.waitAcked(1000);
    await expect(pair.waitAcked(50)).rejects.toMatchObject({ code: RecipientAckTimeoutErrorCode });
  });

  test('a client opening the pair never resets it', async () => {
    const endpoint = uniqueEndpoint('client');
    const listener = await open(endpoint, 'listener');
    listener.signalAcked();
    const client = await open(endpoint);
    await expect(client.waitAcked(1000)).resolves.toBeUndefined();
  });

  test('1,000 open/close cycles leave no semaphore behind, neither in /dev/shm nor mapped', async () => {
    const endpoint = uniqueEndpoint('cycles');
    let fragment = '';
    for (let i = 0; i < 1000; i++) {
      const pair = await openSignalPair(endpoint, { role: i % 2 === 0 ? 'listener' : 'client' });
      fragment = pair.names.ready.slice(1, -'.data_ready'.length);
      pair.signalReady();
      pair.unlink();
      await pair.close();
    }
    expect(shmSemaphores(fragment)).toEqual([]);
    expect(readFileSync('/proc/self/maps', 'utf8')).not.toContain(fragment);
  }, 20_000);
});

describe.runIf(isWindows)('SignalPair on Windows (named events)', () => {
  test('is binary, not counting: two acks before a wait release one waiter', async () => {
    const pair = await open(uniqueEndpoint('binary'), 'listener');
    expect(pair.isCounting).toBe(false);
    expect(['global', 'local']).toContain(pair.namespace);
    pair.signalAcked();
    pair.signalAcked();
    await pair.waitAcked(1000);
    await expect(pair.waitAcked(50)).rejects.toMatchObject({ code: RecipientAckTimeoutErrorCode });
  });
});

describe.runIf(isLinux)('SignalPair ownership of names on linux', () => {
  test('a listener unlinks only the names it created: not those of a listener that started after it', async () => {
    const endpoint = uniqueEndpoint('owner');
    const first = await openSignalPair(endpoint, { role: 'listener' });
    first.advertiseV2();
    // A second listener starts the names fresh (the first one's are unlinked, new ones made).
    const second = await open(endpoint, 'listener');
    second.advertiseV2();
    const fragment = second.names.ready.slice(1, -'.data_ready'.length);
    const before = shmSemaphores(fragment).sort();
    expect(before).toHaveLength(3);
    // The first one closing must leave the second one's names alone.
    first.unlink();
    await first.close();
    expect(shmSemaphores(fragment).sort()).toEqual(before);
    // They still work: a client finds the second listener's pair.
    const client = await open(endpoint);
    const waiting = client.waitAcked(4000);
    second.signalAcked();
    await expect(waiting).resolves.toBeUndefined();
  });
});

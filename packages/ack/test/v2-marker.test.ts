// The protocol v2 marker (docs/PROTOCOL.md, "Protocol v2"): a v2 listener creates `<base>.v2`
// after its pair and before it binds, removes it first on close; every listener removes a stale
// one before it starts its pair fresh; a client looks it up without creating anything.
import { afterEach, describe, expect, test } from 'vitest';
import { deriveSignalNames, hasV2Marker, openSignalPair } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import { isLinux, isWindows, semaphoreMode, shmSemaphores, uniqueEndpoint } from './helpers.js';

const opened: SignalPair[] = [];

async function listener(endpoint: string): Promise<SignalPair> {
  const pair = await openSignalPair(endpoint, { role: 'listener' });
  opened.push(pair);
  return pair;
}

afterEach(async () => {
  for (const pair of opened.splice(0)) {
    pair.unlink();
    await pair.close();
  }
});

describe.runIf(isLinux || isWindows)('the v2 marker (both platforms)', () => {
  test('a client finds no marker before a listener advertises v2, and finds it after', async () => {
    const endpoint = uniqueEndpoint('marker');
    const pair = await listener(endpoint);
    expect(await hasV2Marker(endpoint)).toBe(false);
    expect(pair.isAdvertisingV2).toBe(false);
    pair.advertiseV2();
    pair.advertiseV2(); // idempotent
    expect(pair.isAdvertisingV2).toBe(true);
    expect(await hasV2Marker(endpoint)).toBe(true);
  });

  test('the marker is gone once the listener unlinks and closes its pair', async () => {
    const endpoint = uniqueEndpoint('marker-close');
    const pair = await openSignalPair(endpoint, { role: 'listener' });
    pair.advertiseV2();
    pair.unlink();
    await pair.close();
    expect(await hasV2Marker(endpoint)).toBe(false);
  });

  test('hasV2Marker rejects a bad endpoint synchronously with IPCEZ_ERR_INVALID_ARG', () => {
    expect(() => hasV2Marker('')).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }));
  });
});

describe.runIf(isLinux)('the v2 marker on linux', () => {
  test('is a 0600 semaphore named <base>.v2, and a client lookup creates nothing', async () => {
    const endpoint = uniqueEndpoint('marker-mode');
    const names = deriveSignalNames(endpoint, 'linux');
    const fragment = names.marker.slice(1, -'.v2'.length);
    expect(await hasV2Marker(endpoint)).toBe(false);
    expect(shmSemaphores(fragment)).toEqual([]);
    const pair = await listener(endpoint);
    pair.advertiseV2();
    expect(semaphoreMode(names.marker)).toBe(0o600);
    expect(shmSemaphores(fragment).sort()).toEqual(
      [`sem.${names.acked.slice(1)}`, `sem.${names.ready.slice(1)}`, `sem.${names.marker.slice(1)}`].sort(),
    );
  });

  test("unlink removes the marker before the pair, and a crashed v2 listener's marker is removed by the next listener", async () => {
    const endpoint = uniqueEndpoint('marker-stale');
    const names = deriveSignalNames(endpoint, 'linux');
    // A v2 listener that "crashed": its names stay, its handles close.
    const crashed = await openSignalPair(endpoint, { role: 'listener' });
    crashed.advertiseV2();
    await crashed.close();
    expect(await hasV2Marker(endpoint)).toBe(true);
    // The next listener (v2 or not) starts fresh: the stale marker goes with the stale pair.
    const next = await listener(endpoint);
    expect(await hasV2Marker(endpoint)).toBe(false);
    expect(shmSemaphores(names.marker.slice(1))).toEqual([]);
    next.advertiseV2();
    expect(await hasV2Marker(endpoint)).toBe(true);
  });
});

// The libuv pool (4 threads by default) is shared by fs, dns, crypto and zlib: ack waits may
// keep at most ONE native wait outstanding in the whole process, however many named signals
// have waiters. Real semaphores/events through the real backend; the backend is wrapped only
// to count the native waits in flight.
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import type { AckBackend, NativeSignal, OpenMode } from '../src/ack-backend.js';
import { loadAckBackend } from '../src/platform/index.js';
import { SharedSignal } from '../src/shared-signal.js';
import { deriveSignalNames } from '../src/signal-names.js';
import { isLinux, isWindows, uniqueEndpoint } from './helpers.js';

interface Counted {
  readonly backend: AckBackend;
  /** Native waits in flight now, and the most ever seen at once. */
  readonly inFlight: { now: number; max: number };
}

function counting(real: AckBackend): Counted {
  const inFlight = { now: 0, max: 0 };
  const wrap = (native: NativeSignal): NativeSignal => ({
    name: native.name,
    identity: native.identity,
    post: () => {
      native.post();
    },
    tryTake: () => native.tryTake(),
    waitSlice: (sliceMs, done) => {
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      native.waitSlice(sliceMs, (result) => {
        inFlight.now--;
        done(result);
      });
    },
    close: () => {
      native.close();
    },
  });
  return {
    inFlight,
    backend: {
      isCounting: real.isCounting,
      canUnlink: real.canUnlink,
      open: (name: string, mode: OpenMode) => wrap(real.open(name, mode)),
      unlink: (name: string) => {
        real.unlink(name);
      },
      exists: (name: string) => real.exists(name),
      identify: (name: string) => real.identify(name),
      peerCredentials: real.peerCredentials,
    },
  };
}

const owner = {};
const acquired: { signal: SharedSignal; backend: AckBackend; name: string }[] = [];

afterEach(async () => {
  for (const { signal, backend, name } of acquired.splice(0)) {
    await signal.release(owner, new Error('test over'));
    backend.unlink(name);
  }
});

describe.runIf(isLinux || isWindows)('ack waits and the libuv pool', () => {
  test('eight signals with waiters keep at most one native wait in flight, and every post still wakes its waiter', async () => {
    const real = await loadAckBackend();
    const { backend, inFlight } = counting(real);
    const platform = isWindows ? 'win32' : 'linux';
    const signals = Array.from({ length: 8 }, (_, i) => {
      const name = deriveSignalNames(uniqueEndpoint(`pool${i}`), platform).acked;
      const signal = SharedSignal.acquire(backend, name, 'fresh');
      acquired.push({ signal, backend: real, name });
      return signal;
    });
    const waits = signals.map((signal) => signal.wait(owner, 10_000, undefined));
    // Released (rejected) by afterEach when an assertion fails first.
    for (const wait of waits) wait.catch(() => undefined);
    // Let every waiter get going (and, before the fix, every signal arm its own native wait).
    await delay(150);
    expect(inFlight.max).toBe(1);
    // Post to each in turn, from the last to the first: the one whose native wait is in
    // flight and all the others must each be woken.
    for (let i = signals.length - 1; i >= 0; i--) {
      signals[i]!.post();
      await waits[i];
    }
    expect(inFlight.max).toBe(1);
  }, 15_000);
});

import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { AckLedger } from '../src/v2/ack-ledger.js';

/** Records how each promise settled, in order. */
function track(label: string, promise: Promise<void>, into: string[]): void {
  promise.then(
    () => into.push(`${label}:ok`),
    (error: unknown) => into.push(`${label}:${(error as { code?: string }).code ?? String(error)}`),
  );
}

describe('AckLedger (protocol v2, sender side)', () => {
  test('an ACK of n settles the n oldest slots, in order', async () => {
    const ledger = new AckLedger(10_000);
    const seen: string[] = [];
    const slots = [0, 1, 2, 3].map((i) => {
      const slot = ledger.add();
      ledger.written(slot);
      track(`s${i}`, slot.promise, seen);
      return slot;
    });
    expect(ledger.acknowledge(3)).toBeUndefined();
    await Promise.all(slots.slice(0, 3).map((s) => s.promise));
    expect(seen).toEqual(['s0:ok', 's1:ok', 's2:ok']);
    expect(ledger.outstanding).toBe(1);
    expect(ledger.acknowledge(1)).toBeUndefined();
    await slots[3]!.promise;
    expect(ledger.outstanding).toBe(0);
    ledger.fail(new Error('end'));
  });

  test('ACK 0 and an ACK for more frames than are outstanding are violations, and settle nothing', () => {
    const ledger = new AckLedger(10_000);
    expect(ledger.acknowledge(1)).toMatch(/more data frames than were sent/);
    const slot = ledger.add();
    ledger.written(slot);
    expect(ledger.acknowledge(0)).toMatch(/ACK 0/);
    expect(ledger.acknowledge(2)).toMatch(/\(1\)/);
    expect(ledger.outstanding).toBe(1);
    ledger.fail(new Error('end'));
    return expect(slot.promise).rejects.toThrow('end');
  });

  test('a slot times out ackTimeoutMs after it was written, stays in line, and a later ACK still counts it', async () => {
    const ledger = new AckLedger(30);
    const seen: string[] = [];
    const first = ledger.add();
    ledger.written(first);
    track('first', first.promise, seen);
    const second = ledger.add(); // not written yet: no countdown
    track('second', second.promise, seen);
    await delay(80);
    expect(seen).toEqual(['first:IPCEZ_ERR_ACK_TIMEOUT']);
    await expect(first.promise).rejects.toMatchObject({ timeoutMs: 30 });
    // The late ACK for the first frame settles nothing new, the next one settles the second.
    expect(ledger.acknowledge(1)).toBeUndefined();
    ledger.written(second);
    expect(ledger.acknowledge(1)).toBeUndefined();
    await second.promise;
    expect(seen).toEqual(['first:IPCEZ_ERR_ACK_TIMEOUT', 'second:ok']);
  });

  test('fail rejects every waiting slot at once with the terminal error, and later adds too', async () => {
    const ledger = new AckLedger(60_000);
    const slots = [ledger.add(), ledger.add()];
    ledger.written(slots[0]!);
    const terminal = new Error('connection lost');
    ledger.fail(terminal);
    for (const slot of slots) await expect(slot.promise).rejects.toBe(terminal);
    await expect(ledger.add().promise).rejects.toBe(terminal);
    expect(ledger.outstanding).toBe(0);
  });

  test('a cancelled slot (never written) leaves the line: ACKs count only frames that were sent', async () => {
    const ledger = new AckLedger(60_000);
    const a = ledger.add();
    const never = ledger.add();
    const b = ledger.add();
    ledger.written(a);
    ledger.cancel(never, new Error('aborted'));
    ledger.written(b);
    await expect(never.promise).rejects.toThrow('aborted');
    expect(ledger.outstanding).toBe(2);
    expect(ledger.acknowledge(2)).toBeUndefined();
    await Promise.all([a.promise, b.promise]);
  });

  test('keeps up with many slots and one ACK per batch', async () => {
    const ledger = new AckLedger(60_000);
    const slots = Array.from({ length: 5000 }, () => ledger.add());
    for (const slot of slots) ledger.written(slot);
    for (let acked = 0; acked < slots.length; acked += 700) {
      expect(ledger.acknowledge(Math.min(700, slots.length - acked))).toBeUndefined();
    }
    await Promise.all(slots.map((s) => s.promise));
    expect(ledger.outstanding).toBe(0);
  });
});

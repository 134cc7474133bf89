import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { AckLedger } from '../src/v2/ack-ledger.js';

/** Records how each promise settled, in order. */
function track(label: string, promise: Promise<void>, into: string[]): void {
  promise.then(
    () => into.push(`${label}:ok`),
    (error: unknown) => into.push(`${label}:${(error as { code?: string }).code ?? (error as Error).message}`),
  );
}

/** Adds a waiting send; returns its promise and its position. */
function add(ledger: AckLedger): { promise: Promise<void>; position: number } {
  const position = ledger.end;
  return { promise: ledger.add(), position };
}

/** Adds `count` waiting sends, written `perWrite` at a time (the last write may be shorter). */
function addWritten(ledger: AckLedger, count: number, perWrite: number): Promise<void>[] {
  const sends: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    sends.push(ledger.add());
    if (i % perWrite === perWrite - 1 || i === count - 1) ledger.written(ledger.end);
  }
  return sends;
}

describe('AckLedger (protocol v2, sender side)', () => {
  test('an ACK of n settles the n oldest sends, in order', async () => {
    const ledger = new AckLedger(10_000);
    const seen: string[] = [];
    const sends = [0, 1, 2, 3].map((i) => {
      const send = add(ledger);
      ledger.written(send.position + 1);
      track(`s${i}`, send.promise, seen);
      return send;
    });
    expect(ledger.acknowledge(3)).toBeUndefined();
    await Promise.all(sends.slice(0, 3).map((s) => s.promise));
    expect(seen).toEqual(['s0:ok', 's1:ok', 's2:ok']);
    expect(ledger.outstanding).toBe(1);
    expect(ledger.acknowledge(1)).toBeUndefined();
    await sends[3]!.promise;
    expect(ledger.outstanding).toBe(0);
    ledger.fail(new Error('end'));
  });

  test('ACK 0 and an ACK for more frames than are outstanding are violations, and settle nothing', () => {
    const ledger = new AckLedger(10_000);
    expect(ledger.acknowledge(1)).toMatch(/more data frames than were sent/);
    const send = add(ledger);
    ledger.written(ledger.end);
    expect(ledger.acknowledge(0)).toMatch(/ACK 0/);
    expect(ledger.acknowledge(2)).toMatch(/\(1\)/);
    expect(ledger.outstanding).toBe(1);
    ledger.fail(new Error('end'));
    return expect(send.promise).rejects.toThrow('end');
  });

  test('a send times out ackTimeoutMs after it was written, stays in line, and a later ACK still counts it', async () => {
    const ledger = new AckLedger(30);
    const seen: string[] = [];
    const first = add(ledger);
    ledger.written(ledger.end);
    track('first', first.promise, seen);
    const second = add(ledger); // not written yet: no countdown
    track('second', second.promise, seen);
    await delay(80);
    expect(seen).toEqual(['first:IPCEZ_ERR_ACK_TIMEOUT']);
    await expect(first.promise).rejects.toMatchObject({ timeoutMs: 30 });
    // The late ACK for the first frame settles nothing new, the next one settles the second.
    expect(ledger.acknowledge(1)).toBeUndefined();
    ledger.written(ledger.end);
    expect(ledger.acknowledge(1)).toBeUndefined();
    await second.promise;
    expect(seen).toEqual(['first:IPCEZ_ERR_ACK_TIMEOUT', 'second:ok']);
  });

  test('sends written together time out together; an ACK of part of them settles that part at once', async () => {
    const ledger = new AckLedger(40);
    const seen: string[] = [];
    const group = [0, 1, 2, 3].map((i) => {
      const send = add(ledger);
      track(`s${i}`, send.promise, seen);
      return send;
    });
    ledger.written(ledger.end); // one write for the four
    expect(ledger.acknowledge(2)).toBeUndefined();
    await Promise.all(group.slice(0, 2).map((s) => s.promise));
    expect(seen).toEqual(['s0:ok', 's1:ok']);
    await delay(100);
    expect(seen).toEqual(['s0:ok', 's1:ok', 's2:IPCEZ_ERR_ACK_TIMEOUT', 's3:IPCEZ_ERR_ACK_TIMEOUT']);
    // Both timed-out frames are still in line.
    expect(ledger.outstanding).toBe(2);
    expect(ledger.acknowledge(3)).toMatch(/\(2\)/);
    expect(ledger.acknowledge(2)).toBeUndefined();
    expect(ledger.outstanding).toBe(0);
  });

  test('sends that do not wait share the line with those that do: counts stay exact', async () => {
    const ledger = new AckLedger(60_000);
    const seen: string[] = [];
    ledger.addUnwaited(false);
    ledger.addUnwaited(false);
    const waited = add(ledger);
    track('waited', waited.promise, seen);
    ledger.addUnwaited(false);
    const cancellable = ledger.addUnwaited(true);
    ledger.addUnwaited(false);
    const last = add(ledger);
    track('last', last.promise, seen);
    expect(ledger.outstanding).toBe(7);
    ledger.cancel(cancellable, new Error('aborted'));
    expect(ledger.outstanding).toBe(6);
    ledger.written(ledger.end);
    // Part of the run of two, then the rest of it: nothing settles before the third frame.
    expect(ledger.acknowledge(1)).toBeUndefined();
    expect(ledger.acknowledge(1)).toBeUndefined();
    await delay(1);
    expect(seen).toEqual([]);
    expect(ledger.acknowledge(2)).toBeUndefined();
    await waited.promise;
    expect(seen).toEqual(['waited:ok']);
    expect(ledger.acknowledge(1)).toBeUndefined();
    await delay(1);
    expect(seen).toEqual(['waited:ok']);
    expect(ledger.acknowledge(1)).toBeUndefined();
    await last.promise;
    expect(ledger.outstanding).toBe(0);
  });

  test('a run of sends that do not wait, acknowledged whole, then more of them', () => {
    const ledger = new AckLedger(60_000);
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < round; i++) ledger.addUnwaited(false);
      expect(ledger.outstanding).toBe(round);
      expect(ledger.acknowledge(round + 1)).toMatch(new RegExp(`\\(${round}\\)`));
      expect(ledger.acknowledge(round)).toBeUndefined();
      expect(ledger.outstanding).toBe(0);
    }
  });

  test('fail rejects every waiting send at once with the terminal error, and later adds too', async () => {
    const ledger = new AckLedger(60_000);
    const sends = [add(ledger), add(ledger)];
    ledger.written(sends[0]!.position + 1);
    const terminal = new Error('connection lost');
    ledger.fail(terminal);
    for (const send of sends) await expect(send.promise).rejects.toBe(terminal);
    await expect(ledger.add()).rejects.toBe(terminal);
    expect(ledger.outstanding).toBe(0);
  });

  test('a cancelled send (never written) leaves the line: ACKs count only frames that were sent', async () => {
    const ledger = new AckLedger(60_000);
    const a = add(ledger);
    const never = add(ledger);
    const b = add(ledger);
    ledger.written(a.position + 1);
    ledger.cancel(never.position, new Error('aborted'));
    ledger.written(b.position + 1);
    await expect(never.promise).rejects.toThrow('aborted');
    expect(ledger.outstanding).toBe(2);
    expect(ledger.acknowledge(3)).toMatch(/\(2\)/);
    expect(ledger.acknowledge(2)).toBeUndefined();
    await Promise.all([a.promise, b.promise]);
  });

  test('positions stay right as the line grows and wraps: timeouts, cancels and ACKs past it', async () => {
    const ledger = new AckLedger(40);
    const sends = addWritten(ledger, 3000, 100);
    const seen: string[] = [];
    sends.forEach((promise, i) => {
      track(String(i), promise, seen);
    });
    expect(ledger.acknowledge(2500)).toBeUndefined(); // compacts the settled front
    const waiting = ledger.end;
    const late = ledger.add();
    track('late', late, seen);
    ledger.cancel(waiting, new Error('aborted'));
    await delay(100);
    expect(seen.filter((s) => s.endsWith(':ok'))).toHaveLength(2500);
    expect(seen.filter((s) => s.endsWith(':IPCEZ_ERR_ACK_TIMEOUT'))).toHaveLength(500);
    expect(seen).toContain('late:aborted');
    expect(ledger.outstanding).toBe(500);
    expect(ledger.acknowledge(500)).toBeUndefined();
    expect(ledger.outstanding).toBe(0);
  });

  test('settles exactly what a plain list of frames would, over thousands of random operations', async () => {
    // The model: one record per frame in line; an ACK of n settles the n oldest.
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const ledger = new AckLedger(60_000);
    const model: { id: number; isWaiting: boolean; position: number; isWritten: boolean }[] = [];
    const settled: number[] = [];
    const expected: number[] = [];
    let next = 1;
    for (let step = 0; step < 20_000; step++) {
      const op = random(10);
      if (op < 4) {
        const id = next++;
        const position = ledger.end;
        ledger.add().then(
          () => settled.push(id),
          () => settled.push(-id),
        );
        model.push({ id, isWaiting: true, position, isWritten: false });
      } else if (op < 7) {
        const isCancellable = random(4) === 0;
        const position = ledger.addUnwaited(isCancellable);
        model.push({ id: -1, isWaiting: false, position: isCancellable ? position : -1, isWritten: false });
      } else if (op === 7) {
        // Withdraw the newest unwritten frame that can be withdrawn, if it is the last one.
        const last = model.at(-1);
        if (last !== undefined && !last.isWritten && last.position >= 0) {
          model.pop();
          ledger.cancel(last.position, new Error('aborted'));
          if (last.isWaiting) expected.push(-last.id);
        }
      } else if (op === 8) {
        ledger.written(ledger.end);
        for (const frame of model) frame.isWritten = true;
      } else if (model.length > 0) {
        const count = 1 + random(Math.min(model.length, 50));
        expect(ledger.acknowledge(count)).toBeUndefined();
        for (const frame of model.splice(0, count)) if (frame.isWaiting) expected.push(frame.id);
      }
      expect(ledger.outstanding).toBe(model.length);
    }
    await new Promise((resolve) => setImmediate(resolve));
    // Acked sends settle in line order; withdrawn ones reject (in any order relative to them).
    expect(settled.filter((id) => id > 0)).toEqual(expected.filter((id) => id > 0));
    expect(settled.filter((id) => id < 0).sort()).toEqual(expected.filter((id) => id < 0).sort());
    ledger.fail(new Error('end'));
  });

  test('settled() waits for the waiting sends added so far: acked, timed out, withdrawn or failed', async () => {
    const ledger = new AckLedger(40);
    await ledger.settled(); // nothing waits
    ledger.addUnwaited(false);
    await ledger.settled(); // a send that does not wait is settled already
    const acked = add(ledger);
    const timedOut = add(ledger);
    const withdrawn = add(ledger);
    for (const send of [acked, timedOut, withdrawn]) send.promise.catch(() => undefined);
    ledger.written(withdrawn.position); // the first two were written
    let isSettled = false;
    void ledger.settled().then(() => (isSettled = true));
    const later = add(ledger); // added after: not waited for
    later.promise.catch(() => undefined);
    expect(ledger.acknowledge(2)).toBeUndefined(); // the unwaited frame and `acked`
    await delay(1);
    expect(isSettled).toBe(false);
    ledger.cancel(withdrawn.position, new Error('aborted'));
    await delay(1);
    expect(isSettled).toBe(false);
    await expect(timedOut.promise).rejects.toMatchObject({ code: 'IPCEZ_ERR_ACK_TIMEOUT' });
    await delay(1);
    expect(isSettled).toBe(true);
    let isLaterSettled = false;
    void ledger.settled().then(() => (isLaterSettled = true));
    await delay(1);
    expect(isLaterSettled).toBe(false);
    ledger.fail(new Error('end'));
    await delay(1);
    expect(isLaterSettled).toBe(true);
    await expect(later.promise).rejects.toThrow('end');
  });

  test('keeps up with many sends, one write per batch of them and one ACK per read', async () => {
    const ledger = new AckLedger(60_000);
    const sends = addWritten(ledger, 5000, 300);
    for (let acked = 0; acked < sends.length; acked += 700) {
      expect(ledger.acknowledge(Math.min(700, sends.length - acked))).toBeUndefined();
    }
    await Promise.all(sends);
    expect(ledger.outstanding).toBe(0);
  });
});

import { describe, expect, it, vi } from 'vitest';
import { Inbox } from '@ipcez/core';
import type { InboxResult } from '@ipcez/core';

class Closed extends Error {}
class Broken extends Error {}

function collect<T>(inbox: Inbox<T, Error>): InboxResult<T, Error>[] {
  const seen: InboxResult<T, Error>[] = [];
  inbox.setHandler((r) => seen.push(r));
  return seen;
}

describe('Inbox', () => {
  it('keeps items pushed before a handler is set and delivers them in order when it is set', () => {
    const inbox = new Inbox<number, Error>();
    inbox.push(1);
    inbox.push(2);
    const seen = collect(inbox);
    inbox.push(3);
    expect(seen).toEqual([
      { ok: true, value: 1 },
      { ok: true, value: 2 },
      { ok: true, value: 3 },
    ]);
  });

  it('delivers exactly one terminal error, last, and nothing after it', () => {
    const inbox = new Inbox<number, Error>();
    const seen = collect(inbox);
    inbox.push(1);
    const closed = new Closed('closed');
    inbox.end(closed);
    inbox.end(new Broken('second end'));
    inbox.push(2);
    expect(seen).toEqual([
      { ok: true, value: 1 },
      { ok: false, error: closed },
    ]);
    expect(inbox.isEnded).toBe(true);
  });

  it('delivers buffered items and then the terminal error to a handler set after the end', () => {
    const inbox = new Inbox<string, Error>();
    inbox.push('a');
    const broken = new Broken('boom');
    inbox.end(broken);
    expect(collect(inbox)).toEqual([
      { ok: true, value: 'a' },
      { ok: false, error: broken },
    ]);
  });

  it('refuses a second consumer with IPCEZ_ERR_INVALID_ARG', async () => {
    const inbox = new Inbox<number, Error>();
    inbox.setHandler(() => undefined);
    expect(() => {
      inbox.setHandler(() => undefined);
    }).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error);
    await expect(inbox[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'IPCEZ_ERR_INVALID_ARG' });
  });

  it('refuses a handler that is not a function', () => {
    const inbox = new Inbox<number, Error>();
    expect(() => {
      inbox.setHandler(42 as unknown as () => void);
    }).toThrow(TypeError);
  });

  it('iterates items in order and ends normally on a clean terminal error', async () => {
    const inbox = new Inbox<number, Error>({ isCleanEnd: (e) => e instanceof Closed });
    inbox.push(1);
    setTimeout(() => {
      inbox.push(2);
      inbox.end(new Closed('done'));
    }, 5);
    const got: number[] = [];
    for await (const n of inbox) got.push(n);
    expect(got).toEqual([1, 2]);
  });

  it('throws a non-clean terminal error from the iterator after the items', async () => {
    const inbox = new Inbox<number, Error>({ isCleanEnd: (e) => e instanceof Closed });
    inbox.push(7);
    const broken = new Broken('transport failed');
    inbox.end(broken);
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const n of inbox) got.push(n);
      })(),
    ).rejects.toBe(broken);
    expect(got).toEqual([7]);
  });

  it('pauses the producer at the high-water mark and resumes once drained below half', async () => {
    const onPause = vi.fn();
    const onResume = vi.fn();
    const inbox = new Inbox<Uint8Array, Error>({
      weigh: (m) => (m as Uint8Array).length,
      highWaterMark: 100,
      onPause,
      onResume,
    });
    inbox.push(new Uint8Array(60));
    expect(onPause).not.toHaveBeenCalled();
    inbox.push(new Uint8Array(60));
    expect(onPause).toHaveBeenCalledTimes(1);
    expect(inbox.bufferedWeight).toBe(120);
    inbox.push(new Uint8Array(10));
    expect(onPause).toHaveBeenCalledTimes(1);
    const iterator = inbox[Symbol.asyncIterator]();
    await iterator.next();
    expect(onResume).not.toHaveBeenCalled();
    await iterator.next();
    expect(onResume).toHaveBeenCalledTimes(1);
    expect(inbox.bufferedWeight).toBe(10);
  });

  it('lets handler exceptions propagate to the producer instead of swallowing them', () => {
    const inbox = new Inbox<number, Error>();
    inbox.setHandler(() => {
      throw new Error('handler bug');
    });
    expect(() => {
      inbox.push(1);
    }).toThrow('handler bug');
  });

  it('stays correct across many items (queue compaction)', () => {
    const inbox = new Inbox<number, Error>();
    for (let i = 0; i < 5000; i++) inbox.push(i);
    const seen: number[] = [];
    inbox.setHandler((r) => {
      if (r.ok) seen.push(r.value);
    });
    expect(seen.length).toBe(5000);
    expect(seen.every((v, i) => v === i)).toBe(true);
    expect(inbox.size).toBe(0);
  });

  it('a handler that throws while buffered items are handed over never wedges: the rest follows on a microtask, in order', async () => {
    let isPaused = false;
    const inbox = new Inbox<number, Error>({
      highWaterMark: 3,
      onPause: () => (isPaused = true),
      onResume: () => (isPaused = false),
    });
    for (const n of [1, 2, 3, 4]) inbox.push(n);
    expect(isPaused).toBe(true);
    const seen: number[] = [];
    expect(() => {
      inbox.setHandler((r) => {
        if (!r.ok) return;
        seen.push(r.value);
        if (r.value === 1) throw new Error('handler bug');
      });
    }).toThrow('handler bug');
    inbox.push(5);
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(isPaused).toBe(false);
    expect(inbox.size).toBe(0);
  });

  it('pushDeferred hands an item over on a later microtask, after the ones before it; snapshot copies what is buffered', async () => {
    const inbox = new Inbox<number, Error>();
    inbox.push(1);
    expect(inbox.snapshot()).toEqual([1]);
    expect(inbox.hasConsumer).toBe(false);
    const seen: number[] = [];
    inbox.setHandler((r) => {
      if (r.ok) seen.push(r.value);
    });
    expect(inbox.hasConsumer).toBe(true);
    inbox.pushDeferred(2);
    expect(seen).toEqual([1]);
    await Promise.resolve();
    expect(seen).toEqual([1, 2]);
  });
});

// The engine's decorator seam (the core README, "Building a decorator"), over the byte-stream
// link and an in-memory duplex pair with real backpressure.
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLostError, IoError, PauseAuthority } from '@ipcez/core';
import type { IpcezError } from '@ipcez/core';
import { createStreamConnection } from '@ipcez/core/stream';
import type { StreamConnection } from '@ipcez/core/stream';
import { duplexPair } from '../stream/duplex-pair.js';
import type { DuplexPair } from '../stream/duplex-pair.js';
import { Collector, frame, str, text } from '../stream/helpers.js';

const opened: StreamConnection[] = [];
const pairs: DuplexPair[] = [];

afterEach(() => {
  for (const connection of opened.splice(0)) connection.destroy();
  for (const p of pairs.splice(0)) {
    p.a.destroy();
    p.b.destroy();
  }
});

function connect(duplex: DuplexPair['a']): StreamConnection {
  const connection = createStreamConnection(duplex, { transport: 'unix', endpoint: '/seam.sock' });
  opened.push(connection);
  return connection;
}

function rig(): { a: StreamConnection; b: StreamConnection; p: DuplexPair } {
  const p = duplexPair();
  pairs.push(p);
  return { a: connect(p.a), b: connect(p.b), p };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function header(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0);
  return out;
}

describe('MessageConnection decorator seam', () => {
  it('observeReads sees each read batch before any of it is delivered, and what was buffered before it attached', async () => {
    const { b, p } = rig();
    // Read before any observer or consumer exists: buffered.
    p.a.write(Buffer.concat([frame(text('early1')), frame(text('early2'))]));
    await tick();
    const events: string[] = [];
    b.observeReads((messages) => events.push(`batch ${messages.map(str).join(',')}`));
    b.messageHandler((r) => {
      if (r.ok) events.push(`deliver ${str(r.message)}`);
    });
    p.a.write(Buffer.concat([frame(text('x')), frame(text('y')), frame(text('z'))]));
    await tick();
    p.a.write(frame(text('w')));
    await tick();
    expect(events).toEqual([
      'batch early1,early2',
      'deliver early1',
      'deliver early2',
      'batch x,y,z',
      'deliver x',
      'deliver y',
      'deliver z',
      'batch w',
      'deliver w',
    ]);
  });

  it('an observer that destroys the connection stops the batch from being delivered', async () => {
    const { b, p } = rig();
    const collector = new Collector(b);
    const failure = new IoError('decorator failed');
    b.observeReads(() => {
      b.destroy(failure);
    });
    p.a.write(frame(text('never')));
    expect(await collector.ended).toBe(failure);
    expect(collector.messages).toEqual([]);
  });

  it('queueControl writes control headers ahead of data not yet begun, merged, and alone when nothing else is pending', async () => {
    const p = duplexPair();
    pairs.push(p);
    const a = connect(p.a);
    const seen: Buffer[] = [];
    p.b.on('data', (chunk: Buffer) => seen.push(chunk));
    // Idle: the header goes out alone.
    a.queueControl(0x83000001);
    await tick();
    expect(Buffer.concat(seen).toString('hex')).toBe('83000001');
    seen.length = 0;
    // A lone write in flight, then a batch collecting: controls go ahead of the batch.
    const sends = [a.send(text('A')), a.send(text('B'))];
    const merge = (queued: number): number | undefined => (queued >>> 24 === 0x83 ? (queued + 2) >>> 0 : undefined);
    a.queueControl(0x83000001);
    a.queueControl(0x83000002, merge);
    await Promise.all(sends);
    await tick();
    const wire = Buffer.concat(seen).toString('hex');
    // A (already begun), then one merged ACK of 3, then B.
    expect(wire).toBe(`${frame(text('A')).toString('hex')}83000003${frame(text('B')).toString('hex')}`);
  });

  it('setControlHandler turns top-bit headers into control headers, in stream order, and its throw ends the connection', async () => {
    const { b, p } = rig();
    const events: string[] = [];
    b.setControlHandler((h) => events.push(`control ${h.toString(16)}`));
    b.messageHandler((r) => {
      if (r.ok) events.push(`data ${str(r.message)}`);
      else events.push(`end ${r.error.code}`);
    });
    p.a.write(Buffer.concat([header(0x82000002), frame(text('d1')), header(0x83000005)]));
    await tick();
    expect(events).toEqual(['control 82000002', 'control 83000005', 'data d1']);
    const protocolError = new ConnectionLostError('reset', 'bad control header (test)');
    b.setControlHandler(() => {
      throw protocolError;
    });
    p.a.write(header(0x8f000000));
    await tick();
    expect(events.at(-1)).toBe('end IPCEZ_ERR_CONNECTION_LOST');
    expect(b.state).toBe('closed');
    // Switched off, a top-bit header is a length over the limit again.
    const other = rig();
    const collector = new Collector(other.b);
    other.p.a.write(header(0x83000001));
    expect(await collector.ended).toMatchObject({ code: 'IPCEZ_ERR_FRAME_TOO_LARGE' });
  });

  it('a decoder failure that is not a protocol error ends the connection as an IoError, not a FrameTooLargeError', async () => {
    const { b, p } = rig();
    const collector = new Collector(b);
    const bug = new RangeError('Array buffer allocation failed (simulated)');
    b.setControlHandler(() => {
      throw bug;
    });
    p.a.write(header(0x83000001));
    const error = await collector.ended;
    expect(error).toBeInstanceOf(IoError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_IO' });
    expect((error as { cause?: unknown }).cause).toBe(bug);
  });

  it('holdSends keeps sends queued in order until released; close() drops the holds and flushes', async () => {
    const { a, b } = rig();
    const collector = new Collector(b);
    const hold = Symbol('negotiating');
    a.holdSends(hold);
    const sends = [a.send(text('1')), a.send(text('2'))];
    await tick();
    expect(collector.messages).toEqual([]);
    a.releaseSends(hold);
    await Promise.all(sends);
    await collector.until(2);
    a.holdSends(hold);
    const late = a.send(text('3'));
    await a.close();
    await late;
    expect(collector.messages.map(str)).toEqual(['1', '2', '3']);
  });

  it('onEnd runs once, synchronously, with the error sends reject with, before the handler gets it', async () => {
    const { a, b } = rig();
    const order: string[] = [];
    let ended: IpcezError | undefined;
    a.onEnd((error) => {
      ended = error;
      order.push('onEnd');
    });
    a.messageHandler((r) => {
      if (!r.ok) order.push('handler');
    });
    b.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['onEnd', 'handler']);
    expect(ended).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' });
    await expect(a.send(text('late'))).rejects.toBe(ended);
    let late: IpcezError | undefined;
    a.onEnd((error) => (late = error));
    expect(late).toBe(ended);
  });

  it('beforeEnd: a graceful close flushes, then waits for the waiter before it ends the write side, still reading and refusing new sends', async () => {
    const { a, b } = rig();
    const atB = new Collector(b);
    const atA = new Collector(a);
    let release!: () => void;
    let calls = 0;
    a.beforeEnd(() => {
      calls++;
      return new Promise<void>((resolve) => (release = resolve));
    });
    const accepted = a.send(text('accepted'));
    const closed = a.close();
    await expect(a.send(text('refused'))).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    await accepted;
    await atB.until(1);
    // While the waiter waits, the peer has not seen our end and can still talk to us.
    await b.send(text('answer'));
    await atA.until(1);
    await tick();
    expect(b.state).toBe('open');
    expect(calls).toBe(1);
    release();
    expect(await atB.ended).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' });
    await b.close();
    await closed;
    expect(atB.messages.map(str)).toEqual(['accepted']);
    expect(atA.messages.map(str)).toEqual(['answer']);
  });

  it('beforeEnd: the close timeout bounds a waiter that never settles; destroy() never calls it', async () => {
    const p = duplexPair();
    pairs.push(p);
    const a = createStreamConnection(p.a, { transport: 'unix', endpoint: '/seam.sock', closeTimeoutMs: 50 });
    opened.push(a);
    const b = connect(p.b);
    const atA = new Collector(a);
    a.beforeEnd(() => new Promise<void>(() => undefined));
    await a.close();
    expect(await atA.ended).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'local-close' });
    expect(atA.errors[0]?.message).toMatch(/did not finish within 50 ms/);
    const c = rig().a;
    let called = false;
    c.beforeEnd(() => {
      called = true;
      return Promise.resolve();
    });
    c.destroy();
    await tick();
    expect(called).toBe(false);
    expect(b.state).not.toBe('closing');
  });

  it("holdReading is a reason of its own: the caller's resumeReading does not release it", async () => {
    const { b, p } = rig();
    const collector = new Collector(b);
    const backlog = Symbol('backlog');
    b.holdReading(backlog);
    b.pauseReading();
    b.resumeReading();
    p.a.write(frame(text('held')));
    await tick();
    expect(collector.messages).toEqual([]);
    b.releaseReading(backlog);
    await collector.until(1);
    expect(collector.messages.map(str)).toEqual(['held']);
  });
});

describe('PauseAuthority', () => {
  it('pauses on the first reason and resumes on the last, ignoring repeats and strangers', () => {
    const calls: boolean[] = [];
    const authority = new PauseAuthority((isPaused) => calls.push(isPaused));
    const one = Symbol('one');
    const two = Symbol('two');
    authority.hold(one);
    authority.hold(one);
    authority.hold(two);
    authority.release(Symbol('stranger'));
    authority.release(one);
    expect(authority.isPaused).toBe(true);
    authority.release(two);
    expect(calls).toEqual([true, false]);
    expect(authority.isPaused).toBe(false);
  });
});

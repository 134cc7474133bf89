// ForwardingConnection: every member not overridden reaches the inner connection (a real
// engine over an in-memory duplex pair).
import { afterEach, describe, expect, it } from 'vitest';
import { ForwardingConnection } from '@ipcez/core';
import type { SendOptions } from '@ipcez/core';
import { createStreamConnection } from '@ipcez/core/stream';
import type { StreamConnection } from '@ipcez/core/stream';
import { duplexPair } from '../stream/duplex-pair.js';
import type { DuplexPair } from '../stream/duplex-pair.js';
import { Collector, str, text } from '../stream/helpers.js';

const opened: StreamConnection[] = [];
const pairs: DuplexPair[] = [];

afterEach(() => {
  for (const connection of opened.splice(0)) connection.destroy();
  for (const p of pairs.splice(0)) {
    p.a.destroy();
    p.b.destroy();
  }
});

class Counting extends ForwardingConnection {
  sent = 0;
  override async send(message: Uint8Array, options?: SendOptions): Promise<void> {
    await super.send(message, options);
    this.sent++;
  }
}

function rig(): { a: StreamConnection; b: StreamConnection } {
  const p = duplexPair();
  pairs.push(p);
  const a = createStreamConnection(p.a, { transport: 'unix', endpoint: '/fwd.sock', highWaterMark: 1234 });
  const b = createStreamConnection(p.b, { transport: 'unix', endpoint: '/fwd.sock' });
  opened.push(a, b);
  return { a, b };
}

describe('ForwardingConnection', () => {
  it('forwards the properties, sends, the handler, pausing and the close to the inner connection', async () => {
    const { a, b } = rig();
    const outer = new Counting(a);
    expect([outer.transport, outer.endpoint, outer.state, outer.highWaterMark, outer.maxMessageBytes]).toEqual([
      'unix',
      '/fwd.sock',
      'open',
      1234,
      a.maxMessageBytes,
    ]);
    expect(outer.remoteAddress).toBeUndefined();
    const atB = new Collector(b);
    await outer.send(text('one'));
    expect(outer.sent).toBe(1);
    expect(outer.bufferedAmount).toBe(a.bufferedAmount);
    await atB.until(1);
    const atOuter = new Collector(outer);
    outer.pauseReading();
    await b.send(text('held'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(atOuter.messages).toEqual([]);
    outer.resumeReading();
    await atOuter.until(1);
    expect(atOuter.messages.map(str)).toEqual(['held']);
    const closing = outer[Symbol.asyncDispose]();
    expect(a.state).toBe('closing');
    await b.close();
    await closing;
    expect(outer.state).toBe('closed');
    expect(atB.messages.map(str)).toEqual(['one']);
  });

  it('iterates the inner messages and destroys the inner connection', async () => {
    const { a, b } = rig();
    const outer = new ForwardingConnection(a);
    await b.send(text('x'));
    const iterator = outer[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(str(first.value as Uint8Array)).toBe('x');
    outer.destroy();
    expect(a.state).toBe('closed');
  });
});

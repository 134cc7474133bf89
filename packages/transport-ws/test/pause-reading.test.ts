import { afterEach, describe, expect, it } from 'vitest';
import type { Connection, Listener } from '@ipcez/core';
import { connectWs, listenWs } from '@ipcez/transport-ws';
import { Collector, nextConnection } from './helpers.js';

const open: (Connection | Listener)[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe('pauseReading / resumeReading', () => {
  it('stops delivering while paused and delivers what arrived, in order, on resume', async () => {
    const listener = await listenWs('ws://127.0.0.1:0/pause');
    open.push(listener);
    const acceptedP = nextConnection(listener);
    const client = await connectWs(listener.endpoint);
    open.push(client);
    const accepted = await acceptedP;
    const got = new Collector(accepted);
    const text = (m: Uint8Array): string => new TextDecoder().decode(m);
    await client.send(new TextEncoder().encode('before'));
    await got.until((c) => c.messages.length === 1);
    accepted.pauseReading?.();
    accepted.pauseReading?.(); // a flag, not a count
    for (let i = 0; i < 5; i++) await client.send(new TextEncoder().encode(`while paused ${i}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(got.messages.map(text)).toEqual(['before']);
    accepted.resumeReading?.();
    await got.until((c) => c.messages.length === 6);
    expect(got.messages.map(text)).toEqual(['before', ...Array.from({ length: 5 }, (_, i) => `while paused ${i}`)]);
  });
});

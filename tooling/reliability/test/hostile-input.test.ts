// Hostile input against a listener in its own process, which reports its RSS: random bytes,
// giant headers (and a control header on a seed-mode connection), truncated headers, slowloris,
// and a partial-frame flood (many connections each holding a large partial frame). The
// listener must survive, serve a normal client afterwards, and keep its memory under a bound
// derived from its configured caps, at its peak (the kernel's VmHWM) and after the flood.
// Waits are bounded only to stop a hang; nothing is timed.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { connect } from 'ipcez';
import { afterEach, describe, expect, test } from 'vitest';
import type { Child, ListenerStats } from './helpers.js';
import { isLinux, isLong, killAll, listenerStats, record, start, tempDir, until } from './helpers.js';

const MiB = 1024 * 1024;
const MAX_MESSAGE_BYTES = 4 * MiB;
/** The listener's caps (maxPartialBytes is the default, 64 MiB). */
const MAX_PARTIAL_BYTES = 64 * MiB;
/** Short enough to drop slowloris quickly, long enough that the flood's frames are all in. */
const FRAME_TIMEOUT_MS = 2000;
/**
 * Room for what is not partial frames: V8 heap growth, memory the allocator kept from earlier
 * rounds, and garbage not yet collected at the peak (the flood's 800 MiB arrive in 64 KiB read
 * buffers, and each refused connection leaves its interim buffer behind). Measured peaks were
 * 187-260 MiB over a 63 MiB baseline; without the cap the peak is the flood itself (900 MB).
 */
const SLACK = 192 * MiB;
// The bound covers the partial frames; each connection also costs its socket, buffers and
// engine (bounded by maxConnections, not by this bound), so longer runs repeat the same flood
// rather than widen it: 1,000 flood connections at once peaked at 335 MiB here.
const FLOOD_CONNECTIONS = 200;
const ROUNDS = isLong ? 5 : 1;

const cleanups: (() => void)[] = [];

afterEach(async () => {
  await killAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A raw client that writes `bytes` (optionally in pieces) and resolves once the server closed it. */
function hostile(endpoint: string): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect(endpoint);
  // The listener closes these mid-write: EPIPE / ECONNRESET are the expected outcome.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      resolve();
    }),
  );
  return { socket, closed };
}

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length >>> 0);
  return b;
}

async function echo(endpoint: string): Promise<void> {
  const socket = await connect(endpoint, { target: 'local', os: 'linux', ack: true });
  try {
    const payload = randomBytes(1000);
    const echoed = (async () => {
      for await (const message of socket) return message;
      return undefined;
    })();
    await socket.sendMessage(payload);
    expect(Buffer.from((await echoed)!)).toEqual(payload);
  } finally {
    await socket.disconnect();
  }
}

function total(counts: Record<string, number>, code: string): number {
  return counts[code] ?? 0;
}

async function settle(listener: Child, what: string): Promise<ListenerStats> {
  let now = await listenerStats(listener);
  await until(async () => {
    now = await listenerStats(listener);
    return now.live === 0;
  }, what);
  return now;
}

describe.runIf(isLinux)('hostile input against a listener process', () => {
  test('survives random bytes, giant and truncated headers, slowloris and a partial-frame flood, then serves a normal client, its RSS bounded by its caps', async () => {
    const started = Date.now();
    const { dir, cleanup } = tempDir('hostile');
    cleanups.push(cleanup);
    const endpoint = `${dir}/h.sock`;
    const listener = start('echo-listener.mjs', [endpoint, 'on', JSON.stringify({ frameTimeoutMs: FRAME_TIMEOUT_MS })]);
    await listener.line((l) => l.startsWith('listening '));
    await echo(endpoint);
    const baseline = await listenerStats(listener, 'gc');
    const fds = baseline.fds;
    let rssPeak = 0;

    for (let round = 0; round < ROUNDS; round++) {
      listener.process.stdin?.write('resetpeak\n');
      await listener.line((l) => l === 'ok' && listener.lines.lastIndexOf(l) === listener.lines.length - 1);

      // Random bytes: a random header is almost always over the limit (closed at once); the
      // rest leave a partial frame the frame timeout drops.
      const random = Array.from({ length: 50 }, () => {
        const client = hostile(endpoint);
        client.socket.write(randomBytes(64 * 1024));
        return client;
      });
      // Giant headers: over the limit, the largest length there is, and a control header (top
      // bit set: ACK 1) on a connection in seed mode (its first frame was data).
      const giant = [[header(MAX_MESSAGE_BYTES + 1)], [header(0xffffffff)], [header(0), header(0x83000001)]].map(
        (parts) => {
          const client = hostile(endpoint);
          client.socket.write(Buffer.concat(parts));
          return client;
        },
      );
      // Truncated headers: two bytes, then silence (the frame timeout), or then an end.
      const truncated = Array.from({ length: 10 }, (_, i) => {
        const client = hostile(endpoint);
        client.socket.write(Buffer.from([0, 0]));
        if (i % 2 === 0) client.socket.end();
        return client;
      });
      // Slowloris: a 1000-byte frame, one byte every 10 ms (it would take 10 s); the frame
      // timeout drops it however steadily the bytes come.
      const slow = Array.from({ length: 20 }, () => {
        const client = hostile(endpoint);
        client.socket.write(header(1000));
        const timer = setInterval(() => {
          if (!client.socket.destroyed) client.socket.write(Buffer.from([0x2a]));
        }, 10);
        void client.closed.then(() => {
          clearInterval(timer);
        });
        cleanups.push(() => {
          clearInterval(timer);
        });
        return client;
      });
      // Partial-frame flood: each connection announces 4 MiB and sends all but its last byte.
      const body = Buffer.alloc(MAX_MESSAGE_BYTES - 1, 0x55);
      const flood = Array.from({ length: FLOOD_CONNECTIONS }, () => {
        const client = hostile(endpoint);
        client.socket.write(header(MAX_MESSAGE_BYTES));
        client.socket.write(body);
        return client;
      });

      await Promise.all([...random, ...giant, ...truncated, ...slow].map((c) => c.closed));
      const during = await listenerStats(listener);
      // The flood's connections that fit in the budget hold their partial frame until the
      // frame timeout; the others were closed when they would have passed it.
      await Promise.all(flood.map((c) => c.closed));
      const after = await settle(listener, 'every hostile connection to end');

      expect(total(after.ends, 'IPCEZ_ERR_FRAME_TOO_LARGE')).toBeGreaterThanOrEqual(3);
      expect(total(after.ends, 'IPCEZ_ERR_FRAME_TIMEOUT')).toBeGreaterThanOrEqual(20 + 5);
      expect(total(after.ends, 'IPCEZ_ERR_PARTIAL_FRAME_LIMIT')).toBeGreaterThan(0);
      // Its peak, measured by the kernel: the partial frames it may hold, one decoder's growth
      // past the cap, and the slack; never anything like the flood's 800 MiB.
      const bound = baseline.rss + MAX_PARTIAL_BYTES + 2 * MAX_MESSAGE_BYTES + SLACK;
      rssPeak = Math.max(rssPeak, after.peakRss);
      expect(after.peakRss, `peak RSS ${after.peakRss} vs bound ${bound} (during: ${during.rss})`).toBeLessThan(bound);
      // After the flood, with the garbage collected, what it still holds is bounded the same way.
      const collected = await listenerStats(listener, 'gc');
      expect(collected.rss).toBeLessThan(bound);
      expect(collected.fds).toBe(fds);
      await echo(endpoint);
      record({
        scenario: `hostile input (round ${round + 1})`,
        messages: 2,
        losses: 0,
        rssPeakBytes: after.peakRss,
        fds: collected.fds,
        durationMs: Date.now() - started,
        notes: `ends ${JSON.stringify(after.ends)}; RSS after gc ${collected.rss}, baseline ${baseline.rss}`,
      });
    }
    listener.process.stdin?.write('close\n');
    expect(await listener.exited).toBe(0);
    expect(rssPeak).toBeGreaterThan(0);
  });
});

// One benchmark peer process: `node peer.js <json PeerConfig>`. A server prints
// `ready <address>` and serves until its stdin ends; a client runs one measurement against that
// address and prints `result <json>`. The same steps for every library (see links.ts).
//
// Server, per connection: `rtt` echoes every message; the other modes count data messages and
// answer the end marker (an empty message) with the count, as text. In `rss` mode the server
// is a slow reader: it spins `slowMsPerMiB` per MiB read, so its event loop stops reading and
// the sender meets the library's backpressure (or, without any, buffers).
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { busyWait, endMarkerFor, open, payloadFor, serve, textOf } from './links.js';
import type { Library, Link, Msg, OpenContext } from './links.js';

export type Mode = 'throughput' | 'rtt' | 'many' | 'rss';

export interface PeerConfig {
  readonly role: 'server' | 'client';
  readonly library: Library;
  readonly mode: Mode;
  /**
   * Socket path (server). A client reads the address the server printed from its stdin's
   * first line, so both processes can start at the same time.
   */
  readonly address: string;
  /** Message size in bytes. */
  readonly size: number;
  /** throughput, many: timed sending; the warm-up before it sends for `warmupMs`. */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** many: client connections. */
  readonly connections: number;
  /** rtt: round trips measured, after `warmupRoundTrips` not measured. */
  readonly roundTrips: number;
  readonly warmupRoundTrips: number;
  /** rss: bytes offered. */
  readonly totalBytes: number;
  /** rss: how long the server spins per MiB read. */
  readonly slowMsPerMiB: number;
}

/** What a client prints. */
export interface PeerResult {
  /** throughput, many, rss: data messages the server counted, and the time until its answer. */
  messages?: number;
  ms?: number;
  /** rtt: round-trip times in µs, sorted. */
  roundTripsUs?: number[];
  /** rss: resident set before sending, and the process's peak resident set, in bytes. */
  rssBefore?: number;
  rssPeak?: number;
}

function inbox(link: Link): () => Promise<Msg> {
  if (link.next) return link.next;
  const queue: Msg[] = [];
  let wake: (() => void) | undefined;
  link.onMessage((message) => {
    queue.push(message);
    const w = wake;
    wake = undefined;
    w?.();
  });
  return async () => {
    while (queue.length === 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    return queue.shift()!;
  };
}

async function runServer(config: PeerConfig): Promise<void> {
  const slowMs = config.mode === 'rss' ? (config.slowMsPerMiB * config.size) / (1024 * 1024) : 0;
  const served = await serve(config.library, config.address, config.size, (link) => {
    let count = 0;
    link.onMessage((message) => {
      if (config.mode === 'rtt') {
        void link.send(message)?.catch(() => undefined);
        return;
      }
      if (message.length === 0) {
        const answer = link.send(String(count));
        if (answer !== undefined) answer.catch(() => undefined);
        count = 0;
        return;
      }
      if (slowMs > 0) busyWait(slowMs);
      count++;
    });
  });
  process.stdout.write(`ready ${served.address}\n`);
  await once(createInterface({ input: process.stdin }), 'close');
  await served.close();
}

/** Sends `payload` until `untilMs` (performance.now()), then the end marker; returns how many. */
async function stream(link: Link, payload: Msg, end: Msg, untilMs: number): Promise<number> {
  // Look at the clock every ~64 KiB of payload, not every message.
  const step = Math.max(1, Math.floor((64 * 1024) / Math.max(1, payload.length)));
  let sent = 0;
  while (performance.now() < untilMs) {
    for (let i = 0; i < step; i++) {
      const wait = link.send(payload);
      sent++;
      if (wait !== undefined) await wait;
    }
  }
  const wait = link.send(end);
  if (wait !== undefined) await wait;
  await link.flush();
  return sent;
}

async function counted(next: () => Promise<Msg>, sent: number): Promise<number> {
  const answer = Number(textOf(await next()));
  if (answer !== sent) throw new Error(`the server counted ${answer} messages, the client sent ${sent}`);
  return answer;
}

async function runClient(given: PeerConfig): Promise<PeerResult> {
  const lines = createInterface({ input: process.stdin });
  const [address] = (await once(lines, 'line')) as [string];
  lines.close();
  const config = { ...given, address };
  const context: OpenContext = { opened: 0 };
  const payload = payloadFor(config.library, config.size);
  const end = endMarkerFor(config.library);
  const links: Link[] = [];
  try {
    const linkCount = config.mode === 'many' ? config.connections : 1;
    for (let i = 0; i < linkCount; i++) links.push(await open(config.library, config.address, config.size, context));
    const inboxes = links.map(inbox);
    switch (config.mode) {
      case 'throughput':
      case 'many': {
        const all = async (ms: number): Promise<number> => {
          const until = performance.now() + ms;
          const counts = await Promise.all(
            links.map(async (link, i) => counted(inboxes[i]!, await stream(link, payload, end, until))),
          );
          return counts.reduce((a, b) => a + b, 0);
        };
        await all(config.warmupMs);
        const start = performance.now();
        const messages = await all(config.durationMs);
        return { messages, ms: performance.now() - start };
      }
      case 'rtt': {
        const link = links[0]!;
        const next = inboxes[0]!;
        const times: number[] = [];
        for (let i = 0; i < config.warmupRoundTrips + config.roundTrips; i++) {
          const start = performance.now();
          await Promise.all([link.sendAndWait(payload), next()]);
          if (i >= config.warmupRoundTrips) times.push((performance.now() - start) * 1000);
        }
        return { roundTripsUs: times.sort((a, b) => a - b) };
      }
      case 'rss': {
        const link = links[0]!;
        const rssBefore = process.memoryUsage.rss();
        const total = Math.floor(config.totalBytes / config.size);
        const start = performance.now();
        for (let i = 0; i < total; i++) {
          const wait = link.send(payload);
          if (wait !== undefined) await wait;
        }
        const wait = link.send(end);
        if (wait !== undefined) await wait;
        await link.flush();
        const messages = await counted(inboxes[0]!, total);
        return {
          messages,
          ms: performance.now() - start,
          rssBefore,
          rssPeak: process.resourceUsage().maxRSS * 1024,
        };
      }
      default:
        throw new Error(`unknown mode ${String(config.mode satisfies never)}`);
    }
  } finally {
    for (const link of links) await link.close().catch(() => undefined);
  }
}

const config = JSON.parse(process.argv[2] ?? '{}') as PeerConfig;
if (config.role === 'server') {
  await runServer(config);
  process.exit(0);
} else {
  const result = await runClient(config);
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
  // node-ipc and zeromq keep handles (retry timers, the zmq context) past their close.
  process.exit(0);
}

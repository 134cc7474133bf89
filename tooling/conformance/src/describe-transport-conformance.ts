import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectOptions, Connection, IpcezError, ListenOptions, Listener, Transport } from '@ipcez/core';
import { MAX_MESSAGE_BYTES } from '@ipcez/framing';
import { Collector } from './collector.js';
import { STREAM_PARTIAL_FRAME_BYTES, STREAM_PARTIAL_FRAME_PEER } from './peer-scripts.js';

/** The "peer killed mid-frame" child process of a {@link ConformanceSubject}. */
export interface PartialFramePeer {
  /**
   * ES module source run as `node --input-type=module -e <script> <endpoint>` (cwd: the
   * transport's package directory, so its dependencies resolve). It must connect to the
   * listener endpoint in `process.argv[1]`, send one whole message whose payload is the
   * UTF-8 text `whole`, then part of a second frame, print a line `ready` on stdout once
   * those bytes are with the OS, and stay alive until it is killed.
   */
  readonly script: string;
  /** Bytes of the partial frame the script writes, if the error message must name them. */
  readonly partialBytes?: number;
}

/** What a transport gives the conformance suite. */
export interface ConformanceSubject {
  /** The transport under test (connect, listen, kind, isSupported). */
  readonly transport: Transport;
  /**
   * A fresh endpoint string, as a user would pass it, unique per call and short (Unix socket
   * paths ≤ 107 bytes): a socket path, a pipe name, `ws://127.0.0.1:0/path`. The suite
   * listens on it and connects to `listener.endpoint` (the resolved one, with the real port).
   */
  makeEndpoint(): string;
  /**
   * Whether to run the suite in this process; default `transport.isSupported()`. When false
   * the suite is registered as skipped.
   */
  readonly isSupported?: boolean;
  /**
   * The child process for "a peer killed mid-frame". Default: a `node:net` client writing a
   * partial length-prefixed frame ({@link STREAM_PARTIAL_FRAME_PEER}), right for the local
   * transports; WebSocket supplies its own (a raw TCP client writing half a WebSocket frame).
   */
  readonly partialFramePeer?: PartialFramePeer;
  /** Options added to every `connect` (e.g. a TLS CA for `wss:`). */
  readonly connectOptions?: ConnectOptions;
  /** Options added to every `listen`. */
  readonly listenOptions?: ListenOptions;
  /** Timeout of the heavy scenarios (100,000 messages, 4 MiB, many clients). Default 60 s. */
  readonly heavyTimeoutMs?: number;
  /**
   * Options (added to `connectOptions`) that turn on a fast keepalive, for transports that
   * have one (WebSocket): the suite then checks that a connection whose reader is paused
   * is not killed by its own keepalive. Omit for transports without keepalive.
   */
  readonly keepaliveOptions?: ConnectOptions;
  /**
   * Messages in the "order under load" scenario; default 100,000. The acknowledged wrapper
   * uses fewer: each of its sends waits for the recipient's ack.
   */
  readonly orderingCount?: number;
  /**
   * Whether the subject acknowledges delivery (the acked wrapper): a send already written
   * when its peer vanished then rejects with `RecipientAckTimeoutError` (it cannot know
   * whether the ack came) instead of `ConnectionLostError`.
   */
  readonly isAcknowledged?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (s: string): Uint8Array => encoder.encode(s);
const str = (b: Uint8Array): string => decoder.decode(b);

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function readU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

/** Hands out a listener's accepted connections in order. */
class Acceptor {
  readonly #accepted: Connection[] = [];
  readonly #waiters: ((connection: Connection) => void)[] = [];

  constructor(listener: Listener) {
    listener.connectionHandler((connection) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(connection);
      else this.#accepted.push(connection);
    });
  }

  next(): Promise<Connection> {
    const connection = this.#accepted.shift();
    if (connection) return Promise.resolve(connection);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** The OS server handle (net, http or https `Server`) listening on `endpoint`, found among the process's active handles. */
function findServerHandle(endpoint: string): EventEmitter {
  const getHandles = (process as unknown as { _getActiveHandles: () => unknown[] })._getActiveHandles;
  let port: number | undefined;
  if (/^wss?:/.test(endpoint)) port = Number(new URL(endpoint).port);
  for (const handle of getHandles.call(process)) {
    const server = handle as { address?: () => unknown; listening?: boolean } & EventEmitter;
    if (typeof server.address !== 'function' || server.listening !== true) continue;
    const address = server.address();
    if (port !== undefined) {
      if ((address as { port?: number } | null)?.port === port) return server;
    } else if (address === endpoint || isPrivateBindOf(address, endpoint)) {
      return server;
    }
  }
  throw new Error(`no listening server handle for ${endpoint}`);
}

/**
 * Whether `address` is the private path a Unix listener bound before publishing its socket
 * file at `endpoint` under the same directory (`<dir>/.ipcez-XXXXXX/s`).
 */
function isPrivateBindOf(address: unknown, endpoint: string): boolean {
  if (typeof address !== 'string') return false;
  const dir = endpoint.slice(0, endpoint.lastIndexOf('/') + 1);
  return address.startsWith(`${dir}.ipcez-`);
}

/**
 * Makes a listening server fail after it started, the way an accept failure does: an
 * `'error'` event on the OS server handle (EMFILE), which no test can provoke on demand.
 */
function failServer(endpoint: string): Error {
  const error = Object.assign(new Error('accept EMFILE (injected by the conformance suite)'), {
    code: 'EMFILE',
    errno: -24,
    syscall: 'accept',
  });
  findServerHandle(endpoint).emit('error', error);
  return error;
}

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/** Resources active now beyond those active in `before` (one that went away is fine). */
function leakedSince(before: Map<string, number>): string[] {
  const leaked: string[] = [];
  for (const [name, count] of resourceCounts()) {
    const extra = count - (before.get(name) ?? 0);
    if (extra > 0) leaked.push(`${name} x${extra}`);
  }
  return leaked;
}

/**
 * Registers the transport conformance suite (Vitest `describe`/`it` blocks) for one
 * transport. Call it at the top level of the transport's `test/conformance.test.ts`.
 *
 * Every scenario listens with `subject.transport.listen(subject.makeEndpoint())`, connects
 * to `listener.endpoint`, and closes everything it opened afterwards, also when it fails;
 * after each scenario `process.getActiveResourcesInfo()` must hold nothing it did not hold before.
 *
 * @param name - the suite's title (e.g. `'unix'`).
 * @param subject - {@link ConformanceSubject}.
 * @example
 * ```ts
 * describeTransportConformance('unix', { transport: unixTransport, makeEndpoint: () => path.join(dir, `c${n++}.sock`) });
 * ```
 */
export function describeTransportConformance(name: string, subject: ConformanceSubject): void {
  const supported = subject.isSupported ?? subject.transport.isSupported();
  const heavy = subject.heavyTimeoutMs ?? 60_000;
  const peer = subject.partialFramePeer ?? {
    script: STREAM_PARTIAL_FRAME_PEER,
    partialBytes: STREAM_PARTIAL_FRAME_BYTES,
  };

  describe.skipIf(!supported)(`${name}: transport conformance`, () => {
    const listeners: Listener[] = [];
    const connections: Connection[] = [];
    const children: ChildProcess[] = [];
    let before = new Map<string, number>();

    beforeEach(() => {
      before = resourceCounts();
    });

    afterEach(async () => {
      for (const child of children.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      }
      await Promise.all(connections.splice(0).map((c) => c.close()));
      await Promise.all(listeners.splice(0).map((l) => l.close()));
      // No leaked handles: wait (bounded) for handle closes to land, then compare.
      let leaked = leakedSince(before);
      for (let i = 0; i < 100 && leaked.length > 0; i++) {
        await sleep(20);
        leaked = leakedSince(before);
      }
      expect(leaked, 'resources active after the scenario that were not before it').toEqual([]);
    });

    async function listen(options: ListenOptions = {}): Promise<Listener> {
      const listener = await subject.transport.listen(subject.makeEndpoint(), {
        ...subject.listenOptions,
        ...options,
      });
      listeners.push(listener);
      return listener;
    }

    async function connect(endpoint: string, options: ConnectOptions = {}): Promise<Connection> {
      const connection = await subject.transport.connect(endpoint, {
        ...subject.connectOptions,
        ...options,
      });
      connections.push(connection);
      return connection;
    }

    async function pair(
      listenOptions: ListenOptions = {},
      connectOptions: ConnectOptions = {},
    ): Promise<{ listener: Listener; client: Connection; server: Connection }> {
      const listener = await listen(listenOptions);
      const acceptor = new Acceptor(listener);
      const client = await connect(listener.endpoint, connectOptions);
      const server = await acceptor.next();
      connections.push(server);
      return { listener, client, server };
    }

    /**
     * Starts the "peer killed mid-frame" child against a fresh listener and waits until it
     * wrote its whole message and the partial frame; returns it and the accepted connection.
     */
    async function startPartialFramePeer(): Promise<{ child: ChildProcess; server: Connection }> {
      const listener = await listen();
      const acceptor = new Acceptor(listener);
      const child = spawn(process.execPath, ['--input-type=module', '-e', peer.script, listener.endpoint], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const server = await acceptor.next();
      connections.push(server);
      let out = '';
      child.stdout.setEncoding('utf8');
      for await (const chunk of child.stdout) {
        out += chunk as string;
        if (out.includes('ready')) break;
      }
      return { child, server };
    }

    /** Echoes every message back on `connection`. */
    function echo(connection: Connection): void {
      connection.messageHandler((result) => {
        if (result.ok) connection.send(result.message).catch(() => undefined);
      });
    }

    it('accepts a connection: both ends open, with the transport kind and the resolved endpoint', async () => {
      const listener = await listen();
      expect(listener.isListening).toBe(true);
      expect(listener.transport).toBe(subject.transport.kind);
      expect(typeof listener.endpoint).toBe('string');
      const iterator = listener[Symbol.asyncIterator]();
      const client = await connect(listener.endpoint);
      const accepted = await iterator.next();
      expect(accepted.done).toBe(false);
      const server = accepted.value as Connection;
      connections.push(server);
      for (const connection of [client, server]) {
        expect(connection.state).toBe('open');
        expect(connection.transport).toBe(subject.transport.kind);
        expect(connection.bufferedAmount).toBe(0);
        expect(connection.maxMessageBytes).toBe(MAX_MESSAGE_BYTES);
      }
      expect(client.endpoint).toBe(listener.endpoint);
    });

    it('echoes messages in both directions', async () => {
      const { client, server } = await pair();
      echo(server);
      const atClient = new Collector(client);
      await server.send(text('hello from the server'));
      await client.send(text('ping'));
      await atClient.until(2);
      expect(atClient.messages.map(str)).toEqual(['hello from the server', 'ping']);
    });

    it(
      `keeps the order of ${subject.orderingCount ?? 100_000} messages sent without awaiting, echoed back under load`,
      async () => {
        const { client, server } = await pair();
        echo(server);
        const atClient = new Collector(client);
        const count = subject.orderingCount ?? 100_000;
        const sends: Promise<void>[] = [];
        for (let i = 0; i < count; i++) sends.push(client.send(u32(i)));
        await Promise.all(sends);
        await atClient.until(count);
        let inOrder = 0;
        for (let i = 0; i < count; i++) if (readU32(atClient.messages[i]!) === i) inOrder++;
        expect(inOrder).toBe(count);
      },
      heavy,
    );

    it(
      'carries messages of 0 bytes and of exactly 4 MiB, both ways',
      async () => {
        const { client, server } = await pair();
        echo(server);
        const atClient = new Collector(client);
        const big = pattern(MAX_MESSAGE_BYTES, 11);
        await Promise.all([client.send(new Uint8Array(0)), client.send(big), client.send(new Uint8Array(0))]);
        await atClient.until(3);
        expect(atClient.messages.map((m) => m.length)).toEqual([0, MAX_MESSAGE_BYTES, 0]);
        expect(sameBytes(atClient.messages[1]!, big)).toBe(true);
      },
      heavy,
    );

    it('rejects a send over the limit with FrameTooLargeError and stays usable', async () => {
      const { client, server } = await pair();
      const atServer = new Collector(server);
      await expect(client.send(new Uint8Array(MAX_MESSAGE_BYTES + 1))).rejects.toMatchObject({
        code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
        size: MAX_MESSAGE_BYTES + 1,
        limit: MAX_MESSAGE_BYTES,
      });
      await client.send(text('still fine'));
      await atServer.until(1);
      expect(atServer.messages.map(str)).toEqual(['still fine']);
      expect(client.state).toBe('open');
    });

    it('closes a connection that receives a message over its limit, reporting one FrameTooLargeError', async () => {
      const { client, server } = await pair({ maxMessageBytes: 1024 });
      expect(server.maxMessageBytes).toBe(1024);
      const atServer = new Collector(server);
      const atClient = new Collector(client);
      await client.send(text('small'));
      client.send(new Uint8Array(2000)).catch(() => undefined);
      const error = await atServer.ended;
      expect(error).toMatchObject({
        code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
        size: 2000,
        limit: 1024,
      });
      expect(atServer.messages.map(str)).toEqual(['small']);
      expect(await atClient.ended).toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
      });
      expect(atServer.errors).toHaveLength(1);
      expect(atClient.errors).toHaveLength(1);
    });

    it(
      'serves many concurrent clients, each getting its own echoes',
      async () => {
        const listener = await listen();
        listener.connectionHandler((connection) => {
          connections.push(connection);
          echo(connection);
        });
        const clients = await Promise.all(Array.from({ length: 24 }, () => connect(listener.endpoint)));
        await Promise.all(
          clients.map(async (client, id) => {
            const at = new Collector(client);
            // The echoes are the point here, not the send results (on a Windows acked wrapper, 24
            // connections share one binary event per endpoint and some acks collapse).
            for (let i = 0; i < 50; i++) client.send(text(`${id}:${i}`)).catch(() => undefined);
            await at.until(50);
            expect(at.messages.map(str)).toEqual(Array.from({ length: 50 }, (_, i) => `${id}:${i}`));
          }),
        );
      },
      heavy,
    );

    it(
      'reports a peer process killed mid-frame as one ConnectionLostError, with nothing partial delivered',
      async () => {
        const { child, server } = await startPartialFramePeer();
        const atServer = new Collector(server);
        await atServer.until(1);
        child.kill('SIGKILL');
        const error = await atServer.ended;
        expect(error.code).toBe('IPCEZ_ERR_CONNECTION_LOST');
        expect(['peer-closed', 'reset']).toContain((error as IpcezError & { reason: string }).reason);
        if (peer.partialBytes !== undefined) expect(error.message).toContain(`${peer.partialBytes} bytes`);
        expect(atServer.messages.map(str)).toEqual(['whole']);
        expect(atServer.errors).toHaveLength(1);
        await sleep(20);
        expect(atServer.resultsAfterEnd).toBe(0);
      },
      heavy,
    );

    it('close() is idempotent: same promise, one terminal result, no error on repeat', async () => {
      const { listener, client, server } = await pair();
      const atClient = new Collector(client);
      const atServer = new Collector(server);
      const closing = client.close();
      expect(client.close()).toBe(closing);
      await closing;
      await client.close();
      client.destroy();
      expect(client.state).toBe('closed');
      expect(await atClient.ended).toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
        reason: 'local-close',
      });
      expect(await atServer.ended).toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
        reason: 'peer-closed',
      });
      expect(atClient.errors).toHaveLength(1);
      const listenerClosing = listener.close();
      expect(listener.close()).toBe(listenerClosing);
      await listenerClosing;
      expect(listener.isListening).toBe(false);
      await expect(client.send(text('late'))).rejects.toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
      });
    });

    it('delivers everything sent before a graceful close, then the peer sees peer-closed', async () => {
      const { client, server } = await pair();
      const atServer = new Collector(server);
      // What is checked is delivery; on an acknowledged subject a send whose ack is still
      // outstanding when the close completes rejects, which is not this scenario's business.
      const ignore = (): undefined => undefined;
      client.send(text('a')).catch(ignore);
      client.send(pattern(200_000, 3)).catch(ignore);
      client.send(text('z')).catch(ignore);
      await client.close();
      expect(await atServer.ended).toMatchObject({ reason: 'peer-closed' });
      expect(atServer.messages.map((m) => m.length)).toEqual([1, 200_000, 1]);
    });

    it('rejects pending sends with ConnectionLostError when the connection is destroyed, and later sends too', async () => {
      const { client } = await pair();
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 16; i++) sends.push(client.send(new Uint8Array(512 * 1024)));
      client.destroy();
      const results = await Promise.allSettled(sends);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of rejected) expect(r.reason).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
      await expect(client.send(text('late'))).rejects.toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
      });
    });

    it('rejects pending sends with ConnectionLostError when the peer goes away', async () => {
      const { client, server } = await pair();
      // The server never reads (no handler, reading pauses at its high-water mark), so the
      // client's queue fills; then the server connection is destroyed.
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 32; i++) sends.push(client.send(new Uint8Array(512 * 1024)));
      await sleep(50);
      server.destroy();
      const results = await Promise.allSettled(sends);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      const allowed =
        subject.isAcknowledged === true
          ? ['IPCEZ_ERR_CONNECTION_LOST', 'IPCEZ_ERR_ACK_TIMEOUT']
          : ['IPCEZ_ERR_CONNECTION_LOST'];
      for (const r of rejected) expect(allowed).toContain((r.reason as IpcezError).code);
    });

    it('rejects connect with the abort reason when the signal is aborted before or during the attempt', async () => {
      const listener = await listen();
      const early = new Error('aborted early');
      await expect(connect(listener.endpoint, { signal: AbortSignal.abort(early) })).rejects.toBe(early);
      const controller = new AbortController();
      const late = new Error('aborted during connect');
      const attempt = connect(listener.endpoint, { signal: controller.signal });
      controller.abort(late);
      await expect(attempt).rejects.toBe(late);
    });

    it('fails to connect where no server listens with IoError IPCEZ_ERR_IO and the OS code reachable', async () => {
      const listener = await listen();
      const endpoint = listener.endpoint;
      await listener.close();
      const error = await connect(endpoint).then(
        () => undefined,
        (e: unknown) => e as IpcezError & { osCode?: string; cause?: unknown },
      );
      expect(error).toBeDefined();
      expect(error!.code).toBe('IPCEZ_ERR_IO');
      expect(typeof error!.osCode).toBe('string');
      expect(error!.cause).toBeInstanceOf(Error);
    });

    it('refuses to listen where a live server answers, with EndpointInUseError, leaving that server working', async () => {
      const { listener, client, server } = await pair();
      await expect(subject.transport.listen(listener.endpoint, subject.listenOptions)).rejects.toMatchObject({
        code: 'IPCEZ_ERR_ENDPOINT_IN_USE',
      });
      echo(server);
      const atClient = new Collector(client);
      await client.send(text('still served'));
      await atClient.until(1);
      const another = await connect(listener.endpoint);
      expect(another.state).toBe('open');
    });

    it('keeps messages that arrive before the handler is set, then delivers them in order and one end', async () => {
      const { client, server } = await pair();
      await client.send(text('1'));
      await client.send(text('2'));
      await client.send(text('3'));
      await client.close();
      await sleep(50);
      const atServer = new Collector(server);
      await atServer.ended;
      expect(atServer.messages.map(str)).toEqual(['1', '2', '3']);
      expect(atServer.errors).toHaveLength(1);
      expect(atServer.errors[0]).toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
        reason: 'peer-closed',
      });
      await sleep(20);
      expect(atServer.resultsAfterEnd).toBe(0);
    });

    it('closes the accepted connections when the listener closes, and ends listener iteration', async () => {
      const listener = await listen();
      const iterator = listener[Symbol.asyncIterator]();
      const client = await connect(listener.endpoint);
      const accepted = await iterator.next();
      const server = accepted.value as Connection;
      const atClient = new Collector(client);
      await listener.close();
      expect(server.state).toBe('closed');
      expect(await atClient.ended).toMatchObject({
        code: 'IPCEZ_ERR_CONNECTION_LOST',
      });
      expect((await iterator.next()).done).toBe(true);
    });
    // ---- One close policy, one clean-end rule, one pause authority (issue 9) ----

    it('close policy: messages that arrived before close() are still delivered after it, then local-close', async () => {
      const { client, server } = await pair();
      // Some of them still in the OS (reading paused), some already read: all are delivered.
      await server.send(text('m0'));
      await sleep(20);
      client.pauseReading?.();
      // Not awaited: on an acknowledged connection they settle only once the client reads.
      for (let i = 1; i < 10; i++) server.send(text(`m${i}`)).catch(() => undefined);
      await sleep(50);
      const closing = client.close();
      const atClient = new Collector(client);
      await closing;
      expect(atClient.messages.map(str)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
      expect(await atClient.ended).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'local-close' });
      expect(atClient.errors).toHaveLength(1);
    });

    it('clean end: async iteration ends normally when the peer closes gracefully at a message boundary', async () => {
      const { client, server } = await pair();
      await client.send(text('one'));
      await client.send(text('two'));
      await client.close();
      const got: string[] = [];
      for await (const message of server) got.push(str(message));
      expect(got).toEqual(['one', 'two']);
      expect(server.state).toBe('closed');
    });

    it(
      'truncated stream: async iteration throws ConnectionLostError when the peer dies inside a message',
      async () => {
        const { child, server } = await startPartialFramePeer();
        const got: string[] = [];
        const iterating = (async () => {
          for await (const message of server) {
            got.push(str(message));
            child.kill('SIGKILL');
          }
        })();
        const error = await iterating.then(
          () => undefined,
          (e: unknown) => e as IpcezError,
        );
        expect(got).toEqual(['whole']);
        expect(error, 'iteration must throw on a truncated stream').toBeDefined();
        expect(error!.code).toBe('IPCEZ_ERR_CONNECTION_LOST');
      },
      heavy,
    );

    it('half-close: a peer that ends its side ends the connection; everything before it is delivered, later sends reject', async () => {
      const { client, server } = await pair();
      client.send(text('a')).catch(() => undefined);
      client.send(text('b')).catch(() => undefined);
      const clientClosed = client.close();
      const atServer = new Collector(server);
      expect(await atServer.ended).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'peer-closed' });
      expect(atServer.messages.map(str)).toEqual(['a', 'b']);
      await expect(server.send(text('too late'))).rejects.toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
      await clientClosed;
      expect(server.state).toBe('closed');
    });

    it('wait: false rejects with SendBufferFullError at the high-water mark and queues nothing', async () => {
      const { client, server } = await pair({}, { highWaterMark: 1024 });
      const atServer = new Collector(server);
      const first = client.send(pattern(256 * 1024, 1));
      expect(client.bufferedAmount).toBeGreaterThanOrEqual(1024);
      await expect(client.send(text('dropped'), { wait: false })).rejects.toMatchObject({
        code: 'IPCEZ_ERR_SEND_BUFFER_FULL',
      });
      const third = client.send(text('waited'));
      await Promise.all([first, third]);
      await atServer.until(2);
      expect(atServer.messages.map((m) => m.length)).toEqual([256 * 1024, 6]);
      expect(str(atServer.messages[1]!)).toBe('waited');
    });

    it('a send waiting for room rejects with its signal reason when aborted, and the rest keep their order', async () => {
      const { client, server } = await pair({}, { highWaterMark: 1024 });
      const atServer = new Collector(server);
      const first = client.send(pattern(256 * 1024, 2));
      const controller = new AbortController();
      const reason = new Error('changed my mind');
      const aborted = client.send(text('aborted'), { signal: controller.signal });
      const last = client.send(text('last'));
      controller.abort(reason);
      await expect(aborted).rejects.toBe(reason);
      await Promise.all([first, last]);
      await atServer.until(2);
      expect(atServer.messages.map((m) => m.length)).toEqual([256 * 1024, 4]);
    });

    it(
      'pause has several reasons: a user pause holds while the inbox high-water pause is released',
      async () => {
        const { client, server } = await pair({ highWaterMark: 16 * 1024 });
        const count = 128;
        for (let i = 0; i < count; i++) void client.send(pattern(64 * 1024, i)).catch(() => undefined);
        // Nobody consumes on the server: its inbox fills and pauses reading.
        await sleep(100);
        expect(typeof server.pauseReading, 'the connection offers pauseReading').toBe('function');
        server.pauseReading?.();
        // The consumer drains the inbox (its reason is released); the user's pause must hold.
        const atServer = new Collector(server);
        await sleep(100);
        const whilePaused = atServer.messages.length;
        await sleep(150);
        expect(atServer.messages.length, 'nothing is read while the user paused').toBe(whilePaused);
        expect(whilePaused).toBeLessThan(count);
        server.resumeReading?.();
        await atServer.until(count);
        expect(atServer.messages.length).toBe(count);
      },
      heavy,
    );

    it('a handler that throws while buffered messages are handed over does not wedge the inbox', async () => {
      const { client, server } = await pair();
      for (const m of ['1', '2', '3']) await client.send(text(m));
      await sleep(50);
      const got: string[] = [];
      const boom = new Error('handler failed');
      expect(() => {
        server.messageHandler((result) => {
          if (!result.ok) return;
          got.push(str(result.message));
          if (got.length === 1) throw boom;
        });
      }).toThrow(boom);
      await client.send(text('4'));
      for (let i = 0; i < 100 && got.length < 4; i++) await sleep(10);
      expect(got).toEqual(['1', '2', '3', '4']);
    });

    it('a listener that fails after it started reports the error to its owner and ends iteration with it', async () => {
      const listener = await listen();
      const iterator = listener[Symbol.asyncIterator]();
      const client = await connect(listener.endpoint);
      const accepted = await iterator.next();
      connections.push(accepted.value as Connection);
      const atClient = new Collector(client);
      const injected = failServer(listener.endpoint);
      const failure = await iterator.next().then(
        () => undefined,
        (e: unknown) => e as IpcezError & { cause?: unknown },
      );
      expect(failure, 'iteration must end with the listener failure').toBeDefined();
      expect(failure!.code).toBe('IPCEZ_ERR_IO');
      expect(failure!.cause).toBe(injected);
      expect(await listener.closed).toBe(failure);
      expect(listener.isListening).toBe(false);
      expect(await atClient.ended).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    });

    it('a listener closed normally reports no error on its closed promise', async () => {
      const listener = await listen();
      await listener.close();
      expect(listener.closed).toBeInstanceOf(Promise);
      expect(await listener.closed).toBeUndefined();
    });

    it.runIf(subject.keepaliveOptions !== undefined)(
      'keepalive does not kill a healthy connection whose reader is paused',
      async () => {
        const { client, server } = await pair(subject.keepaliveOptions, subject.keepaliveOptions);
        client.pauseReading?.();
        server.pauseReading?.();
        await sleep(600);
        expect(client.state).toBe('open');
        expect(server.state).toBe('open');
        client.resumeReading?.();
        server.resumeReading?.();
        echo(server);
        const atClient = new Collector(client);
        await client.send(text('alive'));
        await atClient.until(1);
        expect(atClient.messages.map(str)).toEqual(['alive']);
      },
      heavy,
    );
  });
}

// One connection of each library under one small interface, so the benchmark's client and
// server logic (peer.ts) is written once and every library runs exactly the same steps. Each
// adapter uses its library the way its documentation says to, through its public API, and
// respects the backpressure that library offers (and says so where it offers none). Each
// library is imported only by the processes that use it, so a peer starts as fast as it can.
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'ipcez';
import type { IPCModule } from 'node-ipc';
import type WebSocket from 'ws';
import type { Pair } from 'zeromq';
import { frameParser } from './frame-parser.js';

/** The libraries compared. `net-batched` is raw `net` with writes packed into 64 KiB. */
export const LIBRARIES = [
  'ipcez-off',
  'ipcez-on',
  'net',
  'net-batched',
  'node-ipc',
  'zeromq',
  'ipcez-ws',
  'ws',
] as const;
export type Library = (typeof LIBRARIES)[number];

/** A message as a library hands it over: bytes, or a string for node-ipc (a JSON library). */
export type Msg = Uint8Array | string;

/**
 * One open connection. `send` never waits by itself: it returns a promise only when the
 * library says to stop (backpressure), and the caller awaits it before sending more.
 */
export interface Link {
  send(message: Msg): Promise<void> | undefined;
  /** Sends one message and resolves when the library says that send is done (for round trips). */
  sendAndWait(message: Msg): Promise<void>;
  /** Resolves when everything sent so far is handed to the library's writer; rejects with any send's error. */
  flush(): Promise<void>;
  /** Sets the one message callback (the empty message is the benchmark's end marker). */
  onMessage(callback: (message: Msg) => void): void;
  /** Where a library must not receive while it sends: the next message, received on demand (instead of onMessage). */
  next?: () => Promise<Msg>;
  close(): Promise<void>;
}

export interface Served {
  readonly address: string;
  close(): Promise<void>;
}

/** Bytes sent before a sender must wait: the same high-water mark for every library that has one. */
export const HIGH_WATER_MARK = 1024 * 1024;
/** ipcez sends in flight without awaiting one (besides the byte high-water mark). */
const MAX_PENDING_SENDS = 16_384;
const MAX_PAYLOAD = 8 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** The payload of `size` bytes in the form the library sends: a string of ASCII for node-ipc. */
export function payloadFor(library: Library, size: number): Msg {
  if (library === 'node-ipc') return 'x'.repeat(size);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i & 0xff;
  return out;
}

/** The end marker (an empty message) in the library's form. */
export function endMarkerFor(library: Library): Msg {
  return library === 'node-ipc' ? '' : EMPTY;
}

export function textOf(message: Msg): string {
  return typeof message === 'string'
    ? message
    : Buffer.from(message.buffer, message.byteOffset, message.length).toString();
}

function bytesOf(message: Msg): Uint8Array {
  return typeof message === 'string' ? Buffer.from(message) : message;
}

// ---- ipcez (the public facade only) -------------------------------------------------------

/**
 * `isServer`: every send gets a `.catch` (an echo may still be pending when the client leaves,
 * and the server must then still close cleanly, unlinking its ack signals). A client's sends get
 * none: that doubled the promise reactions per message (about 10% of the sender's time at
 * 64 B), and a client send that fails ends the process with an unhandled rejection, which
 * fails the trial, as it should.
 */
function ipcezLink(socket: Socket, isServer: boolean): Link {
  let last: Promise<void> = Promise.resolve();
  let pending = 0;
  return {
    send(message) {
      const sent = socket.sendMessage(message);
      if (isServer) sent.catch(() => undefined);
      last = sent;
      // The ipcez analogue of write() returning false: wait once the queue reaches its
      // high-water mark (and every MAX_PENDING_SENDS sends, to bound the promises held).
      if (socket.bufferedAmount >= HIGH_WATER_MARK || ++pending >= MAX_PENDING_SENDS) {
        pending = 0;
        return sent;
      }
      return undefined;
    },
    sendAndWait: (message) => socket.sendMessage(message),
    flush: () => last,
    onMessage(callback) {
      socket.messageHandler((result) => {
        if (result.ok) callback(result.message);
      });
    },
    close: () => socket.disconnect(),
  };
}

function ipcezOptions(
  library: Library,
): { target: 'local'; os: 'linux'; ack: boolean; highWaterMark: number } | { highWaterMark: number } {
  return library === 'ipcez-ws'
    ? { highWaterMark: HIGH_WATER_MARK }
    : { target: 'local', os: 'linux', ack: library === 'ipcez-on', highWaterMark: HIGH_WATER_MARK };
}

// ---- raw node:net with hand-written framing (4-byte big-endian length, then the payload) ---

const BATCH_BYTES = 64 * 1024;

/**
 * Raw `net`: one write per message of a frame built once per payload (the cheapest a
 * hand-written sender can be), or (`batched`) frames copied into 64 KiB buffers, one write
 * each. Drain respected either way.
 */
function netLink(socket: net.Socket, batched: boolean): Link {
  const frames = new WeakMap<object, Buffer>();
  let batch = Buffer.allocUnsafe(BATCH_BYTES);
  let fill = 0;
  const frameOf = (message: Uint8Array): Buffer => {
    let frame = frames.get(message);
    if (frame === undefined) {
      frame = Buffer.allocUnsafe(4 + message.length);
      frame.writeUInt32BE(message.length, 0);
      frame.set(message, 4);
      frames.set(message, frame);
    }
    return frame;
  };
  const writeBatch = (): boolean => {
    const full = batch.subarray(0, fill);
    batch = Buffer.allocUnsafe(BATCH_BYTES);
    fill = 0;
    return socket.write(full);
  };
  const drained = async (): Promise<void> => {
    await once(socket, 'drain');
  };
  return {
    send(message) {
      const bytes = bytesOf(message);
      if (!batched || 4 + bytes.length > BATCH_BYTES) {
        if (fill > 0) writeBatch();
        return socket.write(typeof message === 'string' ? frameOf(bytes) : frameOf(message)) ? undefined : drained();
      }
      let ok = true;
      if (fill + 4 + bytes.length > BATCH_BYTES) ok = writeBatch();
      batch.writeUInt32BE(bytes.length, fill);
      batch.set(bytes, fill + 4);
      fill += 4 + bytes.length;
      return ok ? undefined : drained();
    },
    sendAndWait(message) {
      const header = Buffer.allocUnsafe(4);
      const bytes = bytesOf(message);
      header.writeUInt32BE(bytes.length, 0);
      socket.write(Buffer.concat([header, bytes]));
      return Promise.resolve();
    },
    async flush() {
      if (fill > 0 && !writeBatch()) await drained();
    },
    onMessage(callback) {
      socket.on('data', frameParser(callback));
    },
    async close() {
      socket.destroy();
      await Promise.resolve();
    },
  };
}

// ---- node-ipc ------------------------------------------------------------------------------

/**
 * node-ipc has no backpressure in its API: `emit` writes and returns nothing, and its reader
 * appends every chunk to one string and parses only when a chunk happens to end on a
 * delimiter, reading that whole string again on every chunk. An unbounded sender grows both
 * processes without limit (and past V8's longest string the reader throws), and the more is
 * in flight, the more the reader re-reads: with 64 MiB in flight, 64 KiB messages ran at 35
 * per second. So its links run an application credit window (what a node-ipc user has to
 * write): 256 KiB of payload in flight (the best for node-ipc of 256 KiB, 1 MiB, 4 MiB and
 * 64 MiB tried here), the server reporting its count every quarter of that.
 */
const NODE_IPC_WINDOW_BYTES = 256 * 1024;

export function creditEvery(size: number): number {
  return Math.max(1, Math.floor(NODE_IPC_WINDOW_BYTES / 4 / Math.max(1, size)));
}

function nodeIpcClientLink(ipc: IPCModule, id: string, size: number): Link {
  const client = ipc.of[id]!;
  const window = 4 * creditEvery(size);
  let sent = 0;
  let credited = 0;
  let wake: (() => void) | undefined;
  client.on('credit', (count) => {
    credited = Number(count);
    if (wake !== undefined && sent - credited < window) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  const emit = (message: Msg): void => {
    const text = textOf(message);
    if (text.length === 0) client.emit('end', 0);
    else {
      sent++;
      client.emit('m', text);
    }
  };
  return {
    send(message) {
      emit(message);
      if (sent - credited < window) return undefined;
      return new Promise((resolve) => {
        wake = resolve;
      });
    },
    sendAndWait(message) {
      emit(message);
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
    onMessage(callback) {
      client.on('m', (data) => {
        callback(String(data));
      });
    },
    async close() {
      ipc.disconnect(id);
      await Promise.resolve();
    },
  };
}

// ---- zeromq PAIR over ipc:// ---------------------------------------------------------------

/**
 * zeromq: `await send()` each message (its API allows one send in progress at a time). A send
 * while a receive is pending on the same PAIR socket can hang for good (zeromq.js issue #435,
 * open; here a few trials in a hundred hung), so this link never overlaps them: it receives only when
 * asked to (`next`), after the last send has completed, and its server loop finishes each
 * answer's send before it receives again.
 */
function zeromqLink(socket: Pair): Link {
  let sending: Promise<void> = Promise.resolve();
  const receive = async (): Promise<Msg> => {
    await sending.catch(() => undefined);
    const [frame] = await socket.receive();
    return frame ?? EMPTY;
  };
  return {
    send(message) {
      sending = socket.send(message);
      return sending;
    },
    sendAndWait(message) {
      sending = socket.send(message);
      return sending;
    },
    flush: () => sending,
    next: receive,
    onMessage(callback) {
      void (async () => {
        try {
          for (;;) callback(await receive());
        } catch {
          // Closed while receiving: the benchmark is over.
        }
      })();
    },
    async close() {
      socket.linger = 0;
      socket.close();
      await Promise.resolve();
    },
  };
}

// ---- raw ws --------------------------------------------------------------------------------

function wsLink(ws: WebSocket): Link {
  return {
    send(message) {
      if (ws.bufferedAmount < HIGH_WATER_MARK) {
        ws.send(message);
        return undefined;
      }
      return new Promise((resolve, reject) => {
        ws.send(message, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
    sendAndWait(message) {
      ws.send(message);
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
    onMessage(callback) {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        callback(isBinary ? data : data.toString());
      });
    },
    async close() {
      const closed = once(ws, 'close');
      ws.terminate();
      await closed;
    },
  };
}

// ---- opening and serving -------------------------------------------------------------------

/** Context one process shares between its links (node-ipc's one client instance). */
export interface OpenContext {
  nodeIpc?: IPCModule;
  opened: number;
}

/** Opens one client link of `library` to a server's `address`. */
export async function open(library: Library, address: string, size: number, context: OpenContext): Promise<Link> {
  const n = context.opened++;
  switch (library) {
    case 'ipcez-off':
    case 'ipcez-on':
    case 'ipcez-ws':
      return ipcezLink(await (await import('ipcez')).connect(address, ipcezOptions(library)), false);
    case 'net':
    case 'net-batched': {
      const socket = net.connect(address);
      await once(socket, 'connect');
      return netLink(socket, library === 'net-batched');
    }
    case 'node-ipc': {
      context.nodeIpc ??= new (await import('node-ipc')).IPCModule();
      const ipc = context.nodeIpc;
      ipc.config.silent = true;
      ipc.config.maxRetries = 0;
      const id = `bench${n}`;
      await new Promise<void>((resolve) => {
        ipc.connectTo(id, address, () => {
          ipc.of[id]!.on('connect', resolve);
        });
      });
      return nodeIpcClientLink(ipc, id, size);
    }
    case 'zeromq': {
      const socket = new (await import('zeromq')).Pair();
      socket.connect(`ipc://${address}`);
      return zeromqLink(socket);
    }
    case 'ws': {
      const { WebSocket } = await import('ws');
      const ws = new WebSocket(address, { perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
      await once(ws, 'open');
      return wsLink(ws);
    }
  }
}

/**
 * Serves `library` at `path` (a socket path; ignored for the ws libraries, which take a free
 * port on 127.0.0.1) and hands every accepted connection to `onLink` as a link.
 */
export async function serve(
  library: Library,
  path: string,
  size: number,
  onLink: (link: Link) => void,
): Promise<Served> {
  switch (library) {
    case 'ipcez-off':
    case 'ipcez-on':
    case 'ipcez-ws': {
      const { listen } = await import('ipcez');
      const server = await listen(library === 'ipcez-ws' ? 'ws://127.0.0.1:0/bench' : path, ipcezOptions(library));
      server.connectionHandler((socket) => {
        onLink(ipcezLink(socket, true));
      });
      return { address: server.endpoint, close: () => server.close() };
    }
    case 'net':
    case 'net-batched': {
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        onLink(netLink(socket, false));
      });
      server.listen(path);
      await once(server, 'listening');
      return {
        address: path,
        close: async () => {
          const closed = once(server, 'close');
          server.close();
          await closed;
        },
      };
    }
    case 'node-ipc': {
      const ipc = new (await import('node-ipc')).IPCModule();
      ipc.config.id = 'bench';
      ipc.config.silent = true;
      ipc.config.maxConnections = 1000;
      const every = creditEvery(size);
      const links = new Map<net.Socket, { received: number; callback?: (message: Msg) => void }>();
      const stateOf = (socket: net.Socket): { received: number; callback?: (message: Msg) => void } => {
        let state = links.get(socket);
        if (state === undefined) {
          const fresh: { received: number; callback?: (message: Msg) => void } = { received: 0 };
          state = fresh;
          links.set(socket, state);
          const emit = (message: Msg): void => {
            ipc.server.emit(socket, 'm', textOf(message));
          };
          onLink({
            send(message) {
              emit(message);
              return undefined;
            },
            sendAndWait(message) {
              emit(message);
              return Promise.resolve();
            },
            flush: () => Promise.resolve(),
            onMessage(callback) {
              fresh.callback = callback;
            },
            async close() {
              socket.destroy();
              await Promise.resolve();
            },
          });
        }
        return state;
      };
      await new Promise<void>((resolve) => {
        ipc.serve(path, () => {
          ipc.server.on('m', (data, socket) => {
            const state = stateOf(socket);
            state.callback?.(String(data));
            if (++state.received % every === 0) ipc.server.emit(socket, 'credit', state.received);
          });
          ipc.server.on('end', (_data, socket) => {
            stateOf(socket).callback?.('');
          });
          resolve();
        });
        ipc.server.start();
      });
      return {
        address: path,
        close: async () => {
          ipc.server.stop();
          await Promise.resolve();
        },
      };
    }
    case 'zeromq': {
      const socket = new (await import('zeromq')).Pair();
      await socket.bind(`ipc://${path}`);
      onLink(zeromqLink(socket));
      return {
        address: path,
        close: async () => {
          socket.linger = 0;
          socket.close();
          await Promise.resolve();
        },
      };
    }
    case 'ws': {
      const { WebSocketServer } = await import('ws');
      const server = new WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        perMessageDeflate: false,
        maxPayload: MAX_PAYLOAD,
      });
      server.on('connection', (ws) => {
        onLink(wsLink(ws));
      });
      await once(server, 'listening');
      const { port } = server.address() as net.AddressInfo;
      return {
        address: `ws://127.0.0.1:${port}/`,
        close: async () => {
          for (const client of server.clients) client.terminate();
          await new Promise<void>((resolve) => {
            server.close(() => {
              resolve();
            });
          });
        },
      };
    }
  }
}

/** Spins for `ms` milliseconds: a reader that is slow on purpose (its event loop is busy). */
export function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

// The connection with its ack mode decided, and acks over WebSocket (docs/PROTOCOL.md §5.6):
// a client with ack offers the ipcez.v2 subprotocol and waits for "hello 2"; a listener always
// selects ipcez.v2 when offered, says "hello 2" and acks what it reads; no subprotocol: no
// acks ('off'). Browser-safe: nothing here needs Node (the local parts are in acks.ts).
import { AckUnavailableError, awaitHelloReply, sendHelloReply } from '@ipcez/core';
import type {
  Connection,
  ConnectionState,
  InBandAcks,
  IpcezError,
  MessageConnection,
  MessageHandler,
  SendOptions,
  TransportKind,
} from '@ipcez/core';
import { isSubprotocolRefused, wsSubprotocol } from '@ipcez/transport-ws';
import type { AckMode } from './socket.js';

type Engine = MessageConnection;

/** Whether a transport's connection is the core engine with control headers (unix, pipe). */
export function isEngine(connection: Connection): connection is Engine {
  const candidate = connection as Partial<Engine>;
  return typeof candidate.setControlHandler === 'function' && typeof candidate.queueControl === 'function';
}

/**
 * A connection with its ack mode decided: sends go through v2's in-band acks, the seed
 * decorator, or straight to the engine; everything else is the engine's (one inbox). It
 * **owns** the engine (and, through the seed decorator, a client's signal pair).
 */
export class AckedConnection implements Connection {
  readonly #engine: Connection;
  /** What sends and the close go through: the engine, or its seed-acked decorator. */
  readonly #top: Connection;
  readonly #acks: InBandAcks | undefined;
  readonly #isAcked: boolean;
  readonly ackMode: AckMode;

  constructor(engine: Connection, mode: AckMode, isAcked: boolean, top?: Connection, acks?: InBandAcks) {
    this.#engine = engine;
    this.#top = top ?? engine;
    this.#acks = acks;
    this.#isAcked = isAcked && mode !== 'off';
    this.ackMode = mode;
  }

  /** Whether this side's sends wait for the peer's ack. */
  get isAcked(): boolean {
    return this.#isAcked;
  }

  get transport(): TransportKind {
    return this.#engine.transport;
  }

  get endpoint(): string {
    return this.#engine.endpoint;
  }

  get remoteAddress(): string | undefined {
    return this.#engine.remoteAddress;
  }

  get state(): ConnectionState {
    return this.#engine.state;
  }

  get bufferedAmount(): number {
    return this.#engine.bufferedAmount;
  }

  get highWaterMark(): number {
    return this.#engine.highWaterMark;
  }

  get maxMessageBytes(): number {
    return this.#engine.maxMessageBytes;
  }

  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (this.#acks !== undefined) return this.#acks.send(message, options, this.#isAcked);
    return this.#top.send(message, options);
  }

  messageHandler(handler: MessageHandler): void {
    this.#top.messageHandler(handler);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#top[Symbol.asyncIterator]();
  }

  pauseReading(): void {
    this.#engine.pauseReading?.();
  }

  resumeReading(): void {
    this.#engine.resumeReading?.();
  }

  close(): Promise<void> {
    return this.#top.close();
  }

  destroy(error?: IpcezError): void {
    this.#top.destroy(error);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The WebSocket subprotocol of protocol v2 (docs/PROTOCOL.md §5.6). */
export const WS_SUBPROTOCOL = 'ipcez.v2';

/**
 * Opens a WebSocket client connection for the facade: with `ack`, it offers `ipcez.v2` and the
 * connection is in v2 once the server said `hello 2`; without, it offers nothing (no acks).
 *
 * @param open - connects, given the subprotocols to offer.
 * @param ack - whether this side's sends wait for acks.
 * @param ackTimeoutMs - the ack timeout (also bounds the wait for `hello 2`).
 * @param signal - aborts the wait.
 * @returns the connection, its ack mode decided.
 * @throws AckUnavailableError (`IPCEZ_ERR_ACK_UNAVAILABLE`) when the server selects no
 *   subprotocol, or selects `ipcez.v2` and then does not say `hello 2` first in time.
 */
export async function openAckedWsClient(
  open: (subprotocols: readonly string[]) => Promise<Connection>,
  ack: boolean,
  ackTimeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<AckedConnection> {
  if (!ack) return new AckedConnection(await open([]), 'off', false);
  let connection: Connection;
  try {
    connection = await open([WS_SUBPROTOCOL]);
  } catch (error) {
    if (!isSubprotocolRefused(error)) throw error;
    throw new AckUnavailableError(
      `the WebSocket server selected no subprotocol (acks over WebSocket need a server that speaks ${WS_SUBPROTOCOL})`,
      { cause: error },
    );
  }
  if (!isEngine(connection) || wsSubprotocol(connection) !== WS_SUBPROTOCOL) {
    connection.destroy();
    throw new AckUnavailableError(`the WebSocket server did not select ${WS_SUBPROTOCOL}`);
  }
  const acks = await awaitHelloReply(connection, ackTimeoutMs, signal);
  return new AckedConnection(connection, 'v2', true, undefined, acks);
}

/**
 * Wraps a connection a WebSocket listener accepted: v2 (says `hello 2`, acks what it reads)
 * when its handshake selected `ipcez.v2`, whatever the listener's own `ack`; no acks otherwise.
 *
 * @param ack - whether this side's sends wait for acks.
 * @param ackTimeoutMs - the ack timeout of this side's sends.
 * @returns the wrap hook.
 */
export function wrapAcceptedWs(ack: boolean, ackTimeoutMs: number): (connection: Connection) => AckedConnection {
  return (connection) => {
    if (!isEngine(connection) || wsSubprotocol(connection) !== WS_SUBPROTOCOL) {
      return new AckedConnection(connection, 'off', false);
    }
    return new AckedConnection(connection, 'v2', ack, undefined, sendHelloReply(connection, ackTimeoutMs));
  };
}

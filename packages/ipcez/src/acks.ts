// Delivery acknowledgement for the facade's local transports (docs/PROTOCOL.md §4 and §5):
// protocol v2 between ipcez peers, seed mode for peers that speak only it.
//
//   listener: lock -> probe (no live server, else EndpointInUseError) -> pair fresh (stale
//             marker removed) -> marker -> bind                          [beforeBind hook]
//             each accepted connection: negotiate (HELLO within 100 ms -> v2, else seed),
//             then it is handed to the application, its ack mode known
//             close: unlink marker and pair -> close listener (socket file) -> close handles
//   client:   connect -> marker? HELLO -> HELLO_REPLY 2: v2 / 0 or data first: seed /
//             closed first: connect again without HELLO; no marker: seed
//             seed with acks: open the pair (create if missing) and ack through it; never unlinks
//   WebSocket (docs/PROTOCOL.md §5.6): a client with ack offers the ipcez.v2 subprotocol and
//             waits for "hello 2"; a listener always selects ipcez.v2 when offered, says
//             "hello 2" and acks what it reads; no subprotocol: no acks ('off')
import { AckUnavailableError, awaitHelloReply, negotiateClient, negotiateServer, sendHelloReply } from '@ipcez/core';
import type {
  Connection,
  ConnectionState,
  IpcezError,
  MessageConnection,
  MessageHandler,
  SendOptions,
  TransportKind,
} from '@ipcez/core';
import type { InBandAcks, ServerNegotiation } from '@ipcez/core';
import { hasV2Marker, openSignalPair, withAcks } from '@ipcez/ack';
import { isSubprotocolRefused, wsSubprotocol } from '@ipcez/transport-ws';
import type { SignalPair } from '@ipcez/ack';

import type { AckMode } from './socket.js';

type Engine = MessageConnection;

/** Whether a transport's connection is the core engine with control headers (unix, pipe). */
function isEngine(connection: Connection): connection is Engine {
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

/** Whether the listener at `endpoint` advertises v2; `false` where named signals do not work. */
async function advertisesV2(endpoint: string): Promise<boolean> {
  try {
    return await hasV2Marker(endpoint);
  } catch (error) {
    if (error instanceof AckUnavailableError) return false;
    throw error;
  }
}

/**
 * The client side, after connecting: negotiates v2 where the listener advertises it, else
 * seed mode (with the endpoint's pair when `ack` is on).
 *
 * @param connection - the fresh connection.
 * @param reconnect - connects again (without HELLO), for a stale marker.
 * @param ack - whether this side's sends wait for acks.
 * @param ackTimeoutMs - the ack timeout (also bounds the negotiation).
 * @param signal - aborts the negotiation.
 * @returns the connection, its ack mode decided.
 */
export async function openAckedClient(
  connection: Connection,
  reconnect: () => Promise<Connection>,
  ack: boolean,
  ackTimeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<AckedConnection> {
  let current = connection;
  try {
    if (isEngine(current) && (await advertisesV2(current.endpoint))) {
      const outcome = await negotiateClient(current, ackTimeoutMs, signal);
      if (outcome.mode === 'v2') return new AckedConnection(current, 'v2', ack, undefined, outcome.acks);
      if (outcome.mode === 'retry') current = await reconnect();
    }
    if (!ack) return new AckedConnection(current, 'off', false);
    const pair = await openSignalPair(current.endpoint);
    // The client's pair handles live until the socket is released (disconnect/destroy), not
    // merely until the peer goes away: a peer that acks and then closes at once leaves acks
    // posted that sends still waiting must be able to take.
    return new AckedConnection(current, 'seed', true, withAcks(current, pair, { ackTimeoutMs, ownsPair: true }));
  } catch (error) {
    current.destroy();
    throw error;
  }
}

/** The listener side: signals made in `beforeBind`, negotiation per accepted connection. */
export interface AckedListenerParts {
  readonly beforeBind: (resolvedEndpoint: string) => Promise<void>;
  readonly wrap: (connection: Connection) => Promise<AckedConnection>;
  readonly unlink: () => void;
  readonly close: () => Promise<void>;
}

/**
 * Prepares a local listener's acknowledgement. Every listener creates the seed pair and the v2
 * marker, whatever its own `ack` option, so that seed clients find the pair (and leave nothing
 * behind) and v2 clients get in-band acks: a v2 recipient always acks what it reads.
 *
 * @param ack - whether this side's sends wait for acks.
 * @param ackTimeoutMs - the ack timeout of this side's sends.
 * @param negotiationTimeoutMs - how long an accepted connection may take to say HELLO.
 * @returns the hooks.
 */
export function prepareAckedListener(
  ack: boolean,
  ackTimeoutMs: number,
  negotiationTimeoutMs: number,
): AckedListenerParts {
  let pair: SignalPair | undefined;
  return {
    beforeBind: async (resolvedEndpoint) => {
      try {
        pair = await openSignalPair(resolvedEndpoint, { role: 'listener' });
        pair.advertiseV2();
      } catch (error) {
        // Without named signals here a listener that does not ack still serves (no v2 marker,
        // so clients stay in seed mode); one that acks cannot.
        if (ack || !(error instanceof AckUnavailableError)) throw error;
        pair = undefined;
      }
    },
    wrap: async (connection) => {
      if (!isEngine(connection) || pair === undefined) return new AckedConnection(connection, 'off', false);
      const endpointPair = pair;
      let seedAcked: Connection | undefined;
      const decide = (outcome: ServerNegotiation, firstBatch?: readonly Uint8Array[]): void => {
        if (outcome.mode !== 'seed' || !ack) return;
        // Seed mode with acks: the endpoint's pair acks each frame read from now on; the
        // batch that decided it (data came first) is acked here, before it is delivered.
        seedAcked = withAcks(connection, endpointPair, { ackTimeoutMs });
        for (const _ of firstBatch ?? []) {
          endpointPair.tryTakeReady();
          endpointPair.signalAcked();
        }
      };
      const outcome = await negotiateServer(connection, negotiationTimeoutMs, ackTimeoutMs, decide);
      if (outcome.mode === 'v2') return new AckedConnection(connection, 'v2', ack, undefined, outcome.acks);
      return seedAcked === undefined
        ? new AckedConnection(connection, 'off', false)
        : new AckedConnection(connection, 'seed', true, seedAcked);
    },
    unlink: () => {
      pair?.unlink();
    },
    close: async () => {
      await pair?.close();
      pair = undefined;
    },
  };
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

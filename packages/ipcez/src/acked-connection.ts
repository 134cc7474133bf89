// The connection with its ack mode decided, and acks over WebSocket (docs/PROTOCOL.md §5.6):
// a client with ack offers the ipcez.v2 subprotocol and waits for "hello 2"; a listener always
// selects ipcez.v2 when offered, says "hello 2" and acks what it reads; no subprotocol: no
// acks ('off'). Browser-safe: nothing here needs Node (the local parts are in acks.ts).
import { AckUnavailableError, ForwardingConnection, awaitHelloReply, sendHelloReply } from '@ipcez/core';
import type { Connection, InBandAcks, MessageConnection, SendOptions } from '@ipcez/core';
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
 * decorator, or straight to the engine; everything else is forwarded to the seed decorator or
 * the engine (one inbox). It **owns** the engine (and, through the seed decorator, a client's
 * signal pair).
 */
export class AckedConnection extends ForwardingConnection {
  readonly #acks: InBandAcks | undefined;
  readonly #isAcked: boolean;
  readonly ackMode: AckMode;

  /**
   * @param engine - the transport's connection.
   * @param mode - the ack protocol chosen for it.
   * @param isAcked - whether this side's sends wait for acks (only where `mode` is not `'off'`).
   * @param top - the seed-acked decorator over `engine`, in seed mode with acks.
   * @param acks - the in-band acks, in v2.
   */
  constructor(engine: Connection, mode: AckMode, isAcked: boolean, top?: Connection, acks?: InBandAcks) {
    super(top ?? engine);
    this.#acks = acks;
    this.#isAcked = isAcked && mode !== 'off';
    this.ackMode = mode;
  }

  /** Whether this side's sends wait for the peer's ack. */
  get isAcked(): boolean {
    return this.#isAcked;
  }

  override send(message: Uint8Array, options?: SendOptions): Promise<void> {
    if (this.#acks !== undefined) return this.#acks.send(message, options, this.#isAcked);
    return super.send(message, options);
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

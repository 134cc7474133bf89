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
//   WebSocket: see acked-connection.ts
import { AckUnavailableError, negotiateClient, negotiateServer } from '@ipcez/core';
import type { Connection, ServerNegotiation } from '@ipcez/core';
import { hasV2Marker, openSignalPair, withAcks } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import { AckedConnection, isEngine } from './acked-connection.js';

/** Whether the listener at `endpoint` advertises v2; `false` where named signals do not work. */
async function advertisesV2(endpoint: string): Promise<boolean> {
  try {
    return await hasV2Marker(endpoint);
  } catch (error) {
    if (error instanceof AckUnavailableError) return false;
    throw error;
  }
}

/** A marker lookup started before the connection was made, for the endpoint as given. */
export interface EarlyMarker {
  readonly endpoint: string;
  readonly isAdvertised: Promise<boolean>;
}

/**
 * Starts looking up the listener's v2 marker before the connection is made. A listener waits
 * only a short time (100 ms by default) for a client's HELLO before it settles on seed mode,
 * and the first lookup in a process loads the native backend and resolves the path: 10–20 ms
 * on an idle host, far more on a loaded one. Looked up first, HELLO goes out as soon as the
 * connection is made.
 *
 * @param endpoint - the endpoint as the user gave it.
 * @returns the pending lookup (never rejects: `false` where signals are unavailable).
 */
export function lookUpMarkerEarly(endpoint: string): EarlyMarker {
  return { endpoint, isAdvertised: advertisesV2(endpoint).catch(() => false) };
}

/**
 * Whether the listener at `endpoint` advertises v2. A marker found early for the same endpoint
 * is enough: if it was stale, the listener closes on HELLO and the client connects again in
 * seed mode. One not found early is looked up again now: the listener may have started
 * since (a connect that waited for it with `retry`).
 */
async function isAdvertised(endpoint: string, early: EarlyMarker | undefined): Promise<boolean> {
  if (early?.endpoint === endpoint && (await early.isAdvertised)) return true;
  return advertisesV2(endpoint);
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
 * @param early - the marker looked up before connecting (see {@link lookUpMarkerEarly}).
 * @returns the connection, its ack mode decided.
 */
export async function openAckedClient(
  connection: Connection,
  reconnect: () => Promise<Connection>,
  ack: boolean,
  ackTimeoutMs: number,
  signal: AbortSignal | undefined,
  early?: EarlyMarker,
): Promise<AckedConnection> {
  let current = connection;
  try {
    if (isEngine(current) && (await isAdvertised(current.endpoint, early))) {
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

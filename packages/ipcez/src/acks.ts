// Delivery acknowledgement wiring for the facade, in the order the @ipcez/ack README requires:
//
//   listener: probe (no live server, else EndpointInUseError) -> pair fresh -> bind   [beforeBind hook]
//             close: unlink pair -> close listener (removes its socket file) -> close pair handles
//   client:   connect -> open pair (create if missing) -> wrap; never unlinks
import { openSignalPair, withAcks } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import type { Connection } from '@ipcez/core';

/** Opens the client side of an endpoint's pair after connecting and wraps the connection. */
export async function openAckedClient(connection: Connection, ackTimeoutMs: number): Promise<Connection> {
  const pair = await openSignalPair(connection.endpoint);
  // The client's pair handles live until the socket is released (disconnect/destroy), not
  // merely until the peer goes away: a peer that acks and then closes at once leaves acks
  // posted that sends still waiting must be able to take.
  return withAcks(connection, pair, { ackTimeoutMs, ownsPair: true });
}

/** The listener side: the pair is created in `beforeBind`, shared by every accepted connection. */
export interface AckedListenerParts {
  readonly beforeBind: (resolvedEndpoint: string) => Promise<void>;
  readonly wrap: (connection: Connection) => Connection;
  readonly unlink: () => void;
  readonly close: () => Promise<void>;
}

export function prepareAckedListener(ackTimeoutMs: number): AckedListenerParts {
  let pair: SignalPair | undefined;
  return {
    beforeBind: async (resolvedEndpoint) => {
      pair = await openSignalPair(resolvedEndpoint, { role: 'listener' });
    },
    wrap: (connection) => {
      if (!pair) throw new Error('internal: a connection was accepted before the signal pair was created');
      return withAcks(connection, pair, { ackTimeoutMs });
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

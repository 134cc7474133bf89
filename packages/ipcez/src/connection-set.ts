import { invalidArgError } from '@ipcez/core';
import type { Socket } from './socket.js';

/** One connection's outcome of `server.broadcast`. */
export type BroadcastResult =
  | {
      /** The socket the message was sent to. */
      readonly socket: Socket;
      /** The send resolved. */
      readonly ok: true;
    }
  | {
      /** The socket the message was sent to. */
      readonly socket: Socket;
      /** The send failed. */
      readonly ok: false;
      /** Why (the socket's send rejection: gone, ack timeout, too large …). */
      readonly error: unknown;
    };

/**
 * The sockets a server accepted and that are still open. Closed ones are dropped when the
 * set is read, and on accept once the set doubled since the last sweep, so a server with
 * many short-lived clients keeps memory proportional to its live connections.
 */
export class ConnectionSet {
  readonly #sockets = new Set<Socket>();
  #sweptAt = 0;

  add(socket: Socket): void {
    this.#sockets.add(socket);
    if (this.#sockets.size >= 2 * Math.max(this.#sweptAt, 32)) this.#sweep();
  }

  /** The open sockets, in accept order. */
  live(): readonly Socket[] {
    this.#sweep();
    return [...this.#sockets].filter((socket) => socket.state === 'open');
  }

  /**
   * Sends one message to every open socket, concurrently; never rejects.
   *
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, when `message` is neither bytes nor a string.
   */
  broadcast(message: Uint8Array | string): Promise<BroadcastResult[]> {
    if (typeof message !== 'string' && !(message instanceof Uint8Array)) {
      throw invalidArgError('message must be a Uint8Array or a string');
    }
    return Promise.all(
      this.live().map(async (socket): Promise<BroadcastResult> => {
        try {
          await socket.sendMessage(message);
          return { socket, ok: true };
        } catch (error) {
          return { socket, ok: false, error };
        }
      }),
    );
  }

  #sweep(): void {
    for (const socket of this.#sockets) if (socket.state === 'closed') this.#sockets.delete(socket);
    this.#sweptAt = this.#sockets.size;
  }
}

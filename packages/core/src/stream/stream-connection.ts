import type { Duplex } from 'node:stream';
import { resolveMaxMessageBytes } from '@ipcez/framing';
import { MessageConnection } from '../engine/message-connection.js';
import type { MessageConnectionOptions } from '../engine/message-connection.js';
import { invalidArgError } from '../errors.js';
import { integerOption } from '../options.js';
import { StreamLink } from './stream-link.js';

/** Options of {@link createStreamConnection}. */
export interface StreamConnectionOptions extends MessageConnectionOptions {
  /**
   * How long a frame the peer started may take to complete (while this side reads) before the
   * connection ends with `FrameTimeoutError`; checked once per period, so between one and two
   * periods. Default 30 000 ms.
   */
  readonly frameTimeoutMs?: number;
  /**
   * End the connection with `IdleTimeoutError` after this long with no byte read or written
   * (while this side reads; between one and two periods), in ms. Writes are seen through the
   * duplex's `bytesWritten` (every `net.Socket` has it; on a duplex without it only reads
   * count). Default: never.
   */
  readonly idleTimeoutMs?: number;
}

/**
 * The framed-message connection over a Node `Duplex` that both local transports use: the
 * one engine ({@link MessageConnection}) over the byte-stream link. See the core README,
 * "The connection rules", for what it delivers, when sends settle, and how it ends.
 */
export type StreamConnection = MessageConnection;

/**
 * Wraps a connected Node `Duplex` (e.g. a `net.Socket`) as a framed-message connection.
 * Synchronous: the duplex must already be connected. The connection takes ownership of the
 * duplex: it reads it, writes it, ends and destroys it, and releases every listener it added
 * once the duplex has emitted `'close'`. Do not read, write or add `'data'` listeners to it
 * afterwards.
 *
 * **Wire format.** Each message is a 4-byte big-endian payload length then the payload
 * (`@ipcez/framing` SPEC.md).
 *
 * @param duplex - a connected byte duplex, not in object mode, emitting `'close'` last (every
 *   Node socket does). Chunks it emits must not be reused by it (Node's stream contract).
 * @param options - {@link StreamConnectionOptions}: `transport` and `endpoint` are required.
 * @returns the connection, already reading.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a missing duplex, a bad
 *   transport or endpoint, or a limit out of range.
 * @example
 * ```ts
 * import net from 'node:net';
 * import { createStreamConnection } from '@ipcez/core/stream';
 *
 * const socket = net.connect('/tmp/app.sock');
 * await once(socket, 'connect');
 * const connection = createStreamConnection(socket, { transport: 'unix', endpoint: '/tmp/app.sock' });
 * connection.messageHandler((r) => { if (r.ok) console.log(r.message); else console.log('end', r.error.code); });
 * await connection.send(new TextEncoder().encode('hello'));
 * await connection.close();
 * ```
 */
export function createStreamConnection(duplex: Duplex, options: StreamConnectionOptions): StreamConnection {
  if (
    typeof duplex !== 'object' ||
    (duplex as unknown) === null ||
    typeof duplex.write !== 'function' ||
    typeof duplex.on !== 'function'
  ) {
    throw invalidArgError('duplex must be a Node Duplex stream');
  }
  if (duplex.readableObjectMode || duplex.writableObjectMode) {
    throw invalidArgError('duplex must be a byte stream, not in object mode');
  }
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalidArgError('options must be an object with transport and endpoint');
  }
  const frameTimeoutMs = integerOption(options.frameTimeoutMs, 'frameTimeoutMs', 1);
  const idleTimeoutMs = integerOption(options.idleTimeoutMs, 'idleTimeoutMs', 1);
  const link = new StreamLink(duplex, {
    endpoint: options.endpoint,
    maxMessageBytes: resolveMaxMessageBytes(options.maxMessageBytes),
    idleTimeoutMs,
    ...(frameTimeoutMs === undefined ? {} : { frameTimeoutMs }),
  });
  return new MessageConnection(link, options);
}

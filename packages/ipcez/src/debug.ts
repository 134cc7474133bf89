// Debug output, Node's convention: NODE_DEBUG=ipcez (or a list containing it, or a pattern
// such as `ipc*`) prints to stderr, prefixed `IPCEZ <pid>:`; silent otherwise, at the cost of
// one boolean check per event. Never used for anything but diagnostics.
import type { DebugLogger } from 'node:util';
import { debuglog } from 'node:util';
import { ForwardingConnection } from '@ipcez/core';
import type { Connection, MessageHandler, SendOptions } from '@ipcez/core';

let logger: DebugLogger | undefined;

function log(): DebugLogger {
  // Created on first use, not at import: NODE_DEBUG is read then (no import-time side effects).
  logger ??= debuglog('ipcez');
  return logger;
}

/** Whether `NODE_DEBUG` enables `ipcez`. */
export function isDebugEnabled(): boolean {
  return log().enabled;
}

/** Prints one `util.format`-style line when `NODE_DEBUG` enables `ipcez`. */
export function debug(format: string, ...args: unknown[]): void {
  const l = log();
  if (l.enabled) l(format, ...args);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? code : error.name}: ${error.message}`;
  }
  return String(error);
}

/**
 * With debug output on, wraps a connection so its lifecycle is printed: failed sends (ack
 * timeouts, oversized messages), the end with its reason, and counts of messages each way.
 * With debug output off, returns the connection itself (no cost).
 */
export function traceConnection(connection: Connection, role: 'client' | 'server', isAcked: boolean): Connection {
  if (!isDebugEnabled()) return connection;
  debug(
    '%s %s %s over %s (acks %s)',
    role,
    role === 'client' ? 'connected to' : 'accepted on',
    connection.endpoint,
    connection.transport,
    isAcked ? 'on' : 'off',
  );
  return new TracedConnection(connection, role);
}

class TracedConnection extends ForwardingConnection {
  readonly #label: string;
  #sent = 0;
  #received = 0;
  #ended = false;

  constructor(inner: Connection, role: string) {
    super(inner);
    this.#label = `${role} ${inner.endpoint}`;
  }

  override send(message: Uint8Array, options?: SendOptions): Promise<void> {
    return this.inner.send(message, options).then(
      () => {
        this.#sent++;
      },
      (error: unknown) => {
        debug('%s: send of %d bytes failed: %s', this.#label, message.byteLength, describe(error));
        throw error;
      },
    );
  }

  #ended_(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const reason = (error as { reason?: unknown }).reason;
    debug(
      '%s ended%s: %s (sent %d, received %d)',
      this.#label,
      typeof reason === 'string' ? ` (${reason})` : '',
      describe(error),
      this.#sent,
      this.#received,
    );
  }

  override messageHandler(handler: MessageHandler): void {
    this.inner.messageHandler((result) => {
      if (result.ok) this.#received++;
      else this.#ended_(result.error);
      handler(result);
    });
  }

  override close(): Promise<void> {
    debug('%s: close()', this.#label);
    return this.inner.close();
  }

  override destroy(error?: Parameters<Connection['destroy']>[0]): void {
    debug('%s: destroy(%s)', this.#label, error === undefined ? '' : describe(error));
    this.inner.destroy(error);
  }

  override async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      for await (const message of this.inner) {
        this.#received++;
        yield message;
      }
      this.#ended_(new Error('iteration ended'));
    } catch (error) {
      this.#ended_(error);
      throw error;
    }
  }
}

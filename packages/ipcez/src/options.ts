import type { DetectOptions } from './detect.js';

/** Options of `connect`. Everything is optional. */
export interface ConnectOptions {
  /** `'local'` or `'remote'`; wins over the `target` environment variable. Ignored for ws:// URLs. */
  readonly target?: string;
  /** `'linux'` or `'windows'`; wins over the `os` environment variable. Ignored for ws:// URLs. */
  readonly os?: string;
  /**
   * Delivery acknowledgement (local transports only): sends resolve once the recipient's
   * endpoint acked them. Default `true` on local transports, `false` (and unavailable) on
   * WebSocket. Both ends of a connection must agree.
   */
  readonly ack?: boolean;
  /** How long a send waits for "data acked", in ms (default 5000). */
  readonly ackTimeoutMs?: number;
  /** Abort connecting (rejects with `signal.reason`). */
  readonly signal?: AbortSignal;
  /** Payload limit in bytes, 0 to 4 MiB (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Queued send bytes past which sends wait (default 1 MiB). */
  readonly highWaterMark?: number;
  /** WebSocket only: extra HTTP headers for the handshake. */
  readonly headers?: Readonly<Record<string, string>>;
  /** WebSocket only (`wss:`): CA certificate(s) to trust, PEM. */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** WebSocket only (`wss:`): client certificate, PEM. */
  readonly cert?: string | Uint8Array;
  /** WebSocket only (`wss:`): client private key, PEM. */
  readonly key?: string | Uint8Array;
  /** WebSocket only: keepalive ping interval in ms (0 turns keepalive off). */
  readonly keepaliveIntervalMs?: number;
}

/** Options of `listen`. Everything is optional. */
export interface ListenOptions {
  /** As for `connect`. */
  readonly target?: string;
  /** As for `connect`. */
  readonly os?: string;
  /** Delivery acknowledgement for accepted sockets (local transports; default `true`). */
  readonly ack?: boolean;
  /** How long an accepted socket's send waits for "data acked", in ms (default 5000). */
  readonly ackTimeoutMs?: number;
  /** Abort before ready rejects; after, it closes the server. */
  readonly signal?: AbortSignal;
  /** Payload limit in bytes for accepted sockets, 0 to 4 MiB (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Queued send bytes past which an accepted socket's sends wait (default 1 MiB). */
  readonly highWaterMark?: number;
  /** WebSocket only (`wss:`): server certificate, PEM. */
  readonly cert?: string | Uint8Array;
  /** WebSocket only (`wss:`): server private key, PEM. */
  readonly key?: string | Uint8Array;
  /** WebSocket only: keepalive ping interval in ms (0 turns keepalive off). */
  readonly keepaliveIntervalMs?: number;
}

/** Internal: the same options plus the detection inputs tests and tools may pin. */
export type WithDetect<T> = T & Pick<DetectOptions, 'env' | 'platform'>;

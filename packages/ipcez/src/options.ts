import type { WsConnectOptions, WsListenOptions } from '@ipcez/transport-ws';
import type { DetectOptions, Os, Target } from './detect.js';
import type { RetryOptions } from './retry.js';

/** The facade's own options, on top of the transport's. */
interface FacadeOptions {
  /** `'local'` or `'remote'`; wins over the `target` environment variable. Ignored for ws:// URLs. */
  readonly target?: Target;
  /** `'linux'` or `'windows'`; wins over the `os` environment variable. Ignored for ws:// URLs. */
  readonly os?: Os;
  /**
   * Delivery acknowledgement: whether this side's sends wait until the recipient read them.
   * Default `true` on local transports, `false` on WebSocket (opt-in there: a client with
   * `true` offers the `ipcez.v2` subprotocol and `connect` fails with `AckUnavailableError`
   * when the server does not speak it). Between two ipcez peers (protocol v2) a recipient acks
   * what it reads whatever its own `ack`; `socket.ackMode` says which protocol a connection uses.
   */
  readonly ack?: boolean;
  /** How long a send waits for "data acked", in ms (default 5000). */
  readonly ackTimeoutMs?: number;
  /**
   * Bounds each `sendMessage` as a whole, in ms: waiting for room in the send queue (a peer
   * that does not read), writing, and the ack where acks are on. Past it the send rejects with
   * `SendTimeoutError` (`IPCEZ_ERR_SEND_TIMEOUT`): withdrawn if it was still waiting for room,
   * otherwise written and possibly delivered later. Default: no bound (a send waits as long
   * as the connection lives; `ackTimeoutMs` still bounds the ack itself).
   */
  readonly sendTimeoutMs?: number;
}

/**
 * Options of `connect`. Everything is optional. `signal`, `maxMessageBytes` and
 * `highWaterMark` apply to every transport; the other `@ipcez/transport-ws` options
 * (`headers`, `ca`, `cert`, `key`, `passphrase`, `rejectUnauthorized`, `servername`,
 * `keepaliveIntervalMs`, `keepaliveTimeoutMs`, `closeTimeoutMs`, `perMessageDeflate`) apply to
 * `ws://`/`wss://` endpoints only, and are refused for a local one.
 */
export interface ConnectOptions extends FacadeOptions, Omit<WsConnectOptions, 'subprotocols'> {
  /**
   * Wait for a server that is not there yet: retry while the endpoint is missing (`ENOENT`)
   * or refuses (`ECONNREFUSED`) or resets while connecting (`ECONNRESET`: a server going
   * down), with capped exponential backoff and jitter, until the
   * retries are spent (then the last error is thrown) or `signal` aborts. A number is the
   * count of retries; see {@link RetryOptions}. Default: no retry. Other errors are never retried.
   */
  readonly retry?: number | RetryOptions;
}

/**
 * Options of `listen`. Everything is optional. `signal`, `maxMessageBytes` and
 * `highWaterMark` apply to every transport; the other `@ipcez/transport-ws` listen options
 * (`cert`, `key`, `passphrase`, `ca`, `requestClientCert`, `verifyClient`, keepalive, close
 * timeout, `perMessageDeflate`) apply to `ws://`/`wss://` endpoints only, and are refused for
 * a local one. (`beforeBind` is the facade's own business: it starts the ack signals there.)
 */
export interface ListenOptions extends FacadeOptions, Omit<WsListenOptions, 'beforeBind' | 'subprotocols'> {
  /**
   * Local transports: how long an accepted connection may take to say HELLO (protocol v2)
   * before it is served in seed mode, in ms (default 100; raise it on loaded hosts). A seed
   * client that only receives waits up to that long for its first message.
   */
  readonly negotiationTimeoutMs?: number;
  /**
   * Abstract Unix sockets (`@name`, Linux) have no file mode, so any local user could connect:
   * by default the listener serves only connections from its own user (the peer's uid, read
   * with `SO_PEERCRED`) and closes the others at once. `true` serves every local user. Socket
   * paths are guarded by their file mode (0600) instead and ignore this.
   */
  readonly allowOtherUsers?: boolean;
}

/** Internal: the same options plus the detection inputs tests and tools may pin. */
export type WithDetect<T> = T & Pick<DetectOptions, 'env' | 'platform'>;

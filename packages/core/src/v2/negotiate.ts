import { CONTROL_TYPES, FrameTooLargeError, V2_PROTOCOL_VERSION, parseControlHeader } from '@ipcez/framing';
import type { IpcezError } from '@ipcez/framing';
import type { MessageConnection } from '../engine/message-connection.js';
import { AckUnavailableError, ProtocolError, RecipientAckTimeoutError } from '../errors.js';
import { InBandAcks, describeControl } from './in-band-acks.js';

function header(type: number, value: number): number {
  return ((0x80 | type) * 0x100_0000 + value) >>> 0;
}

/** HELLO 2: the first 4 bytes a v2 client writes. */
export const HELLO_V2: number = header(CONTROL_TYPES.HELLO, V2_PROTOCOL_VERSION);
/** HELLO_REPLY 2: the server agrees to protocol v2. */
export const HELLO_REPLY_V2: number = header(CONTROL_TYPES.HELLO_REPLY, V2_PROTOCOL_VERSION);
/** HELLO_REPLY 0: the server keeps seed mode. */
export const HELLO_REPLY_SEED: number = header(CONTROL_TYPES.HELLO_REPLY, 0);

/**
 * How long an accepted connection waits for its first header before the server chooses seed
 * mode (docs/PROTOCOL.md §5): 100 ms.
 */
export const DEFAULT_NEGOTIATION_TIMEOUT_MS = 100;

/** What a client's negotiation ended in. `retry`: the connection closed before any reply. */
export type ClientNegotiation =
  | {
      /** The server answered HELLO_REPLY 2. */
      readonly mode: 'v2';
      /** The connection's in-band acks, already started. */
      readonly acks: InBandAcks;
    }
  | {
      /** HELLO_REPLY 0, or a data frame before any reply. */
      readonly mode: 'seed';
    }
  | {
      /** The connection closed before any reply (a stale marker): connect again without HELLO. */
      readonly mode: 'retry';
    };

/** What a server's negotiation ended in. */
export type ServerNegotiation =
  | {
      /** The client said HELLO 2 (or more): HELLO_REPLY 2 was queued. */
      readonly mode: 'v2';
      /** The connection's in-band acks, already started. */
      readonly acks: InBandAcks;
    }
  | {
      /** A data frame came first, an older HELLO, or nothing within the pending time. */
      readonly mode: 'seed';
      /** Whether a data frame decided it (that read batch is passed to `onDecision`). */
      readonly isDataFirst: boolean;
    };

const NEGOTIATING = Symbol('protocol v2 negotiation');

/** In seed mode a header with the top bit set is a length over the limit. */
function tooLarge(connection: MessageConnection, value: number): FrameTooLargeError {
  return new FrameTooLargeError(value, connection.maxMessageBytes, 'announced');
}

/**
 * In seed mode after a data-first answer: exactly one HELLO_REPLY 0 may still arrive, between
 * any two data frames, and is consumed; any other top-bit header is an oversized length.
 */
function seedAfterDataFirst(connection: MessageConnection, isReplyConsumed = false): void {
  connection.setControlHandler((value) => {
    if (value === HELLO_REPLY_SEED && !isReplyConsumed) {
      isReplyConsumed = true;
      return;
    }
    throw tooLarge(connection, value);
  });
}

/** A client's wait for the server's answer, as both client negotiations run it. */
interface AnswerWait<T> {
  readonly promise: Promise<T>;
  /** Settles the wait once (later calls do nothing): releases the held sends and the watches. */
  readonly finish: (outcome: T | { readonly error: unknown }) => void;
  /** Whether it settled. */
  readonly isSettled: () => boolean;
  /** Released when it settles. */
  readonly disposables: Disposable[];
}

/**
 * Starts a client's wait for the server's answer: the caller's sends are held, and the wait
 * is bounded by `ackTimeoutMs` (then it rejects with `timeoutError()`, the connection
 * destroyed with it) and by `signal` (then with `signal.reason`, the connection destroyed).
 */
function waitForAnswer<T extends object>(
  connection: MessageConnection,
  ackTimeoutMs: number,
  signal: AbortSignal | undefined,
  timeoutError: () => IpcezError,
): AnswerWait<T> {
  let isSettled = false;
  let settle!: (outcome: T | { readonly error: unknown }) => void;
  const disposables: Disposable[] = [];
  const promise = new Promise<T>((resolve, reject) => {
    settle = (outcome) => {
      // The signal's reason is whatever the caller aborted with, as every abort in ipcez rejects.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome);
    };
  });
  const finish = (outcome: T | { readonly error: unknown }): void => {
    if (isSettled) return;
    isSettled = true;
    clearTimeout(timer);
    connection.releaseSends(NEGOTIATING);
    for (const disposable of disposables.splice(0)) disposable[Symbol.dispose]();
    settle(outcome);
  };
  const timer = setTimeout(() => {
    const error = timeoutError();
    finish({ error });
    connection.destroy(error);
  }, ackTimeoutMs);
  if (signal !== undefined) {
    const onAbort = (): void => {
      finish({ error: signal.reason });
      connection.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    disposables.push({
      [Symbol.dispose]: () => {
        signal.removeEventListener('abort', onAbort);
      },
    });
  }
  // Nothing of the caller's goes out before the answer.
  connection.holdSends(NEGOTIATING);
  return { promise, finish, isSettled: () => isSettled, disposables };
}

// Client (docs/PROTOCOL.md §5, "Client"): right after connecting, when the listener's marker
// exists. HELLO goes out first; the answer decides:
//
//   HELLO_REPLY 2 -> v2 (acks start synchronously, before any later frame is delivered)
//   HELLO_REPLY 0 -> seed
//   data first    -> seed; one HELLO_REPLY 0 that may follow is consumed silently
//   closed first  -> retry (a stale marker before a seed-only server)
//   other control -> ProtocolError; nothing in time -> RecipientAckTimeoutError (destroyed)

/**
 * Runs the client side of protocol v2's negotiation on a fresh connection (call it before
 * anything else is written).
 *
 * @param connection - the connection, just connected.
 * @param ackTimeoutMs - bounds the wait for the answer; also the v2 acks' timeout.
 * @param signal - aborts the wait (the connection is destroyed).
 * @returns how it ended; rejects with `RecipientAckTimeoutError`, a `ProtocolError` or
 *   `signal.reason`, having destroyed the connection.
 */
export function negotiateClient(
  connection: MessageConnection,
  ackTimeoutMs: number,
  signal?: AbortSignal,
): Promise<ClientNegotiation> {
  const { promise, finish, isSettled, disposables } = waitForAnswer<ClientNegotiation>(
    connection,
    ackTimeoutMs,
    signal,
    () => new RecipientAckTimeoutError(ackTimeoutMs),
  );
  connection.setControlHandler((value, precedingMessages) => {
    if (isSettled()) throw tooLarge(connection, value);
    if (precedingMessages > 0) {
      // Data came first in this very read: seed mode, and this is the one reply that may follow.
      seedAfterDataFirst(connection, value === HELLO_REPLY_SEED);
      finish({ mode: 'seed' });
      if (value !== HELLO_REPLY_SEED) throw tooLarge(connection, value);
      return;
    }
    if (value === HELLO_REPLY_V2) {
      finish({ mode: 'v2', acks: new InBandAcks(connection, ackTimeoutMs) });
      return;
    }
    if (value === HELLO_REPLY_SEED) {
      connection.setControlHandler(undefined);
      finish({ mode: 'seed' });
      return;
    }
    throw new ProtocolError(`expected HELLO_REPLY 2 or 0 after HELLO, got ${describeControl(value)}`);
  });
  connection.queueControl(HELLO_V2);
  // Last: messages read before the negotiation began are observed at once, as one batch.
  disposables.push(
    connection.observeReads(() => {
      // A data frame before any reply: the server chose seed mode before it saw HELLO.
      if (isSettled()) return;
      seedAfterDataFirst(connection);
      finish({ mode: 'seed' });
    }),
    connection.onEnd((error: IpcezError) => {
      if (error.code === 'IPCEZ_ERR_PROTOCOL' || error.code === 'IPCEZ_ERR_FRAME_TOO_LARGE') finish({ error });
      else finish({ mode: 'retry' });
    }),
  );
  return promise;
}

// Server, per accepted connection (docs/PROTOCOL.md §5, "Server"): pending until the first
// complete header arrives; the caller's sends wait meanwhile (in order), at most `pendingMs`:
//
//   HELLO v >= 2 -> HELLO_REPLY 2, v2         HELLO v < 2 -> HELLO_REPLY 0, seed
//   data header  -> seed                      pendingMs without a header -> seed (sends go out)
//   then, in seed mode, a HELLO that is the very first header (late) -> HELLO_REPLY 0, stay seed
//   any other control header first -> ProtocolError

/**
 * Runs the server side of protocol v2's negotiation on an accepted connection. The
 * connection's sends are held until it decides.
 *
 * @param connection - the accepted connection (its link must carry control headers).
 * @param pendingMs - how long to wait for the first header before choosing seed mode.
 * @param ackTimeoutMs - the v2 acks' timeout for this side's acked sends.
 * @param onDecision - called synchronously when it decides, before any later frame is
 *   delivered, with the batch that decided it when data came first (so a seed-mode decorator
 *   can start at once, and ack that batch itself).
 * @returns how it ended (never rejects: a protocol error ends the connection instead).
 */
export function negotiateServer(
  connection: MessageConnection,
  pendingMs: number,
  ackTimeoutMs: number,
  onDecision?: (outcome: ServerNegotiation, firstBatch?: readonly Uint8Array[]) => void,
): Promise<ServerNegotiation> {
  return new Promise<ServerNegotiation>((resolve) => {
    let decision: ServerNegotiation | undefined;
    let hasSeenHeader = false;
    const watches: Disposable[] = [];
    const decide = (outcome: ServerNegotiation, firstBatch?: readonly Uint8Array[]): void => {
      if (decision !== undefined) return;
      decision = outcome;
      clearTimeout(timer);
      onDecision?.(outcome, firstBatch);
      connection.releaseSends(NEGOTIATING);
      resolve(outcome);
    };
    const firstHeaderSeen = (): void => {
      hasSeenHeader = true;
      for (const disposable of watches.splice(0)) disposable[Symbol.dispose]();
    };
    connection.holdSends(NEGOTIATING);
    const timer = setTimeout(() => {
      // Timers run before the event loop polls for I/O: a HELLO that arrived in time but was
      // not read yet (a busy loop) is read in this iteration's poll phase, before this decides.
      setImmediate(() => {
        decide({ mode: 'seed', isDataFirst: false });
      });
    }, pendingMs);
    watches.push(
      connection.observeReads((messages) => {
        if (hasSeenHeader) return;
        // A data header first: seed mode; from now on a top-bit header is an oversized length.
        firstHeaderSeen();
        connection.setControlHandler(undefined);
        decide({ mode: 'seed', isDataFirst: true }, messages);
      }),
      connection.onEnd(() => {
        firstHeaderSeen();
        decide({ mode: 'seed', isDataFirst: false });
      }),
    );
    connection.setControlHandler((value, precedingMessages) => {
      if (hasSeenHeader || precedingMessages > 0) throw tooLarge(connection, value);
      firstHeaderSeen();
      const control = parseControlHeader(value);
      if (control?.type !== CONTROL_TYPES.HELLO) {
        throw new ProtocolError(`expected HELLO or a data frame first, got ${describeControl(value)}`);
      }
      if (decision === undefined && control.value >= V2_PROTOCOL_VERSION) {
        connection.queueControl(HELLO_REPLY_V2);
        decide({ mode: 'v2', acks: new InBandAcks(connection, ackTimeoutMs) });
        return;
      }
      // An older version, or a HELLO that came after the pending time ran out: seed mode.
      connection.queueControl(HELLO_REPLY_SEED);
      connection.setControlHandler(undefined);
      decide({ mode: 'seed', isDataFirst: false });
    });
  });
}

// Over WebSocket (docs/PROTOCOL.md §5.6) the opening handshake does the discovery: the client
// offers the `ipcez.v2` subprotocol, and a server that selects it sends `hello 2` (HELLO_REPLY 2
// on the link's control seam) before anything else. The client is in v2 only after it:
//
//   hello 2 first                           -> v2 (acks start before any later message is delivered)
//   other text / binary first / nothing in
//   time / closed first                     -> AckUnavailableError, the connection closed (1002)

/**
 * Protocol v2 where the transport already agreed on it (a WebSocket whose handshake selected
 * `ipcez.v2`), client side: waits for the server's HELLO_REPLY 2 (`hello 2`) as the very first
 * message, then starts in-band acks. Sends are held until then.
 *
 * @param connection - the connection, just connected (its link must carry control messages).
 * @param ackTimeoutMs - bounds the wait; also the v2 acks' timeout.
 * @param signal - aborts the wait (the connection is destroyed).
 * @returns the connection's in-band acks, started; rejects with `AckUnavailableError` (the
 *   connection then closed with a protocol error, 1002 on a WebSocket) or `signal.reason`.
 */
export function awaitHelloReply(
  connection: MessageConnection,
  ackTimeoutMs: number,
  signal?: AbortSignal,
): Promise<InBandAcks> {
  const refusal = (detail: string): AckUnavailableError =>
    new AckUnavailableError(`the server at ${connection.endpoint} selected ipcez.v2 but ${detail}`);
  const { promise, finish, disposables } = waitForAnswer<InBandAcks>(connection, ackTimeoutMs, signal, () =>
    refusal(`sent nothing within ${ackTimeoutMs} ms (expected "hello 2" first)`),
  );
  connection.setControlHandler((value, precedingMessages) => {
    if (precedingMessages === 0 && value === HELLO_REPLY_V2) {
      finish(new InBandAcks(connection, ackTimeoutMs));
      return;
    }
    throw refusal(`sent ${describeControl(value)} first, not "hello 2"`);
  });
  disposables.push(
    connection.observeReads(() => {
      const error = refusal('sent a binary message first, not "hello 2"');
      finish({ error });
      connection.destroy(error);
    }),
    connection.onEnd((error: IpcezError) => {
      finish({
        error:
          error.code === 'IPCEZ_ERR_ACK_UNAVAILABLE'
            ? error
            : new AckUnavailableError(
                `the server at ${connection.endpoint} selected ipcez.v2 but the connection ended before "hello 2" (${error.message})`,
                { cause: error },
              ),
      });
    }),
  );
  return promise;
}

/**
 * Protocol v2 where the transport already agreed on it (a WebSocket whose handshake selected
 * `ipcez.v2`), server side: queues HELLO_REPLY 2 (`hello 2`) ahead of everything else and
 * starts in-band acks (messages already read are acked at once).
 *
 * @param connection - the accepted connection (its link must carry control messages).
 * @param ackTimeoutMs - the v2 acks' timeout for this side's acked sends.
 * @returns the connection's in-band acks, started.
 */
export function sendHelloReply(connection: MessageConnection, ackTimeoutMs: number): InBandAcks {
  connection.queueControl(HELLO_REPLY_V2);
  return new InBandAcks(connection, ackTimeoutMs);
}

import { ConnectionLostError, invalidArgError } from '@ipcez/core';
import type { AckBackend, NativeSignal, SignalFile } from './ack-backend.js';
import { canonicalSocketPath } from './canonical-socket-path.js';
import { loadAckBackend } from './platform/index.js';
import { SharedSignal } from './shared-signal.js';
import { deriveSignalNames } from './signal-names.js';
import type { SignalNames, SignalPlatform } from './signal-names.js';

/** Who opens a pair: a `listener` starts it fresh (unlink, create); a `client` opens it, creating it if missing. */
export type SignalPairRole = 'client' | 'listener';

/** A pair's state: `open` → (`close()`: `closing` → `closed`). */
export type SignalPairState = 'open' | 'closing' | 'closed';

/** Where a pair's signals live: POSIX semaphores, or the Windows `Global\` / `Local\` namespace. */
export type SignalNamespace = 'posix' | 'global' | 'local';

/** Options of {@link openSignalPair}. */
export interface OpenSignalPairOptions {
  /**
   * `'client'` (default): open the pair, creating it if missing, never resetting it.
   * `'listener'`: start the pair fresh: unlink it (Linux) or drain it (Windows), then create
   * it at zero. Only a listener that has made sure no live server answers may do this.
   */
  readonly role?: SignalPairRole;
}

/** The largest timeout `setTimeout` honours: 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;
const CONSTRUCT = Symbol('SignalPair.construct');

/**
 * One endpoint's "data ready" / "data acked" signal pair (DESIGN.md "Delivery
 * acknowledgement"): POSIX named semaphores on Linux, named auto-reset events on Windows.
 * Create it with {@link openSignalPair}.
 *
 * **Ownership.** The pair owns its native handles and closes them in `close()` (signals
 * shared with other pairs of the same process stay open until the last pair closes). It
 * never unlinks the names unless `unlink()` is called.
 *
 * **Counting.** On Linux each signal counts exactly; on Windows an event is binary, so two
 * posts before a wait wake one waiter (`isCounting` is `false`), see the README.
 *
 * @example
 * ```ts
 * const pair = await openSignalPair('/tmp/app.sock');
 * pair.signalReady();
 * // ... write the frame ...
 * await pair.waitAcked(5000);
 * await pair.close();
 * ```
 */
export class SignalPair implements AsyncDisposable {
  /** The endpoint as named: the canonical socket path or `@name` (Linux), the pipe name (Windows). */
  readonly endpoint: string;
  /** The derived names (see {@link deriveSignalNames}). */
  readonly names: SignalNames;
  /** Whether the signals count exactly (Linux) or are binary events (Windows). */
  readonly isCounting: boolean;
  readonly #backend: AckBackend;
  readonly #ready: SharedSignal;
  readonly #acked: SharedSignal;
  #state: SignalPairState = 'open';
  #closing: Promise<void> | undefined;
  /** The protocol v2 marker this pair created (a listener's, after {@link SignalPair.advertiseV2}). */
  #marker: NativeSignal | undefined;
  /**
   * The files behind the names this pair created (a listener's, Linux), by name: `unlink()`
   * removes a name only while it is still the one created here, so a listener never removes
   * the signals of another one that started after it on the same path.
   */
  readonly #created = new Map<string, SignalFile | undefined>();

  /**
   * Internal: use {@link openSignalPair}.
   * @param token - a module-private token.
   * @param endpoint - the endpoint.
   * @param names - the derived names.
   * @param backend - the platform backend.
   * @param ready - the shared "data ready" signal.
   * @param acked - the shared "data acked" signal.
   * @param isCreator - whether this pair just created the names fresh (a listener's).
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when called directly.
   */
  constructor(
    token: symbol,
    endpoint: string,
    names: SignalNames,
    backend: AckBackend,
    ready: SharedSignal,
    acked: SharedSignal,
    isCreator: boolean,
  ) {
    if (token !== CONSTRUCT) throw invalidArgError('SignalPair is created with openSignalPair(), not new');
    this.endpoint = endpoint;
    this.names = names;
    this.#backend = backend;
    this.isCounting = backend.isCounting;
    this.#ready = ready;
    this.#acked = acked;
    if (isCreator) for (const name of [names.ready, names.acked]) this.#created.set(name, backend.identify(name));
  }

  /** See {@link SignalPairState}. */
  get state(): SignalPairState {
    return this.#state;
  }

  /** `'posix'` on Linux; `'global'`, or `'local'` after a `Local\` fallback, on Windows. */
  get namespace(): SignalNamespace {
    if (this.isCounting) return 'posix';
    return this.#acked.nativeName.startsWith('Local\\') ? 'local' : 'global';
  }

  /**
   * Posts "data ready": a sender calls it just before writing a frame. Never blocks.
   * @throws ConnectionLostError (`IPCEZ_ERR_CONNECTION_LOST`) when the pair is closed.
   * @throws IoError (`IPCEZ_ERR_IO`) when the OS refuses (e.g. `EOVERFLOW`).
   */
  signalReady(): void {
    this.#assertOpen();
    this.#ready.post();
  }

  /**
   * Takes one "data ready" if there is one, never blocking: a recipient calls it for each
   * frame read, before {@link SignalPair.signalAcked}.
   * @returns whether a token was taken.
   * @throws ConnectionLostError (`IPCEZ_ERR_CONNECTION_LOST`) when the pair is closed.
   * @throws IoError (`IPCEZ_ERR_IO`) on an OS failure.
   */
  tryTakeReady(): boolean {
    this.#assertOpen();
    return this.#ready.tryTake();
  }

  /**
   * Posts "data acked": a recipient calls it for each frame read, before delivering it.
   * @throws ConnectionLostError (`IPCEZ_ERR_CONNECTION_LOST`) when the pair is closed.
   * @throws IoError (`IPCEZ_ERR_IO`) when the OS refuses.
   */
  signalAcked(): void {
    this.#assertOpen();
    this.#acked.post();
  }

  /**
   * Waits for one "data acked", without blocking the event loop. However many calls wait,
   * this process keeps at most one native wait in flight (one libuv pool thread, in slices of
   * at most 100 ms; other waiting signals are polled every millisecond) and hands each acquired
   * ack to the oldest waiter. The timeout
   * runs on Node's monotonic timer clock, not the wall clock.
   *
   * @param timeoutMs - how long to wait, 0 to 2^31 - 1 ms.
   * @param signal - aborts the wait; rejects with `signal.reason`.
   * @returns resolves once an ack was taken for this call.
   * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad `timeoutMs` or `signal`, synchronously.
   * @throws RecipientAckTimeoutError (`IPCEZ_ERR_ACK_TIMEOUT`, as a rejection) when none came in time.
   * @throws ConnectionLostError (`IPCEZ_ERR_CONNECTION_LOST`, as a rejection) when the pair is closed.
   * @example
   * ```ts
   * await pair.waitAcked(5000, AbortSignal.timeout(1000));
   * ```
   */
  waitAcked(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMEOUT_MS) {
      throw invalidArgError(
        `timeoutMs must be a number from 0 to ${MAX_TIMEOUT_MS}, got ${String(timeoutMs)}`,
        'range',
      );
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw invalidArgError('signal must be an AbortSignal');
    }
    if (this.#state !== 'open') return Promise.reject(this.#closedError());
    return this.#acked.wait(this, timeoutMs, signal);
  }

  /** Whether this pair advertises protocol v2 (see {@link SignalPair.advertiseV2}). */
  get isAdvertisingV2(): boolean {
    return this.#marker !== undefined;
  }

  /**
   * Creates the endpoint's protocol v2 marker (`<base>.v2`, same mode as the pair), so that
   * clients say HELLO and acks travel in-band on each connection (docs/PROTOCOL.md, "Protocol
   * v2"). A listener calls it after opening its pair (`role: 'listener'`) and before it binds;
   * {@link SignalPair.unlink} removes the marker first. On Windows the marker is an event that
   * lives while this pair holds it open. Idempotent.
   * @throws ConnectionLostError (`IPCEZ_ERR_CONNECTION_LOST`) when the pair is closed.
   * @throws AckUnavailableError (`IPCEZ_ERR_ACK_UNAVAILABLE`) when the OS refuses to create it.
   */
  advertiseV2(): void {
    this.#assertOpen();
    if (this.#marker !== undefined) return;
    this.#backend.unlink(this.names.marker);
    this.#marker = this.#backend.open(this.names.marker, 'fresh');
    this.#created.set(this.names.marker, this.#backend.identify(this.names.marker));
  }

  /**
   * Removes the names (Linux `sem_unlink`): the v2 marker first, then the pair. Processes that
   * hold them keep using them; new opens get new ones. A missing name is not an error. No-op on
   * Windows, where an event goes away with its last handle. A listener calls it first when it
   * closes.
   * @throws IoError (`IPCEZ_ERR_IO`) when the OS refuses (e.g. another user's semaphore).
   */
  unlink(): void {
    if (this.#marker !== undefined) this.#unlinkIfOurs(this.names.marker);
    this.#unlinkIfOurs(this.names.ready);
    this.#unlinkIfOurs(this.names.acked);
  }

  #unlinkIfOurs(name: string): void {
    const created = this.#created.get(name);
    if (created !== undefined) {
      // Proven by inode: remove the name only while it is still the file created here.
      const now = this.#backend.identify(name);
      if (now?.dev !== created.dev || now.ino !== created.ino) return;
    }
    this.#backend.unlink(name);
  }

  /**
   * Closes the native handles: waits still pending reject with `ConnectionLostError`
   * (`'local-close'`). Does not unlink. Idempotent; returns the same promise every call.
   * @returns resolves when the handles are closed (after at most one wait slice).
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closing';
    this.#marker?.close();
    this.#marker = undefined;
    const error = this.#closedError();
    this.#closing = Promise.all([this.#ready.release(this, error), this.#acked.release(this, error)]).then(() => {
      this.#state = 'closed';
    });
    return this.#closing;
  }

  /** Same as {@link SignalPair.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #closedError(): ConnectionLostError {
    return new ConnectionLostError('local-close', `the signal pair of ${this.endpoint} is closed`);
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw this.#closedError();
  }
}

async function open(endpoint: string, role: SignalPairRole): Promise<SignalPair> {
  const backend = await loadAckBackend();
  const platform: SignalPlatform = process.platform === 'win32' ? 'win32' : 'linux';
  const canonical = platform === 'linux' ? await canonicalSocketPath(endpoint) : endpoint;
  const names = deriveSignalNames(canonical, platform);
  const mode = role === 'listener' ? 'fresh' : 'open';
  // Every listener, v2 or not, removes a marker a crashed v2 listener left, before it starts the
  // pair fresh: otherwise clients would say HELLO to a server that may not speak v2.
  if (role === 'listener') backend.unlink(names.marker);
  const ready = SharedSignal.acquire(backend, names.ready, mode);
  let acked: SharedSignal;
  try {
    acked = SharedSignal.acquire(backend, names.acked, mode);
  } catch (error) {
    await ready.release(ready, new ConnectionLostError('local-close', 'opening the pair failed', { cause: error }));
    throw error;
  }
  return new SignalPair(CONSTRUCT, canonical, names, backend, ready, acked, role === 'listener');
}

/**
 * Opens one endpoint's signal pair.
 *
 * Order (DESIGN.md): a **listener** first makes sure no live server answers the endpoint,
 * then calls this with `role: 'listener'` (unlink, create at zero), then binds; on close it
 * calls `unlink()` first, then removes its socket, then `close()`. A **client** calls this
 * (default role) after connecting, and never unlinks.
 *
 * **Platform behaviour.** Linux: `endpoint` is a socket path (canonicalised here with
 * {@link canonicalSocketPath}) or `@name`; the semaphores are created with mode 0600 and
 * value 0. Windows: `endpoint` is the pipe name (`\\.\pipe\name` or `name`); the events are
 * auto-reset, created in `Global\`, or in `Local\` when that is denied (one line on stderr).
 * Other platforms: `AckUnavailableError`.
 *
 * @param endpoint - the socket path or `@name` (Linux), or pipe name (Windows).
 * @param options - {@link OpenSignalPairOptions}.
 * @returns the open pair.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) for a bad `endpoint` or `role`, synchronously.
 * @throws AckUnavailableError (`IPCEZ_ERR_ACK_UNAVAILABLE`, as a rejection) when koffi or the OS
 *   primitive is unavailable or refuses (the message says how to run without acks).
 * @throws IoError (`IPCEZ_ERR_IO`, as a rejection) when the socket's directory cannot be
 *   resolved, or a listener cannot unlink the old pair.
 * @example
 * ```ts
 * const pair = await openSignalPair('/tmp/app.sock', { role: 'listener' });
 * ```
 */
export function openSignalPair(endpoint: string, options: OpenSignalPairOptions = {}): Promise<SignalPair> {
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    throw invalidArgError(`endpoint must be a non-empty string, got ${JSON.stringify(endpoint)}`);
  }
  // Checked as unknown: JavaScript callers can pass anything.
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) throw invalidArgError('options must be an object');
  const role: unknown = options.role ?? 'client';
  if (role !== 'client' && role !== 'listener') {
    throw invalidArgError(`role must be 'client' or 'listener', got ${JSON.stringify(role)}`);
  }
  return open(endpoint, role);
}

/**
 * Whether the endpoint's listener advertises protocol v2: its marker (`<base>.v2`) exists. Looks
 * the marker up without creating anything. A client calls it after connecting, to decide
 * whether to say HELLO (docs/PROTOCOL.md, "Protocol v2").
 *
 * **Platform behaviour.** Linux: `endpoint` is a socket path (canonicalised) or `@name`; the
 * marker is a POSIX named semaphore. Windows: `endpoint` is the pipe name; the marker is the
 * event `Global\<pipename>.v2` (or `Local\`). Other platforms: `AckUnavailableError`.
 *
 * @param endpoint - the socket path or `@name` (Linux), or pipe name (Windows).
 * @returns whether the marker exists now.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) for a bad `endpoint`, synchronously.
 * @throws AckUnavailableError (`IPCEZ_ERR_ACK_UNAVAILABLE`, as a rejection) where named signals
 *   are unavailable.
 * @example
 * ```ts fragment
 * const v2 = await hasV2Marker('/tmp/app.sock');
 * ```
 */
export function hasV2Marker(endpoint: string): Promise<boolean> {
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    throw invalidArgError(`endpoint must be a non-empty string, got ${JSON.stringify(endpoint)}`);
  }
  return lookUpMarker(endpoint);
}

async function lookUpMarker(endpoint: string): Promise<boolean> {
  const backend = await loadAckBackend();
  const platform: SignalPlatform = process.platform === 'win32' ? 'win32' : 'linux';
  const canonical = platform === 'linux' ? await canonicalSocketPath(endpoint) : endpoint;
  return backend.exists(deriveSignalNames(canonical, platform).marker);
}

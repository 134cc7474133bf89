import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { EndpointInUseError, invalidArgError } from '@ipcez/core';
import { canonicalSocketPath } from './canonical-socket-path.js';

/** Options of {@link acquireListenerLock}. */
export interface ListenerLockOptions {
  /** How long to wait for another process's listener start to finish; default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Stops waiting; rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** A held listener lock: {@link ListenerLock.release} (or `await using`) lets the next start go. */
export interface ListenerLock extends AsyncDisposable {
  /** Releases the lock. Idempotent; same promise every call. */
  release(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const RETRY_MS = 10;

// Why a lock: a listener starts the signal pair fresh (unlink, create) after checking that no
// live server answers, and only then binds. Two listeners starting on one path at the same
// moment both pass the check; the second one's fresh start unlinked the first one's pair, and
// the first one, winning the bind, served with signals nobody else could find (every acked send
// to it timed out). Holding this lock from before the check until the bind is done makes the
// second listener see a live server instead, and touch nothing.
//
// Linux: the lock is an abstract Unix socket bound under a name derived from the canonical
// socket path. The kernel releases it when the process dies, so a crash never leaves it held,
// and it leaves nothing in the file system.

/**
 * Takes the cross-process lock that serialises listener starts on one endpoint: hold it from
 * before the liveness check until the listener is bound, then release it.
 *
 * **Platform behaviour.** Linux: an abstract Unix socket `\0ipcez-lock-<sha256 of the canonical
 * socket path>`, released by the kernel if the process dies. Elsewhere it holds nothing and
 * resolves at once: Windows events cannot be unlinked, so a losing listener cannot remove the
 * winner's signals there, and other platforms have no named signals.
 *
 * @param endpoint - the socket path (absolute or relative) or `@name`.
 * @param options - {@link ListenerLockOptions}.
 * @returns the held lock.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a bad argument.
 * @throws EndpointInUseError (`IPCEZ_ERR_ENDPOINT_IN_USE`, as a rejection) when another
 *   process's listener start holds the lock past `timeoutMs`; `signal.reason` when aborted;
 *   IoError when the socket's directory cannot be resolved.
 * @example
 * ```ts fragment
 * const lock = await acquireListenerLock('/tmp/app.sock');
 * try {
 *   // check that no live server answers, start the pair fresh, bind
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export function acquireListenerLock(endpoint: string, options: ListenerLockOptions = {}): Promise<ListenerLock> {
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    throw invalidArgError(`endpoint must be a non-empty string, got ${JSON.stringify(endpoint)}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw invalidArgError(`timeoutMs must be a non-negative number, got ${String(timeoutMs)}`, 'range');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalidArgError('signal must be an AbortSignal');
  }
  if (process.platform !== 'linux') return Promise.resolve(heldNothing);
  return acquire(endpoint, timeoutMs, options.signal);
}

const heldNothing: ListenerLock = {
  release: () => Promise.resolve(),
  [Symbol.asyncDispose]: () => Promise.resolve(),
};

async function acquire(endpoint: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<ListenerLock> {
  signal?.throwIfAborted();
  const canonical = await canonicalSocketPath(endpoint);
  const digest = createHash('sha256').update(canonical).digest('hex').slice(0, 40);
  const address = `\0ipcez-lock-${digest}`;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const server = net.createServer();
    try {
      server.listen(address);
      await once(server, 'listening');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || performance.now() >= deadline) {
        throw new EndpointInUseError(canonical, { cause: error });
      }
      await delay(RETRY_MS + Math.random() * RETRY_MS, undefined, signal === undefined ? {} : { signal });
      continue;
    }
    // Held only while a listener starts: it must not keep the process alive by itself.
    server.unref();
    let released: Promise<void> | undefined;
    const release = (): Promise<void> => {
      released ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      return released;
    };
    return { release, [Symbol.asyncDispose]: release };
  }
}

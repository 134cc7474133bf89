import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgError } from '@ipcez/core';
import { debug } from './debug.js';

/**
 * How `connect` waits for a server that is not there yet: `retry: n` is shorthand for
 * `{ attempts: n }`. Each retry waits a capped exponential backoff with jitter:
 * `min(maxDelayMs, minDelayMs * factor ** k)`, the upper half of it chosen at random (so many
 * clients started together do not retry in step).
 */
export interface RetryOptions {
  /** Retries after the first attempt (a non-negative integer, or `Infinity`: until `signal` aborts). Default 10. */
  readonly attempts?: number;
  /** The first delay, in ms (default 50). */
  readonly minDelayMs?: number;
  /** The largest delay, in ms (default 2000). */
  readonly maxDelayMs?: number;
  /** Growth per retry, at least 1 (default 2). */
  readonly factor?: number;
  /**
   * Stop retrying once this many ms passed since the first attempt (monotonic clock), and
   * throw the last failure (default: no limit but `attempts`).
   */
  readonly withinMs?: number;
}

/** Internal: {@link RetryOptions} checked, defaults applied. */
export interface ResolvedRetry {
  readonly attempts: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  readonly withinMs: number;
}

const DEFAULTS: ResolvedRetry = { attempts: 10, minDelayMs: 50, maxDelayMs: 2000, factor: 2, withinMs: Infinity };

function check(name: string, value: unknown, ok: (v: number) => boolean, what: string): void {
  if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) {
    throw invalidArgError(`${name} must be ${what}, got ${String(value)}`, 'range');
  }
}

/**
 * Validates `retry` (a count or {@link RetryOptions}); `undefined` and `0` mean no retry.
 *
 * @throws TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`) for anything else.
 */
export function resolveRetry(value: number | RetryOptions | undefined): ResolvedRetry | undefined {
  if (value === undefined || value === 0) return undefined;
  if (typeof value === 'number') return resolveRetry({ attempts: value });
  const raw: unknown = value; // callers without types may pass anything
  if (typeof raw !== 'object' || raw === null) {
    throw invalidArgError(
      `retry must be a number of attempts or { attempts, minDelayMs, maxDelayMs, factor }, got ${typeof value}`,
    );
  }
  const known = new Set(['attempts', 'minDelayMs', 'maxDelayMs', 'factor', 'withinMs']);
  const unknown = Object.keys(value).filter((key) => !known.has(key));
  if (unknown.length > 0) throw invalidArgError(`retry: unknown option(s) ${unknown.join(', ')}`);
  const resolved: ResolvedRetry = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)),
  };
  check(
    'retry.attempts',
    resolved.attempts,
    (v) => v >= 0 && (Number.isInteger(v) || v === Infinity),
    'a non-negative integer or Infinity',
  );
  check('retry.minDelayMs', resolved.minDelayMs, (v) => Number.isFinite(v) && v >= 0, 'a non-negative number of ms');
  check(
    'retry.maxDelayMs',
    resolved.maxDelayMs,
    (v) => Number.isFinite(v) && v >= resolved.minDelayMs,
    'a number of ms >= minDelayMs',
  );
  check('retry.factor', resolved.factor, (v) => Number.isFinite(v) && v >= 1, 'a number >= 1');
  check('retry.withinMs', resolved.withinMs, (v) => v > 0, 'a positive number of ms');
  return resolved.attempts === 0 ? undefined : resolved;
}

/**
 * Whether a connect failure means "no server there (yet)": the socket file or pipe is missing
 * (`ENOENT`), nothing accepts on it (`ECONNREFUSED`, also for a WebSocket URL's TCP port), or
 * the server went away while the connection was being set up (`ECONNRESET`, or the connection
 * lost during the ack handshake: a server being killed while a client reconnects). Nothing
 * else is retried: permission denied, a TLS or handshake failure, a bad endpoint.
 */
export function isServerMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'IPCEZ_ERR_CONNECTION_LOST') return true;
  if (code !== 'IPCEZ_ERR_IO') return false;
  const osCode = (error as { osCode?: unknown }).osCode;
  return osCode === 'ENOENT' || osCode === 'ECONNREFUSED' || osCode === 'ECONNRESET';
}

/** The delay before retry number `k` (0-based): capped exponential, upper half jittered. */
export function backoffDelayMs(retry: ResolvedRetry, k: number, random: () => number = Math.random): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.minDelayMs * retry.factor ** k);
  return ceiling / 2 + (random() * ceiling) / 2;
}

/**
 * Runs `attempt` until it succeeds, fails with something other than "no server there", or
 * the retries are spent (then the last failure is thrown). `signal` aborts the wait between
 * attempts (rejecting with `signal.reason`) as well as the attempt itself.
 */
export async function withRetry<T>(
  endpoint: string,
  attempt: () => Promise<T>,
  retry: ResolvedRetry | undefined,
  signal: AbortSignal | undefined,
): Promise<T> {
  const start = performance.now();
  for (let k = 0; ; k++) {
    try {
      return await attempt();
    } catch (error) {
      const left = retry === undefined ? 0 : retry.withinMs - (performance.now() - start);
      if (retry === undefined || k >= retry.attempts || left <= 0 || !isServerMissing(error)) {
        debug('connect %s failed after %d attempt(s): %s', endpoint, k + 1, (error as Error).message);
        throw error;
      }
      const delayMs = Math.min(backoffDelayMs(retry, k), left);
      debug(
        'connect %s: no server yet (%s), retry %d in %d ms',
        endpoint,
        (error as { osCode?: string }).osCode ?? (error as { code?: string }).code,
        k + 1,
        Math.round(delayMs),
      );
      try {
        await sleep(delayMs, undefined, signal === undefined ? undefined : { signal });
      } catch (sleepError) {
        // timers/promises rejects with its own AbortError; the contract is signal.reason.
        if (signal?.aborted === true) throw signal.reason;
        throw sleepError;
      }
    }
  }
}

import { DetectionError, InvalidEndpointError, UnsupportedCombinationError, invalidArgError } from '@ipcez/core';
import type { TransportKind } from '@ipcez/core';

/** The `target` values: a local transport or a remote (WebSocket) one. */
export type Target = 'local' | 'remote';
/** The `os` values, naming the local transport family. */
export type Os = 'linux' | 'windows';

/** The allowed `target` values. */
export const TARGETS: readonly Target[] = ['local', 'remote'];
/** The allowed `os` values (`windows_nt`, as Windows itself sets `OS`, is read as `windows`). */
export const OSES: readonly Os[] = ['linux', 'windows'];

/** Where a detected value came from. */
export type DetectionSource = 'option' | 'env' | 'url';

/** Inputs of {@link detectTransport}. */
export interface DetectOptions {
  /** Explicit target; wins over the `target` environment variable. */
  readonly target?: string | undefined;
  /** Explicit os; wins over the `os` environment variable. */
  readonly os?: string | undefined;
  /** The environment to read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The platform to decide for (default `process.platform`). */
  readonly platform?: string;
  /**
   * Print the fix for a missing/invalid `target`/`os` to stderr, once per process
   * (default `true`, as the README's "Environment variables" says). Tools that report it themselves pass `false`.
   */
  readonly printGuidance?: boolean;
}

/** What {@link detectTransport} decided, and why. */
export interface Detection {
  /** The transport that serves the endpoint. */
  readonly transport: TransportKind;
  /** `'remote'` for a WebSocket URL, else the target in force. */
  readonly target: Target;
  /** The os in force; `undefined` for a WebSocket URL (where it is ignored). */
  readonly os: Os | undefined;
  /** Where `target` and `os` came from. */
  readonly sources: {
    /** Where `target` came from. */
    readonly target: DetectionSource;
    /** Where `os` came from; `undefined` for a WebSocket URL. */
    readonly os: DetectionSource | undefined;
  };
}

const WS_URL = /^wss?:\/\//i;
const HTTP_URL = /^https?:\/\//i;
// Any other `scheme://` (RFC 3986 scheme syntax): almost always a URL the user meant for another
// library (`tcp://`, `unix://`, `ipc://`), never a socket path they want created in `./tcp:`.
const OTHER_URL = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Whether the endpoint is a WebSocket URL (`ws://` or `wss://`, any case). */
export function isWebSocketUrl(endpoint: string): boolean {
  return WS_URL.test(endpoint);
}

/**
 * Reads an environment variable. Windows treats variable names case-insensitively (the
 * system sets `OS=Windows_NT`), so there `os` also finds `OS`.
 */
function readEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  platform: string,
): string | undefined {
  const exact = env[name];
  if (exact !== undefined || platform !== 'win32') return exact;
  const key = Object.keys(env).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : env[key];
}

let guidancePrinted = false;

/** Prints the fix for a detection failure to stderr, once per process (see the README, "Environment variables"). */
function printGuidanceOnce(error: DetectionError, platform: string): void {
  if (guidancePrinted) return;
  guidancePrinted = true;
  const fix =
    platform === 'win32' ? 'set target=local (os is read from OS=Windows_NT)' : 'export target=local os=linux';
  process.stderr.write(
    `ipcez: cannot choose a local transport: ${error.message}.\n` +
      `ipcez: a ws:// or wss:// endpoint needs neither; for a local endpoint, fix it with: ${fix}\n` +
      `ipcez: (or pass { target, os } to connect()/listen(), or --target/--os to the CLI)\n`,
  );
}

function normalize(variable: 'target' | 'os', raw: string | undefined, allowed: readonly string[]): string {
  if (raw === undefined || raw.trim() === '') throw new DetectionError(variable, raw === '' ? '' : undefined, allowed);
  let value = raw.trim().toLowerCase();
  if (variable === 'os' && value === 'windows_nt') value = 'windows';
  if (!allowed.includes(value)) throw new DetectionError(variable, raw, allowed);
  return value;
}

/**
 * Decides which transport serves an endpoint (see the README's detection table):
 *
 * | endpoint | target | os | transport |
 * | --- | --- | --- | --- |
 * | `ws://…`, `wss://…` | ignored | ignored | `ws` |
 * | anything else | `local` | `linux` | `unix` |
 * | anything else | `local` | `windows` (or `windows_nt`) | `pipe` |
 *
 * Values are case-insensitive; explicit options win over the environment.
 *
 * **Platform behaviour.** `os=windows` is refused outside Windows and `os=linux` on Windows
 * (`UnsupportedCombinationError`). `os=linux` is accepted on every non-Windows platform
 * (macOS and the BSDs have Unix domain sockets too).
 *
 * @param endpoint - the endpoint string.
 * @param options - explicit `target`/`os`, and the `env`/`platform` to read (for tests and tools).
 * @returns the {@link Detection}.
 * @throws DetectionError (`IPCEZ_ERR_DETECTION`) when `target`/`os` is missing or invalid for a
 *   local endpoint; the fix is also printed once to stderr.
 * @throws UnsupportedCombinationError (`IPCEZ_ERR_UNSUPPORTED_COMBINATION`) for `target=remote`
 *   with a non-URL endpoint, or an `os` that is not this machine's.
 * @throws InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`) for an empty endpoint, an
 *   `http(s)://` URL (use `ws(s)://`), or any other `scheme://` URL (`tcp://`, `unix://`, …).
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `endpoint` is not a string.
 * @example
 * ```ts
 * detectTransport('/tmp/app.sock', { env: { target: 'local', os: 'linux' }, platform: 'linux' }).transport; // 'unix'
 * detectTransport('ws://127.0.0.1:8080/ipc').transport; // 'ws'
 * ```
 */
export function detectTransport(endpoint: string, options: DetectOptions = {}): Detection {
  if (typeof endpoint !== 'string') throw invalidArgError(`endpoint must be a string, got ${typeof endpoint}`);
  if (endpoint.length === 0) throw new InvalidEndpointError(endpoint, 'the endpoint is empty');
  if (WS_URL.test(endpoint)) {
    return { transport: 'ws', target: 'remote', os: undefined, sources: { target: 'url', os: undefined } };
  }
  if (HTTP_URL.test(endpoint)) {
    throw new InvalidEndpointError(
      endpoint,
      `an http(s) URL is not a WebSocket endpoint; use ${endpoint.replace(/^http/i, 'ws')}`,
    );
  }
  const scheme = OTHER_URL.exec(endpoint)?.[1];
  if (scheme !== undefined) {
    throw new InvalidEndpointError(
      endpoint,
      `${scheme}:// is not a supported endpoint scheme: use ws:// or wss:// for WebSocket, or a socket path ` +
        `(./${endpoint} if you really mean a relative path) or pipe name for a local endpoint`,
    );
  }
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const targetSource: DetectionSource = options.target === undefined ? 'env' : 'option';
  const osSource: DetectionSource = options.os === undefined ? 'env' : 'option';
  let target: string;
  let os: string;
  try {
    target = normalize('target', options.target ?? readEnv(env, 'target', platform), TARGETS);
    if (target === 'remote') {
      throw new UnsupportedCombinationError(
        'remote',
        options.os ?? readEnv(env, 'os', platform) ?? '(unset)',
        `a remote target needs a ws:// or wss:// endpoint, got ${JSON.stringify(endpoint)}`,
      );
    }
    os = normalize('os', options.os ?? readEnv(env, 'os', platform), OSES);
  } catch (error) {
    if (error instanceof DetectionError && options.printGuidance !== false) printGuidanceOnce(error, platform);
    throw error;
  }
  if (os === 'windows' && platform !== 'win32') {
    throw new UnsupportedCombinationError(
      target,
      os,
      `Windows named pipes need a Windows process (this is ${platform})`,
    );
  }
  if (os === 'linux' && platform === 'win32') {
    throw new UnsupportedCombinationError(target, os, 'this is a Windows process: use os=windows (named pipes)');
  }
  return {
    transport: os === 'windows' ? 'pipe' : 'unix',
    target: 'local',
    os: os as Os,
    sources: { target: targetSource, os: osSource },
  };
}

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalSocketPath, deriveSignalNames, hasV2Marker, openSignalPair } from '@ipcez/ack';
import { isIpcezError } from '@ipcez/core';
import { resolvePipeName } from '@ipcez/transport-pipe';
import { resolveUnixEndpoint, sunPathBytes } from '@ipcez/transport-unix';
import { connect } from './api.js';
import { detectTransport } from './detect.js';
import type { Detection, Os, Target } from './detect.js';
import { addressOf, findLeftovers, probeLocal, semaphoresByEndpoint } from './leftovers.js';
import type { Leftover, Liveness } from './leftovers.js';

/** Inputs of {@link diagnose}: explicit `target`/`os` (as the CLI's `--target`/`--os`), and `fix`. */
export interface DiagnoseOptions {
  /** Explicit target; wins over the environment. */
  readonly target?: Target;
  /** Explicit os; wins over the environment. */
  readonly os?: Os;
  /**
   * Remove what is provably stale (as `ipcez doctor --fix`): the socket file and semaphores of
   * an endpoint no server answers. A live endpoint is never touched. Default `false`.
   */
  readonly fix?: boolean;
}

/** The report of {@link diagnose}: every field is plain data, so it serialises as JSON. */
export interface Diagnosis {
  /** `true` when the endpoint (or, without one, the environment) is ready to use. */
  readonly ok: boolean;
  /**
   * The CLI exit code matching the first problem: 0, 1 (leftovers of a dead server), 3 (named
   * signals unusable, or the endpoint path is not a socket), 64 (bad endpoint), 78 (detection).
   */
  readonly exitCode: number;
  /** `process.platform`. */
  readonly platform: string;
  /** The Node version (`process.version`). */
  readonly node: string;
  /** The raw environment values read (`OS` too on Windows). */
  readonly env: {
    /** The `target` variable, or `null` when unset. */
    readonly target: string | null;
    /** The `os` variable, or `null` when unset. */
    readonly os: string | null;
  };
  /** The endpoint examined, if one was given. */
  readonly endpoint: string | null;
  /** What detection decided, or the error it raised. */
  readonly detection:
    | (Detection & {
        /** Detection succeeded. */
        readonly ok: true;
      })
    | {
        /** Detection failed. */
        readonly ok: false;
        /** The error's code (`IPCEZ_ERR_DETECTION`, …). */
        readonly code: string;
        /** The error's message. */
        readonly message: string;
      };
  /** Where the endpoint maps to: the socket path or pipe name or URL, and its length budget. */
  readonly mapping: {
    /** The socket path, `@name`, full pipe name or URL. */
    readonly resolved: string;
    /** What kind of address it is. */
    readonly kind: 'socket-file' | 'abstract-socket' | 'named-pipe' | 'websocket-url';
    /** How much of the OS limit the address uses (`null` for a URL). */
    readonly budget: {
      /** Bytes (Unix) or characters (pipes) used. */
      readonly used: number;
      /** The most the OS allows. */
      readonly limit: number;
      /** What `used` and `limit` count. */
      readonly unit: 'bytes' | 'characters';
    } | null;
  } | null;
  /** Whether named signals (delivery acknowledgement) work here, and under which names. */
  readonly signals: {
    /** A throwaway pair could be created, posted, taken and removed. */
    readonly available: boolean;
    /** `posix` on Linux; `global` or `local` on Windows; `null` when unavailable. */
    readonly namespace: string | null;
    /** The endpoint's signal names, when they could be derived. */
    readonly names: {
      /** The "data ready" signal's name. */
      readonly ready: string;
      /** The "data acked" signal's name. */
      readonly acked: string;
    } | null;
    /** Why signals are unavailable, or `null`. */
    readonly error: string | null;
  } | null;
  /**
   * Whether a server answers the endpoint, found with a real connect (`null` without an
   * endpoint, and for WebSocket URLs): `live`, `absent` (no socket file or pipe), `stale` (a
   * socket file nobody accepts on), `not-a-socket`, or `unknown` with the reason.
   */
  readonly server: Liveness | null;
  /**
   * The ack mode a client with acks on would get from the live server at the endpoint
   * (`socket.ackMode`): `'v2'` when it advertises protocol v2 (its marker exists), `'seed'`
   * when it does not but named signals work here, `'off'` otherwise. For a WebSocket URL:
   * `'v2'` when the server selects the `ipcez.v2` subprotocol and says `hello 2` (a real
   * connect with `ack: true` found out), `'off'` when it does not. `null` without an endpoint
   * or a live server.
   */
  readonly ackMode: 'v2' | 'seed' | 'off' | null;
  /**
   * What dead servers left behind (Linux): the endpoint's stale socket file and orphaned
   * semaphores; without an endpoint, every ipcez semaphore in /dev/shm whose endpoint no
   * server answers. `removed` says whether `fix` removed it.
   */
  readonly leftovers: readonly Leftover[];
  /** What to fix, as sentences; empty when nothing. */
  readonly fixes: readonly string[];
  /** The whole report as human-readable lines (what `ipcez doctor` prints). */
  readonly lines: readonly string[];
}

function errorText(error: unknown): { code: string; message: string } {
  const code = isIpcezError(error)
    ? error.code
    : (((error as { code?: unknown }).code as string | undefined) ?? 'ERROR');
  return { code, message: error instanceof Error ? error.message : String(error) };
}

/** Opens (and removes again) a throwaway pair to prove named signals work in this process. */
async function probeSignals(): Promise<{ available: boolean; namespace: string | null; error: string | null }> {
  const probe =
    process.platform === 'win32' ? `ipcez-doctor-${process.pid}` : join(tmpdir(), `ipcez-doctor-${process.pid}.sock`);
  try {
    const pair = await openSignalPair(probe, { role: 'listener' });
    const namespace = pair.namespace;
    pair.signalReady();
    const took = pair.tryTakeReady();
    pair.unlink();
    await pair.close();
    if (!took) return { available: false, namespace, error: 'a posted signal could not be taken back' };
    return { available: true, namespace, error: null };
  } catch (error) {
    return { available: false, namespace: null, error: errorText(error).message };
  }
}

/**
 * Explains what ipcez would do here: what was detected and from where, which transport and
 * final socket path / pipe name the endpoint maps to, the path-length budget, whether named
 * signals (delivery acknowledgement) work in this process and in which namespace, and what to
 * fix. Backs `ipcez doctor`. It creates nothing that outlives the call (the signal probe
 * removes its throwaway pair again).
 *
 * @param endpoint - the endpoint to examine; without one, only the environment is checked.
 * @param options - explicit `target`/`os`, as `connect`/`listen` would take them.
 * @returns the {@link Diagnosis}.
 * @example
 * ```ts
 * const report = await diagnose('/tmp/app.sock');
 * if (!report.ok) console.error(report.fixes.join('\n'));
 * ```
 */
export async function diagnose(endpoint?: string, options: DiagnoseOptions = {}): Promise<Diagnosis> {
  const platform = process.platform;
  const envTarget = process.env['target'] ?? null;
  const envOs = process.env['os'] ?? null;
  const fixes: string[] = [];
  let exitCode = 0;
  const probeEndpoint = endpoint ?? (platform === 'win32' ? 'example' : join(tmpdir(), 'example.sock'));

  let detection: Diagnosis['detection'];
  let detected: Detection | undefined;
  try {
    // The report carries the guidance, so detection does not print it to stderr.
    detected = detectTransport(probeEndpoint, { ...options, printGuidance: false });
    detection = { ok: true, ...detected };
  } catch (error) {
    detection = { ok: false, ...errorText(error) };
    exitCode = detection.code === 'IPCEZ_ERR_INVALID_ENDPOINT' ? 64 : 78;
    if (detection.code === 'IPCEZ_ERR_DETECTION') {
      fixes.push(
        platform === 'win32'
          ? 'set target=local (os is taken from OS=Windows_NT), or pass --target/--os'
          : 'export target=local os=linux   (or pass --target local --os linux)',
      );
    } else if (detection.code === 'IPCEZ_ERR_UNSUPPORTED_COMBINATION') {
      fixes.push(
        platform === 'win32'
          ? 'use os=windows here; target=remote needs a ws:// or wss:// endpoint'
          : 'use os=linux here (named pipes need Windows); target=remote needs a ws:// or wss:// endpoint',
      );
    } else {
      fixes.push(detection.message);
    }
  }

  let mapping: Diagnosis['mapping'] = null;
  let signals: Diagnosis['signals'] = null;
  let server: Liveness | null = null;
  let ackMode: Diagnosis['ackMode'] = null;
  let canonical: string | undefined;
  if (detected) {
    try {
      switch (detected.transport) {
        case 'unix': {
          const resolved = resolveUnixEndpoint(probeEndpoint);
          const used = resolved.isAbstract ? Buffer.byteLength(resolved.address) : Buffer.byteLength(resolved.endpoint);
          mapping = {
            resolved: resolved.endpoint,
            kind: resolved.isAbstract ? 'abstract-socket' : 'socket-file',
            budget: { used, limit: sunPathBytes(platform) - 1, unit: 'bytes' },
          };
          break;
        }
        case 'pipe': {
          const resolved = resolvePipeName(probeEndpoint);
          mapping = { resolved, kind: 'named-pipe', budget: { used: resolved.length, limit: 256, unit: 'characters' } };
          break;
        }
        case 'ws':
          mapping = { resolved: new URL(probeEndpoint).href, kind: 'websocket-url', budget: null };
          break;
      }
    } catch (error) {
      const { message } = errorText(error);
      fixes.push(message);
      exitCode ||= 64;
    }
    if (detected.transport !== 'ws') {
      const probe = await probeSignals();
      let names: { ready: string; acked: string } | null = null;
      if (mapping) {
        try {
          canonical = detected.transport === 'unix' ? await canonicalSocketPath(mapping.resolved) : mapping.resolved;
          const derived = deriveSignalNames(canonical, detected.transport === 'pipe' ? 'win32' : 'linux');
          names =
            probe.namespace === 'local' && derived.localFallback
              ? derived.localFallback
              : { ready: derived.ready, acked: derived.acked };
        } catch (error) {
          fixes.push(errorText(error).message);
        }
      }
      signals = { ...probe, names };
      if (!probe.available) {
        fixes.push(
          `named signals do not work here (${probe.error ?? 'unknown reason'}): run both ends with acks off ({ ack: false } / --no-ack)`,
        );
        exitCode ||= 3;
      }
    }
  }

  if (endpoint !== undefined && mapping !== null && mapping.kind === 'websocket-url') {
    ({ server, ackMode } = await probeWs(mapping.resolved));
  }
  if (endpoint !== undefined && mapping !== null && mapping.kind !== 'websocket-url') {
    server = await probeLocal(canonical === undefined ? mapping.resolved : addressOf(canonical));
    if (server.state === 'live') {
      const isV2 = await hasV2Marker(mapping.resolved).catch(() => false);
      ackMode = isV2 ? 'v2' : signals?.available === true ? 'seed' : 'off';
    }
    if (server.state === 'not-a-socket') {
      fixes.push(
        `${mapping.resolved} exists but is not a socket: ipcez will neither listen there nor remove it; move it away`,
      );
      exitCode ||= 3;
    }
  }
  // Leftovers are files: named semaphores in /dev/shm (Linux) and socket files. Windows events
  // and pipes vanish with their last handle, so a dead server leaves nothing there.
  let leftovers: Leftover[] = [];
  if (platform === 'linux' && (endpoint === undefined || (canonical !== undefined && server !== null))) {
    const endpoints = new Map<string, { semaphores: string[]; liveness: Liveness }>();
    for (const [owner, semaphores] of semaphoresByEndpoint(endpoint === undefined ? undefined : canonical)) {
      endpoints.set(owner, { semaphores, liveness: await probeLocal(addressOf(owner)) });
    }
    if (endpoint !== undefined && canonical !== undefined && server !== null && !endpoints.has(canonical))
      endpoints.set(canonical, { semaphores: [], liveness: server });
    leftovers = await findLeftovers(endpoints, options.fix === true);
    if (leftovers.some((l) => !l.removed)) {
      fixes.push(
        `remove the leftovers of a dead server: run "ipcez doctor${endpoint === undefined ? '' : ` ${endpoint}`} --fix" ` +
          '(or start a server there: it replaces them)',
      );
      exitCode ||= 1;
    }
  }

  const lines: string[] = [];
  lines.push(`ipcez doctor — ${platform}, Node ${process.version}`);
  lines.push(`environment: target=${envTarget ?? '(unset)'} os=${envOs ?? '(unset)'}`);
  if (endpoint === undefined) lines.push(`endpoint: (none given; checking a local example, ${probeEndpoint})`);
  else lines.push(`endpoint: ${endpoint}`);
  if (detection.ok) {
    lines.push(
      `detected: transport=${detection.transport} target=${detection.target} (from ${detection.sources.target})` +
        (detection.os === undefined ? '' : ` os=${detection.os} (from ${detection.sources.os ?? 'n/a'})`),
    );
  } else {
    lines.push(`detection failed: ${detection.code}: ${detection.message}`);
  }
  if (mapping) {
    lines.push(`maps to: ${mapping.kind} ${mapping.resolved}`);
    if (mapping.budget) {
      lines.push(
        `length budget: ${mapping.budget.used} of ${mapping.budget.limit} ${mapping.budget.unit} (${mapping.budget.limit - mapping.budget.used} left)`,
      );
    }
  }
  if (signals) {
    lines.push(
      signals.available
        ? `named signals: work here (${signals.namespace ?? '?'}${signals.namespace === 'local' ? ': Global\\ was denied, a Windows service and a user session will not see each other' : ''})`
        : `named signals: NOT available: ${signals.error ?? 'unknown'}`,
    );
    if (signals.names) lines.push(`signal names: ${signals.names.ready}, ${signals.names.acked}`);
  }
  if (server) {
    const text: Record<Liveness['state'], string> = {
      live:
        mapping?.kind === 'websocket-url'
          ? 'live (a WebSocket handshake succeeded)'
          : 'live (a connection was accepted)',
      absent: 'none answers (nothing at the endpoint)',
      stale: 'none answers (a socket file nobody accepts on)',
      'not-a-socket': 'none (the path is not a socket)',
      unknown: `unknown (${server.state === 'unknown' ? server.reason : ''})`,
    };
    lines.push(`server: ${text[server.state]}`);
    if (ackMode !== null) {
      const modes = {
        v2: 'v2 (the listener advertises protocol v2: acks in-band, exact per connection)',
        seed: 'seed (no v2 marker: acks through the named signals, per endpoint)',
        off:
          mapping?.kind === 'websocket-url'
            ? 'off (the server does not select the ipcez.v2 subprotocol: connect with ack: true fails there)'
            : 'off (neither protocol v2 nor named signals)',
      } as const;
      lines.push(`ack mode: ${modes[ackMode]}`);
    }
  }
  for (const l of leftovers) {
    const what = l.kind === 'socket-file' ? 'stale socket file' : 'orphaned semaphore';
    lines.push(
      l.removed
        ? `removed ${what}: ${l.path}`
        : `${what}: ${l.path}${endpoint === undefined ? ` (of ${l.endpoint})` : ''}`,
    );
  }
  if (fixes.length === 0) lines.push('nothing to fix.');
  else for (const fix of fixes) lines.push(`fix: ${fix}`);
  const ok = fixes.length === 0;
  return {
    ok,
    exitCode: ok ? 0 : exitCode || 78,
    platform,
    node: process.version,
    env: { target: envTarget, os: envOs },
    endpoint: endpoint ?? null,
    detection,
    mapping,
    signals,
    server,
    ackMode,
    leftovers,
    fixes,
    lines,
  };
}

/** Bounds the WebSocket probe (a hang stopper, not a speed judgement). */
const WS_PROBE_TIMEOUT_MS = 5000;

/**
 * Probes a WebSocket endpoint the way a client with acks on connects: `live` with `'v2'` when
 * the server selects `ipcez.v2` and says `hello 2`, `live` with `'off'` when the handshake
 * succeeds without it, `absent` when the connection is refused.
 */
async function probeWs(url: string): Promise<{ server: Liveness; ackMode: Diagnosis['ackMode'] }> {
  try {
    const socket = await connect(url, {
      ack: true,
      ackTimeoutMs: WS_PROBE_TIMEOUT_MS,
      handshakeTimeoutMs: WS_PROBE_TIMEOUT_MS,
      keepaliveIntervalMs: 0,
    });
    const { ackMode } = socket;
    await socket.disconnect();
    return { server: { state: 'live' }, ackMode };
  } catch (error) {
    if (isIpcezError(error) && error.code === 'IPCEZ_ERR_ACK_UNAVAILABLE') {
      return { server: { state: 'live' }, ackMode: 'off' };
    }
    const osCode = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
    if (osCode === 'ECONNREFUSED') return { server: { state: 'absent' }, ackMode: null };
    return { server: { state: 'unknown', reason: errorText(error).message }, ackMode: null };
  }
}

import { isIpcezError } from 'ipcez';

/** The CLI's exit codes (see the README, "Command line"). */
export const EXIT = {
  ok: 0,
  noServer: 1,
  transport: 3,
  permission: 50,
  usage: 64,
  detection: 78,
  timeout: 124,
  internal: 125,
} as const;

/** A usage error: bad flags or arguments (exit 64). */
export class UsageError extends Error {}

/** A deadline passed (exit 124). */
export class CliTimeoutError extends Error {}

const NO_SERVER = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const PERMISSION = new Set(['EACCES', 'EPERM']);

function osCodeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { osCode?: unknown; code?: unknown }).osCode ?? (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('IPCEZ_')) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps an error to the CLI exit code: 1 no server, 3 transport error, 50 permission
 * denied, 64 invalid arguments, 78 detection / unsupported combination, 124 timeout
 * (an ack timeout too), 125 anything unexpected.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof CliTimeoutError) return EXIT.timeout;
  if ((error as { code?: unknown } | null)?.code === 'IPCEZ_ERR_INVALID_ARG') return EXIT.usage;
  if (error instanceof Error && error.name === 'TimeoutError') return EXIT.timeout;
  if (!isIpcezError(error)) {
    const os = osCodeOf(error);
    return os !== undefined && PERMISSION.has(os) ? EXIT.permission : EXIT.internal;
  }
  switch (error.code) {
    case 'IPCEZ_ERR_DETECTION':
    case 'IPCEZ_ERR_UNSUPPORTED_COMBINATION':
    case 'IPCEZ_ERR_UNSUPPORTED_PLATFORM':
      return EXIT.detection;
    case 'IPCEZ_ERR_ACK_TIMEOUT':
      return EXIT.timeout;
    case 'IPCEZ_ERR_INVALID_ENDPOINT':
      return EXIT.usage;
    case 'IPCEZ_ERR_IO':
    case 'IPCEZ_ERR_CONNECTION_LOST':
    case 'IPCEZ_ERR_WS': {
      const os = osCodeOf(error);
      if (os !== undefined && PERMISSION.has(os)) return EXIT.permission;
      if (os !== undefined && NO_SERVER.has(os) && error.code !== 'IPCEZ_ERR_CONNECTION_LOST') return EXIT.noServer;
      return EXIT.transport;
    }
    default:
      return EXIT.transport;
  }
}

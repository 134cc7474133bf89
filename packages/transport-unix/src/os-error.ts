import { IoError } from '@ipcez/core';

const HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'no server is listening there',
  ENOENT: 'no such socket file (no server is listening there)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTSOCK: 'the path is not a socket',
  ENOTDIR: 'a component of the path is not a directory',
  EAGAIN:
    "the listener's accept backlog stayed full for 1 s (it accepts connections more slowly than they arrive; retry later, or accept faster)",
};

/** Wraps an OS error as an `IoError` whose message names the resolved endpoint. */
export function ioError(action: string, endpoint: string, cause: unknown): IoError {
  const code = (cause as { code?: unknown } | null)?.code;
  const hint = typeof code === 'string' ? HINTS[code] : undefined;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new IoError(`${action} ${endpoint} failed: ${hint === undefined ? detail : `${hint} (${detail})`}`, {
    cause,
    path: endpoint,
  });
}

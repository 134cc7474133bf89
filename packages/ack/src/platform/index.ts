// The only place that chooses a platform backend (see this package's README, "Platform notes"). Each backend is loaded
// with a lazy import, so the other OS's FFI symbols are never bound, and a failure to load
// koffi or the C library becomes an AckUnavailableError when a pair is opened, never a crash
// at import.
import { AckUnavailableError } from '@ipcez/core';
import type { AckBackend } from '../ack-backend.js';

let loading: Promise<AckBackend> | undefined;

async function importBackend(platform: NodeJS.Platform): Promise<AckBackend> {
  switch (platform) {
    case 'linux':
      return (await import('./posix.js')).posixBackend;
    case 'win32':
      return (await import('./win32.js')).win32Backend;
    case 'aix':
    case 'android':
    case 'darwin':
    case 'freebsd':
    case 'haiku':
    case 'openbsd':
    case 'sunos':
    case 'cygwin':
    case 'netbsd':
      throw new AckUnavailableError(`named signals are only implemented on linux and win32, not ${platform}`);
    default: {
      const unknown: never = platform;
      throw new AckUnavailableError(`named signals are not implemented on ${String(unknown)}`);
    }
  }
}

/**
 * Loads this platform's backend once per process.
 * @throws AckUnavailableError when the platform is unsupported or koffi / the OS library fails to load.
 */
export async function loadAckBackend(): Promise<AckBackend> {
  loading ??= importBackend(process.platform).catch((error: unknown) => {
    loading = undefined;
    if (error instanceof AckUnavailableError) throw error;
    throw new AckUnavailableError(
      `koffi or the OS primitive could not be loaded on ${process.platform} (${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
    );
  });
  return loading;
}

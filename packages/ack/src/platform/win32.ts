// Windows named events through koffi over kernel32. Only src/platform/index.ts imports this
// module, lazily, so these symbols are never bound on another OS.
import { koffi } from './koffi.js';
import { AckUnavailableError, IoError } from '@ipcez/core';
import type { AckBackend, NativeSignal, OpenMode, SliceResult } from '../ack-backend.js';

const ERROR_FILE_NOT_FOUND = 2;
const ERROR_ACCESS_DENIED = 5;
const ERROR_ALREADY_EXISTS = 183;
const WAIT_OBJECT_0 = 0;
const WAIT_TIMEOUT = 0x102;
const SYNCHRONIZE = 0x0010_0000;
const EVENT_MODIFY_STATE = 0x0002;

const kernel32 = koffi.load('kernel32.dll');
const createEventW = kernel32.func(
  'void *__stdcall CreateEventW(void *attrs, int manualReset, int initialState, str16 name)',
);
const openEventW = kernel32.func('void *__stdcall OpenEventW(uint32 access, int inherit, str16 name)');
const setEvent = kernel32.func('int __stdcall SetEvent(void *handle)');
const waitForSingleObject = kernel32.func('uint32 __stdcall WaitForSingleObject(void *handle, uint32 ms)');
const closeHandle = kernel32.func('int __stdcall CloseHandle(void *handle)');
const getLastError = kernel32.func('uint32 __stdcall GetLastError()');

/** A `HANDLE`, as koffi hands it back (opaque). */
type EventHandle = object | bigint;

function isNull(handle: unknown): boolean {
  return handle === null || handle === undefined || handle === 0n;
}

function win32Error(syscall: string, lastError: number, name: string): Error {
  return Object.assign(new Error(`${syscall} ${name} failed: Windows error ${lastError}`), {
    errno: lastError,
    code: `WIN32_${lastError}`,
    syscall,
    path: name,
  });
}

// DESIGN.md: where creating a Global\ object is denied, fall back to Local\ and say so once.
let hasReportedFallback = false;

class Win32Event implements NativeSignal {
  readonly name: string;
  readonly identity: string;
  readonly #handle: EventHandle;

  constructor(name: string, handle: EventHandle) {
    this.name = name;
    this.identity = `event:${name}`;
    this.#handle = handle;
  }

  post(): void {
    if (setEvent(this.#handle) === 0) {
      const lastError = getLastError() as number;
      throw new IoError(`cannot set event ${this.name}`, { cause: win32Error('SetEvent', lastError, this.name) });
    }
  }

  tryTake(): boolean {
    const rc = waitForSingleObject(this.#handle, 0) as number;
    if (rc === WAIT_OBJECT_0) return true;
    if (rc === WAIT_TIMEOUT) return false;
    const lastError = getLastError() as number;
    throw new IoError(`cannot take event ${this.name}`, {
      cause: win32Error('WaitForSingleObject', lastError, this.name),
    });
  }

  waitSlice(sliceMs: number, done: (result: SliceResult) => void): void {
    // A relative timeout: WaitForSingleObject does not move with the wall clock.
    waitForSingleObject.async(this.#handle, Math.max(0, Math.ceil(sliceMs)), (error: unknown, rc: number) => {
      if (error !== null && error !== undefined) {
        done({
          acquired: false,
          error: error instanceof Error ? error : new Error('koffi async call failed', { cause: error }),
        });
      } else if (rc === WAIT_OBJECT_0) {
        done({ acquired: true });
      } else if (rc === WAIT_TIMEOUT) {
        done({ acquired: false });
      } else {
        done({
          acquired: false,
          error: new IoError(`cannot wait on event ${this.name}`, {
            cause: win32Error('WaitForSingleObject', rc, this.name),
          }),
        });
      }
    });
  }

  close(): void {
    closeHandle(this.#handle);
  }
}

/** Opens (creating if missing) an auto-reset, initially unsignalled event. */
function createEvent(name: string): { handle: EventHandle | null; lastError: number } {
  const handle = createEventW(null, 0, 0, name) as EventHandle | null;
  return { handle: isNull(handle) ? null : handle, lastError: getLastError() as number };
}

function openEvent(name: string, mode: OpenMode): Win32Event {
  let used = name;
  let { handle, lastError } = createEvent(name);
  if (handle === null && lastError === ERROR_ACCESS_DENIED && name.startsWith('Global\\')) {
    // No SeCreateGlobalPrivilege: an existing Global\ event (made by a service) may still be
    // opened; otherwise fall back to this session's Local\ namespace.
    const opened = openEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, 0, name) as EventHandle | null;
    if (!isNull(opened)) {
      handle = opened;
      lastError = ERROR_ALREADY_EXISTS;
    } else {
      used = `Local\\${name.slice('Global\\'.length)}`;
      ({ handle, lastError } = createEvent(used));
      if (handle !== null && !hasReportedFallback) {
        hasReportedFallback = true;
        process.stderr.write(
          `ipcez: creating ${name} was denied (no SeCreateGlobalPrivilege); using ${used} instead, ` +
            `so acks only reach processes in this logon session\n`,
        );
      }
    }
  }
  if (handle === null) {
    throw new AckUnavailableError(`cannot create the Windows named event ${used} (Windows error ${lastError})`, {
      cause: win32Error('CreateEventW', lastError, used),
    });
  }
  const event = new Win32Event(used, handle);
  // A Windows event cannot be unlinked: it lives while any process holds a handle. Starting
  // 'fresh' therefore means draining it: one successful zero-timeout wait resets an
  // auto-reset event.
  if (mode === 'fresh' && lastError === ERROR_ALREADY_EXISTS) event.tryTake();
  return event;
}

/** Windows auto-reset named events: binary (several sets before a wait wake one waiter). */
export const win32Backend: AckBackend = {
  isCounting: false,
  canUnlink: false,
  open: openEvent,
  unlink(): void {
    // Nothing to remove: the event goes away with its last handle.
  },
  peerCredentials: undefined,
  identify(): undefined {
    // An event is not a file: there is nothing to prove ownership by, and nothing to unlink.
    return undefined;
  },
  exists(name: string): boolean {
    const names = name.startsWith('Global\\') ? [name, `Local\\${name.slice('Global\\'.length)}`] : [name];
    for (const candidate of names) {
      const handle = openEventW(SYNCHRONIZE, 0, candidate) as EventHandle | null;
      if (!isNull(handle)) {
        closeHandle(handle);
        return true;
      }
      const lastError = getLastError() as number;
      if (lastError === ERROR_ACCESS_DENIED) return true;
      if (lastError !== ERROR_FILE_NOT_FOUND) {
        throw new IoError(`cannot look up event ${candidate}`, {
          cause: win32Error('OpenEventW', lastError, candidate),
        });
      }
    }
    return false;
  },
} satisfies AckBackend;

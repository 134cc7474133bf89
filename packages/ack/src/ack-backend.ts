// The one internal interface the platform backends (src/platform/posix.ts, win32.ts)
// implement. Not exported from the package.

/** How a signal is opened: `open` creates it if missing; `fresh` starts it anew at zero. */
export type OpenMode = 'open' | 'fresh';

/** Outcome of one bounded native wait slice. */
export type SliceResult =
  { readonly acquired: boolean; readonly error?: undefined } | { readonly acquired: false; readonly error: Error };

/** One opened named signal. Owns its native handle until `close()`. */
export interface NativeSignal {
  /** The OS name actually used (on Windows, `Local\` after a fallback). */
  readonly name: string;
  /**
   * Identifies the OS object within this process: two opens that reach the same object give
   * the same identity. POSIX: the `sem_t *` address (glibc maps one name + inode once per
   * process, so a name unlinked and created anew by another process gets a new identity).
   * Windows: the name (an event cannot be unlinked, so a name held open is one object).
   */
  readonly identity: string;
  /** Posts one token. Never blocks. Throws an `IoError` on an OS failure. */
  post(): void;
  /** Takes one token if there is one. Never blocks. Throws an `IoError` on an OS failure. */
  tryTake(): boolean;
  /**
   * Waits up to `sliceMs` for one token on a libuv pool thread, then calls `done` on the
   * event loop. At most one slice is outstanding per signal (the caller ensures it), and
   * `close()` is never called while one is.
   */
  waitSlice(sliceMs: number, done: (result: SliceResult) => void): void;
  /** Closes the native handle. Called once, with no slice outstanding. */
  close(): void;
}

/** Identity and owner of the file behind a named signal (see {@link AckBackend.identify}). */
export interface SignalFile {
  readonly dev: number;
  readonly ino: number;
  readonly uid: number;
}

/** The credentials of the process at the other end of a Unix socket, as the kernel saw it connect. */
export interface PeerCredentials {
  /** The peer's process id. */
  readonly pid: number;
  /** The peer's user id. */
  readonly uid: number;
  /** The peer's group id. */
  readonly gid: number;
}

/** A platform's named-signal primitive. */
export interface AckBackend {
  /** Whether a signal counts (POSIX semaphore) or is binary (Windows auto-reset event). */
  readonly isCounting: boolean;
  /** Whether names can be removed (`sem_unlink`); Windows events vanish with their last handle. */
  readonly canUnlink: boolean;
  /**
   * Opens a signal by name.
   * @throws AckUnavailableError when the primitive cannot be opened or created.
   */
  open(name: string, mode: OpenMode): NativeSignal;
  /** Removes a name; a missing name is not an error. No-op where `canUnlink` is false. */
  unlink(name: string): void;
  /**
   * Whether a signal of that name exists now, found without creating it (a name that exists
   * but this user may not open counts as existing). Windows: `Global\` then `Local\`.
   * @throws IoError on an OS failure other than "not found" / "access denied".
   */
  exists(name: string): boolean;
  /**
   * The file behind a named signal, where the OS keeps one (Linux: `/dev/shm/sem.<name>`):
   * its inode and owner, to prove a listener unlinks only what it created. `undefined` where
   * there is no such file or the OS keeps none (Windows).
   */
  identify(name: string): SignalFile | undefined;
  /**
   * Linux: `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)` of a connected Unix socket; `undefined`
   * where the platform has no such call (Windows).
   * @throws IoError when the call fails (not a socket, closed).
   */
  readonly peerCredentials: ((fd: number) => PeerCredentials) | undefined;
}

// Loads koffi for the platform backends (posix.ts, win32.ts), which platform/index.ts imports
// lazily, so this runs only when a backend is first needed.
//
// Why not `import koffi from 'koffi'`: koffi finds its native binary relative to its own file
// (`<koffi>/../@koromix/koffi-<platform>-<arch>`), which exists only next to its real path in a
// pnpm (symlinked) node_modules. Node 20's module resolver normally resolves that real path, but
// its realpath cache is fooled right after a synchronous `fs.lstatSync`/`statSync` of a socket
// or FIFO in the same tick (the resolver then stops at the symlink): a listener that inspects a
// stale socket file left by a crashed server, then loads koffi, got "Cannot find module
// …/@koromix/koffi-linux-x64". Resolving the entry and taking its real path ourselves, with a
// fresh `realpathSync` that keeps no cache, does not depend on what the process stat'ed before.
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';

type Koffi = typeof KoffiModule;

function load(): Koffi {
  const require = createRequire(import.meta.url);
  return require(realpathSync(require.resolve('koffi'))) as Koffi;
}

/** The koffi module, loaded from its real path. */
export const koffi: Koffi = load();

// Runs one measurement: a server process and a client process of one library (peer.js), the
// client's result parsed, both processes gone before it returns.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { PeerConfig, PeerResult } from './peer.js';

const peer = join(dirname(fileURLToPath(import.meta.url)), 'peer.js');
/** A trial that takes longer than this is a hang, not a result (rss trials move 1 GiB). */
const TRIAL_TIMEOUT_MS = { throughput: 60_000, rtt: 60_000, many: 60_000, rss: 300_000 } as const;

type Child = ChildProcessByStdio<Writable, Readable, null>;

function start(config: PeerConfig): Child {
  return spawn(process.execPath, [peer, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
}

/** The first stdout line starting with `prefix`; rejects if the process exits first or on timeout. */
async function lineOf(child: Child, prefix: string, signal: AbortSignal): Promise<string> {
  const lines = createInterface({ input: child.stdout });
  try {
    for await (const line of lines) {
      signal.throwIfAborted();
      if (line.startsWith(prefix)) return line.slice(prefix.length);
    }
    signal.throwIfAborted();
    const [code, killed] =
      child.exitCode !== null || child.signalCode !== null
        ? [child.exitCode, child.signalCode]
        : ((await once(child, 'exit')) as [number | null, string | null]);
    throw new Error(`exited (${code ?? killed}) before printing "${prefix.trim()}"`);
  } finally {
    lines.close();
  }
}

async function stop(child: Child, graceful: boolean): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (graceful) {
    // The server closes (ipcez unlinks its ack signals) when its stdin ends.
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  } else {
    child.kill('SIGKILL');
    await exited;
  }
}

/** One server process and one client process; the client's result. */
export async function trial(config: Omit<PeerConfig, 'role'>): Promise<PeerResult> {
  const signal = AbortSignal.timeout(TRIAL_TIMEOUT_MS[config.mode]);
  // Both processes start at once; the client waits for the address on its stdin.
  const server = start({ ...config, role: 'server' });
  const client = start({ ...config, role: 'client' });
  const onAbort = (): void => {
    server.kill('SIGKILL');
    client.kill('SIGKILL');
  };
  signal.addEventListener('abort', onAbort);
  try {
    const address = await lineOf(server, 'ready ', signal);
    client.stdin.end(`${address}\n`);
    const result = JSON.parse(await lineOf(client, 'result ', signal)) as PeerResult;
    await stop(client, true);
    return result;
  } catch (error) {
    throw new Error(`${config.library} ${config.mode} ${config.size} B: ${(error as Error).message}`, { cause: error });
  } finally {
    signal.removeEventListener('abort', onAbort);
    await stop(client, false);
    await stop(server, true);
  }
}

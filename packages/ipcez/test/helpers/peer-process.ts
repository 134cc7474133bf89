import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childEnv } from './cli.js';

const PEER = fileURLToPath(new URL('../fixtures/peer.mjs', import.meta.url));

/** An echo server in a child process (test/fixtures/peer.mjs), ready once it printed its line. */
export async function startEchoServer(
  endpoint: string,
  flags: string[] = [],
): Promise<{ child: ChildProcess; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, [PEER, 'listen', endpoint, ...flags], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited.then(() => {
      throw new Error('echo server exited before listening');
    }),
  ])) as [string];
  if (!line.startsWith('listening ')) throw new Error(`unexpected first line ${line}`);
  return {
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

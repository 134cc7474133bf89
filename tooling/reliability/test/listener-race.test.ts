// Two listeners started at the same moment on one path: exactly one wins, the other fails with
// EndpointInUseError and touches nothing, and acked sends to the winner are acked (before the
// fix, the loser unlinked the winner's signal pair: every acked send to it timed out).
import { connect } from 'ipcez';
import { afterEach, describe, expect, test } from 'vitest';
import { isLinux, isLong, killAll, record, removeSemaphoresUnder, start, tempDir } from './helpers.js';

const TRIALS = isLong ? 200 : Number(process.env['RACE_TRIALS'] ?? 10);
const SENDS = 20;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await killAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe.runIf(isLinux)('two listeners racing for one path', () => {
  test(`${TRIALS} trials: one wins, the loser fails with IPCEZ_ERR_ENDPOINT_IN_USE, acked sends to the winner succeed`, async () => {
    const started = Date.now();
    const { dir, cleanup } = tempDir('race');
    cleanups.push(cleanup);
    for (let trial = 0; trial < TRIALS; trial++) {
      const endpoint = `${dir}/r${trial}.sock`;
      const racers = [start('echo-listener.mjs', [endpoint, 'on']), start('echo-listener.mjs', [endpoint, 'on'])];
      const outcomes = await Promise.all(
        racers.map((racer) =>
          Promise.race([
            racer.line((l) => l.startsWith('listening ')).then(() => 'listening' as const),
            racer.exited.then(() => 'exited' as const),
          ]),
        ),
      );
      expect([...outcomes].sort()).toEqual(['exited', 'listening']);
      const loser = racers[outcomes.indexOf('exited')]!;
      const winner = racers[outcomes.indexOf('listening')]!;
      expect(await loser.exited).not.toBe(0);
      expect(loser.stderr()).toContain('IPCEZ_ERR_ENDPOINT_IN_USE');
      const socket = await connect(endpoint, { target: 'local', os: 'linux', ackTimeoutMs: 2000 });
      const results = await Promise.allSettled(
        Array.from({ length: SENDS }, (_, i) => socket.sendMessage(`trial ${trial} send ${i}`)),
      );
      await socket.disconnect();
      expect(results.filter((r) => r.status === 'rejected').map((r) => String(r.reason))).toEqual([]);
      winner.process.stdin?.write('close\n');
      expect(await winner.exited).toBe(0);
    }
    expect(removeSemaphoresUnder(dir)).toEqual([]);
    record({
      scenario: `listener race ×${TRIALS}`,
      messages: TRIALS * SENDS,
      losses: 0,
      rssPeakBytes: 0,
      fds: 0,
      durationMs: Date.now() - started,
    });
  });
});

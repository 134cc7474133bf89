// 50 sender processes, one listener process: nothing lost, reordered, duplicated or corrupt,
// and every send resolves, with acks off and on.
import { afterEach, describe, expect, test } from 'vitest';
import { isLinux, isLong, killAll, record, removeSemaphoresUnder, start, tempDir } from './helpers.js';

const SENDERS = 50;
const PER_SENDER = isLong ? 20_000 : 200;
const IN_FLIGHT = 64;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await killAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe.runIf(isLinux)(`soak: ${SENDERS} processes x ${PER_SENDER} messages into one listener`, () => {
  for (const ack of ['off', 'on'] as const) {
    test(`acks ${ack}: every message arrives once, in order per sender, intact, and every send resolves`, async () => {
      const started = Date.now();
      const { dir, cleanup } = tempDir('soak');
      cleanups.push(cleanup);
      const endpoint = `${dir}/s.sock`;
      const listener = start('soak-listener.mjs', [endpoint, ack, String(SENDERS), String(PER_SENDER)]);
      await listener.line((l) => l.startsWith('listening '));
      const senders = Array.from({ length: SENDERS }, (_, id) =>
        start('soak-sender.mjs', [endpoint, ack, String(id), String(PER_SENDER), String(IN_FLIGHT)]),
      );
      const outcomes = await Promise.all(
        senders.map(
          async (sender) => JSON.parse(await sender.line((l) => l.startsWith('{'))) as Record<string, unknown>,
        ),
      );
      const { figures, ...summary } = JSON.parse(await listener.line((l) => l.startsWith('{'))) as {
        figures: { peakRss: number; fds: number };
      } & Record<string, unknown>;
      expect(summary).toEqual({
        received: SENDERS * PER_SENDER,
        corrupt: 0,
        reordered: 0,
        duplicated: 0,
        connections: SENDERS,
        errors: [],
      });
      for (const [id, outcome] of outcomes.entries()) {
        expect(outcome).toEqual({ id, resolved: PER_SENDER, rejected: {} });
      }
      expect(await listener.exited).toBe(0);
      expect(removeSemaphoresUnder(dir)).toEqual([]);
      record({
        scenario: `soak, ${SENDERS} processes, acks ${ack}`,
        messages: SENDERS * PER_SENDER,
        losses: Number(summary['corrupt']) + Number(summary['reordered']) + Number(summary['duplicated']),
        rssPeakBytes: figures.peakRss,
        fds: figures.fds,
        durationMs: Date.now() - started,
      });
    });
  }
});

// 50 sender processes, one listener process: nothing lost, reordered, duplicated or corrupt,
// and every send resolves, with acks off and on; with acks on, no send resolved before the
// listener had read its frame (both sides timestamp with the machine's one monotonic clock).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
      const times = ack === 'on' ? [dir] : [];
      const listener = start('soak-listener.mjs', [endpoint, ack, String(SENDERS), String(PER_SENDER), ...times]);
      await listener.line((l) => l.startsWith('listening '));
      const senders = Array.from({ length: SENDERS }, (_, id) =>
        start('soak-sender.mjs', [
          endpoint,
          ack,
          String(id),
          String(PER_SENDER),
          String(IN_FLIGHT),
          ...(ack === 'on' ? [join(dir, `sent-${id}.json`)] : []),
        ]),
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
        // Protocol v2 (the listener waits long enough for every HELLO), so acks are exact per send.
        expect(outcome).toEqual({ id, mode: 'v2', resolved: PER_SENDER, rejected: {} });
      }
      expect(await listener.exited).toBe(0);
      if (ack === 'on') {
        // An ack means "read": a send that resolved before the listener read its frame is a false ack.
        let falseAcks = 0;
        for (let id = 0; id < SENDERS; id++) {
          const readAt = JSON.parse(readFileSync(join(dir, `read-${id}.json`), 'utf8')) as (number | null)[];
          const resolvedAt = JSON.parse(readFileSync(join(dir, `sent-${id}.json`), 'utf8')) as (number | null)[];
          for (let seq = 0; seq < PER_SENDER; seq++) {
            const read = readAt[seq];
            const resolved = resolvedAt[seq];
            // -1: read before the socket was handed over, so its read time is not known there.
            if (read === -1) continue;
            if (read === null || resolved === null || read === undefined || resolved === undefined || resolved < read)
              falseAcks++;
          }
        }
        expect(falseAcks).toBe(0);
      }
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

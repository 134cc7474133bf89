// Protocol v2 acks are exact (issue #15, goal 1; docs/PROTOCOL.md §5): 50 clients with acks on
// (`connect` from ipcez) on one Unix listener speaking protocol v2, many sends in flight each.
// The server side of one client's connection never reads (paused before the client could
// send anything). Every send records whether its ack arrived and when it settled; the server
// records when it read each frame. Both use the same clock (process.hrtime: CLOCK_MONOTONIC,
// shared by the processes of one machine). Reported:
//   - false acks: a send that resolved before its own frame was read (or whose frame was never read);
//   - false timeouts: a send of a reading client that rejected with RecipientAckTimeoutError;
//   - the non-reading client: every one of its sends must time out.
// Correctness, not speed: the run exits non-zero when any false ack or false timeout is found,
// or when the non-reading client got an ack. Full run: 50 client processes, one connection
// each; --quick: the same 50 connections from 8 processes. Linux only (the v2 marker is a
// POSIX named semaphore here); elsewhere it prints why it is skipped.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openSignalPair } from '@ipcez/ack';
import { MessageConnection, negotiateServer } from '@ipcez/core';
import type { Connection } from '@ipcez/core';
import { listenUnix } from '@ipcez/transport-unix';
import { connect } from 'ipcez';
import { isQuick, pick } from '../options.js';

const CLIENT_FLAG = '--ack-exactness-client';
const PAYLOAD_BYTES = 64;
const CLIENTS = 50;
/** Processes of the 49 reading clients: one each in a full run, 7 connections each under --quick. */
const READER_PROCESSES = pick(49, 7);
/** Sends per reading client. */
const SENDS = pick(4000, 400);
/** Sends in flight per reading client. */
const WINDOW = 64;
/** Sends of the non-reading client, all at once (few enough that the OS buffers take them). */
const UNREAD_SENDS = pick(1000, 200);
/** The non-reading client's ack timeout: each of its sends must reach it. */
const UNREAD_TIMEOUT_MS = pick(2000, 1000);
/** The reading clients' ack timeout: a hang stopper on a loaded machine, not a speed judgement. */
const READER_TIMEOUT_MS = 60_000;

/** One send's outcome, as a client reports it: `a` acked, `t` ack timeout, else the error code. */
interface ClientReport {
  readonly id: number;
  readonly outcomes: string[];
  /** process.hrtime.bigint() when each send settled, as decimal strings. */
  readonly settledAt: string[];
}

// ---- client process -------------------------------------------------------------------------

/** What a client process is told (its own command line carries no --quick). */
interface ClientPlan {
  readonly endpoint: string;
  readonly firstId: number;
  readonly connections: number;
  readonly isReader: boolean;
  readonly sends: number;
  readonly ackTimeoutMs: number;
  readonly outDir: string;
}

async function runClient(plan: ClientPlan): Promise<void> {
  const { endpoint, firstId, isReader, sends, outDir } = plan;
  const sockets = await Promise.all(
    Array.from({ length: plan.connections }, () =>
      connect(endpoint, { target: 'local', os: 'linux', ackTimeoutMs: plan.ackTimeoutMs }),
    ),
  );
  for (const socket of sockets) {
    if (socket.ackMode !== 'v2') throw new Error(`client got ack mode ${socket.ackMode}, expected v2`);
  }
  process.stdout.write('ready\n');
  await once(createInterface({ input: process.stdin }), 'line');
  await Promise.all(
    sockets.map(async (socket, index) => {
      const id = firstId + index;
      const outcomes: string[] = new Array<string>(sends);
      const settledAt: string[] = new Array<string>(sends);
      const sendOne = (seq: number): Promise<void> => {
        const payload = new Uint8Array(PAYLOAD_BYTES);
        const view = new DataView(payload.buffer);
        view.setUint32(0, id);
        view.setUint32(4, seq);
        return socket.sendMessage(payload).then(
          () => {
            settledAt[seq] = String(process.hrtime.bigint());
            outcomes[seq] = 'a';
          },
          (error: unknown) => {
            settledAt[seq] = String(process.hrtime.bigint());
            const code = (error as { code?: string }).code ?? 'unknown';
            outcomes[seq] = code === 'IPCEZ_ERR_ACK_TIMEOUT' ? 't' : code;
          },
        );
      };
      if (isReader) {
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < sends) await sendOne(next++);
        };
        await Promise.all(Array.from({ length: WINDOW }, lane));
      } else {
        await Promise.all(Array.from({ length: sends }, (_, seq) => sendOne(seq)));
      }
      const report: ClientReport = { id, outcomes, settledAt };
      writeFileSync(join(outDir, `client-${id}.json`), JSON.stringify(report));
    }),
  );
  process.stdout.write('done\n', () => process.exit(0));
}

// ---- the benchmark (the listener) -----------------------------------------------------------

type Child = ChildProcessByStdio<Writable, Readable, null>;

function startClients(plan: ClientPlan): Child {
  return spawn(process.execPath, [fileURLToPath(import.meta.url), CLIENT_FLAG, JSON.stringify(plan)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

async function nextLine(child: Child, expected: string): Promise<void> {
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  if (line !== expected) throw new Error(`a client process said ${JSON.stringify(line)}, expected ${expected}`);
}

export async function run(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log(`skipped: the protocol v2 marker is benchmarked on linux only (this is ${process.platform})`);
    return;
  }
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ipcez-exact-')));
  const endpoint = join(dir, 'exact.sock');
  const children: Child[] = [];
  const connections: Connection[] = [];
  // Per client id: when the server read each frame (hrtime), and how many frames it read.
  const readAt = new Map<number, bigint[]>();
  let unreadConnection: MessageConnection | undefined;
  let accepted = 0;
  const pair = await openSignalPair(endpoint, { role: 'listener' });
  try {
    const listener = await listenUnix(endpoint, {
      beforeBind: () => {
        // A v2 listener advertises itself with the marker before it binds (docs/PROTOCOL.md §5.2).
        pair.advertiseV2();
        return Promise.resolve();
      },
    });
    listener.connectionHandler((connection) => {
      // A Unix listener's connections are the core engine (the one with the v2 seam).
      if (!(connection instanceof MessageConnection)) throw new Error('a Unix connection is not the core engine');
      const engine = connection;
      connections.push(connection);
      const isUnread = accepted++ === 0;
      // A loaded machine starting 50 processes: the pending time only has to outlast a slow
      // HELLO, never decide anything here.
      void negotiateServer(engine, 10_000, READER_TIMEOUT_MS, (outcome) => {
        if (outcome.mode !== 'v2') return;
        // The first connection (the non-reading client, started alone) stops reading now,
        // before HELLO_REPLY is even written: nothing it sends is ever read.
        if (isUnread) {
          unreadConnection = engine;
          engine.pauseReading();
        }
      });
      engine.messageHandler((result) => {
        if (!result.ok) return;
        const now = process.hrtime.bigint();
        const view = new DataView(result.message.buffer, result.message.byteOffset, result.message.byteLength);
        const id = view.getUint32(0);
        let times = readAt.get(id);
        if (times === undefined) {
          times = [];
          readAt.set(id, times);
        }
        times[view.getUint32(4)] = now;
      });
    });

    // The non-reading client first, alone, so that its connection is the first accepted.
    const plan = { endpoint, outDir: dir };
    const unread = startClients({
      ...plan,
      firstId: 0,
      connections: 1,
      isReader: false,
      sends: UNREAD_SENDS,
      ackTimeoutMs: UNREAD_TIMEOUT_MS,
    });
    children.push(unread);
    await nextLine(unread, 'ready');
    if (unreadConnection === undefined) throw new Error('the first connection did not negotiate protocol v2');
    const perProcess = (CLIENTS - 1) / READER_PROCESSES;
    for (let p = 0; p < READER_PROCESSES; p++) {
      children.push(
        startClients({
          ...plan,
          firstId: 1 + p * perProcess,
          connections: perProcess,
          isReader: true,
          sends: SENDS,
          ackTimeoutMs: READER_TIMEOUT_MS,
        }),
      );
    }
    await Promise.all(children.slice(1).map((child) => nextLine(child, 'ready')));
    const start = process.hrtime.bigint();
    for (const child of children) child.stdin.write('go\n');
    await Promise.all(children.map((child) => nextLine(child, 'done')));
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    await Promise.all(children.filter((child) => child.exitCode === null).map((child) => once(child, 'exit')));

    let acked = 0;
    let timedOut = 0;
    let otherErrors = 0;
    let falseAcks = 0;
    let falseTimeouts = 0;
    let unreadTimedOut = 0;
    let unreadSends = 0;
    for (let id = 0; id < CLIENTS; id++) {
      const report = JSON.parse(readFileSync(join(dir, `client-${id}.json`), 'utf8')) as ClientReport;
      const reads = readAt.get(id) ?? [];
      for (let seq = 0; seq < report.outcomes.length; seq++) {
        const outcome = report.outcomes[seq];
        const readTime = reads[seq];
        if (outcome === 'a') {
          acked++;
          // Resolved before its own frame was read, or never read at all: a false ack.
          if (readTime === undefined || BigInt(report.settledAt[seq]!) < readTime) falseAcks++;
        } else if (outcome === 't') {
          timedOut++;
          if (id !== 0) falseTimeouts++;
        } else {
          otherErrors++;
        }
        if (id === 0) {
          unreadSends++;
          if (outcome === 't') unreadTimedOut++;
        }
      }
    }
    const total = acked + timedOut + otherErrors;
    const processes = READER_PROCESSES + 1;
    console.log(
      `${CLIENTS} clients (${processes} processes${isQuick ? '' : ', one connection each'}) on one Unix listener, protocol v2, ` +
        `${PAYLOAD_BYTES} B sends, ${WINDOW} in flight per reading client; client 0's server side never reads`,
    );
    console.log(
      `sends: ${total} in ${elapsedMs.toFixed(0)} ms: ${acked} acked, ${timedOut} timed out, ${otherErrors} other errors`,
    );
    const ratio = (part: number, whole: number): string =>
      `${part}/${whole} = ${(whole === 0 ? 0 : part / whole).toFixed(6)}`;
    console.log(`false acks (resolved before its own frame was read): ${ratio(falseAcks, acked)}`);
    console.log(`false timeouts (a reading client's send timed out): ${ratio(falseTimeouts, total - unreadSends)}`);
    console.log(`non-reading client: ${ratio(unreadTimedOut, unreadSends)} sends timed out`);
    const failures = [
      falseAcks > 0 ? `${falseAcks} false acks` : '',
      falseTimeouts > 0 ? `${falseTimeouts} false timeouts` : '',
      otherErrors > 0 ? `${otherErrors} sends failed otherwise` : '',
      unreadTimedOut !== unreadSends
        ? `${unreadSends - unreadTimedOut} sends of the non-reading client did not time out`
        : '',
      total !== (CLIENTS - 1) * SENDS + UNREAD_SENDS
        ? `${total} sends reported, expected ${(CLIENTS - 1) * SENDS + UNREAD_SENDS}`
        : '',
    ].filter(Boolean);
    if (failures.length === 0) {
      console.log('goal: zero false acks, zero false timeouts, only the non-reading client times out: met');
    } else {
      // Correctness, not speed: the run fails.
      console.error(`ack-exactness FAILED: ${failures.join('; ')}`);
      process.exitCode = 1;
    }
    // The non-reading connection would wait out its close timeout: every connection goes now.
    for (const connection of connections) connection.destroy();
    await listener.close();
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const connection of connections) connection.destroy();
    pair.unlink();
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === CLIENT_FLAG) await runClient(JSON.parse(process.argv[3] ?? '{}') as ClientPlan);

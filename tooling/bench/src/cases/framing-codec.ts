// @ipcez/framing codec throughput (issue #2): encode + decode of 64 B … 4 MiB messages
// arriving in 64 KiB chunks, side by side, in the same run, with
//   - a naive codec of the kind most projects write: encode with Buffer.concat([header,
//     payload]); decode by appending each chunk with Buffer.concat, then slicing messages
//     off the front;
//   - Buffer.copy bandwidth: copying the same wire bytes once, 64 KiB at a time.
// Goal: >= 3x the naive codec on 64 B messages, and at most one copy per payload byte.
//
// Every figure is the best of several timed rounds (after a warm-up) of at least
// MIN_ROUND_MS each, the contenders' rounds interleaved, so a busy machine skews the ratios
// less than it would separate passes.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { encodeFrame, FrameDecoder } from '@ipcez/framing';
import { pick } from '../options.js';

const CHUNK_BYTES = 64 * 1024;
/** Payload bytes per round, per message size. */
const ROUND_PAYLOAD_BYTES = pick(16, 4) * 1024 * 1024;
const ROUNDS = pick(5, 1);
const MIN_ROUND_MS = pick(80, 10);
const SIZES = [64, 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024] as const;

interface Workload {
  readonly size: number;
  readonly payloads: readonly Uint8Array[];
  /** The wire bytes of every payload, framed, as one buffer ... */
  readonly wire: Buffer;
  /** ... and cut into 64 KiB chunks, as socket reads deliver them. */
  readonly chunks: readonly Buffer[];
  readonly payloadBytes: number;
}

function workload(size: number): Workload {
  const count = Math.max(4, Math.floor(ROUND_PAYLOAD_BYTES / size));
  const source = Buffer.allocUnsafe(size * count);
  for (let i = 0; i < source.length; i += 4) source.writeUInt32LE((i * 2654435761) >>> 0, i);
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < count; i++) payloads.push(new Uint8Array(source.buffer, source.byteOffset + i * size, size));
  const wire = Buffer.allocUnsafe((4 + size) * count);
  let offset = 0;
  for (const p of payloads) {
    wire.writeUInt32BE(p.length, offset);
    wire.set(p, offset + 4);
    offset += 4 + p.length;
  }
  const chunks: Buffer[] = [];
  for (let start = 0; start < wire.length; start += CHUNK_BYTES) chunks.push(wire.subarray(start, start + CHUNK_BYTES));
  return { size, payloads, wire, chunks, payloadBytes: size * count };
}

/** Keeps results observable so the optimiser cannot drop the work. */
let sink = 0;

/** Mean time (ms) of one execution of `body`, over a round of at least MIN_ROUND_MS. */
function timeRound(body: () => void): number {
  let runs = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    body();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_ROUND_MS);
  return elapsed / runs;
}

/**
 * Best time (ms) of each contender. Rounds are interleaved (A B C, A B C, ...) so that load
 * from other processes, and the garbage one contender leaves, fall on all of them alike.
 */
function bestOf<K extends string>(contenders: Record<K, () => void>): Record<K, number> {
  const keys = Object.keys(contenders) as K[];
  for (const key of keys) contenders[key](); // warm-up
  const best = Object.fromEntries(keys.map((key) => [key, Number.POSITIVE_INFINITY])) as Record<K, number>;
  for (let r = 0; r < ROUNDS; r++) {
    for (const key of keys) best[key] = Math.min(best[key], timeRound(contenders[key]));
  }
  return best;
}

// --- ours -------------------------------------------------------------------------------

function oursEncode(w: Workload): void {
  let n = 0;
  for (const p of w.payloads) {
    const [header, payload] = encodeFrame(p);
    n += header.length + payload.length;
  }
  sink += n;
}

function oursDecode(w: Workload): void {
  const decoder = new FrameDecoder();
  let count = 0;
  for (const chunk of w.chunks) count += decoder.push(chunk).length;
  if (count !== w.payloads.length) throw new Error(`ours decoded ${count} of ${w.payloads.length}`);
  sink += count;
}

/** Payload bytes our decoder copied (messages that are not views of the wire). */
function oursCopiedBytes(w: Workload): number {
  const decoder = new FrameDecoder();
  let copied = 0;
  for (const chunk of w.chunks) {
    for (const m of decoder.push(chunk)) if (m.buffer !== w.wire.buffer) copied += m.length;
  }
  return copied;
}

// --- naive ------------------------------------------------------------------------------

function naiveEncode(w: Workload): void {
  let n = 0;
  for (const p of w.payloads) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(p.length, 0);
    n += Buffer.concat([header, p]).length;
  }
  sink += n;
}

/** The usual hand-written decoder; `copied` counts the bytes Buffer.concat copies. */
function naiveDecode(w: Workload, counter?: { copied: number }): void {
  let buffered = Buffer.alloc(0);
  let count = 0;
  for (const chunk of w.chunks) {
    if (counter) counter.copied += buffered.length + chunk.length;
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const length = buffered.readUInt32BE(0);
      if (buffered.length < 4 + length) break;
      const message = buffered.subarray(4, 4 + length);
      buffered = buffered.subarray(4 + length);
      count += message.length >= 0 ? 1 : 0;
    }
  }
  if (count !== w.payloads.length) throw new Error(`naive decoded ${count} of ${w.payloads.length}`);
  sink += count;
}

// --- baseline: one Buffer.copy of the same bytes ----------------------------------------------

function copyOnce(w: Workload, target: Buffer): void {
  let offset = 0;
  for (const chunk of w.chunks) offset += chunk.copy(target, offset);
  sink += offset;
}

// --- report -----------------------------------------------------------------------------

function label(size: number): string {
  return size >= 1024 * 1024 ? `${size / (1024 * 1024)} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function run(): Promise<void> {
  console.log(
    `encode + decode, messages arriving in ${CHUNK_BYTES / 1024} KiB chunks; best of ${ROUNDS} rounds; MB = 10^6 payload bytes`,
  );
  const rows: Record<string, string>[] = [];
  for (const size of SIZES) {
    const w = workload(size);
    const target = Buffer.allocUnsafe(w.wire.length);
    const t = bestOf({
      ourEnc: () => {
        oursEncode(w);
      },
      ourDec: () => {
        oursDecode(w);
      },
      naiveEnc: () => {
        naiveEncode(w);
      },
      naiveDec: () => {
        naiveDecode(w);
      },
      copy: () => {
        copyOnce(w, target);
      },
    });
    const { ourEnc, ourDec, naiveEnc, naiveDec, copy } = t;
    const ours = ourEnc + ourDec;
    const naive = naiveEnc + naiveDec;
    const naiveCounter = { copied: 0 };
    naiveDecode(w, naiveCounter);
    const n = w.payloads.length;
    rows.push({
      size: label(size),
      messages: fmt(n),
      'ours msg/s': fmt((n / ours) * 1000),
      'ours MB/s': fmt(w.payloadBytes / ours / 1000),
      'naive msg/s': fmt((n / naive) * 1000),
      'naive MB/s': fmt(w.payloadBytes / naive / 1000),
      'ours/naive': `${fmt(naive / ours, 1)}x`,
      'decode ours/naive': `${fmt(naiveDec / ourDec, 1)}x`,
      'copy MB/s': fmt(w.wire.length / copy / 1000),
      'ours time / 1 copy': `${fmt(ours / copy, 2)}x`,
      'ours copies/byte': fmt(oursCopiedBytes(w) / w.payloadBytes, 2),
      'naive copies/byte': fmt(naiveCounter.copied / w.payloadBytes, 2),
    });
    // Let the event loop breathe between sizes (and give GC a chance) on a shared machine.
    await new Promise((resolve) => setImmediate(resolve));
  }
  console.table(rows);
  console.log(
    'ours/naive: encode+decode speed-up (goal >= 3x at 64 B). ours time / 1 copy: encode+decode time over one Buffer.copy of the same bytes.',
  );
  console.log('copies/byte: payload bytes copied while decoding per payload byte (goal <= 1 for ours).');
  if (sink === 0) console.log('(nothing decoded)');
}

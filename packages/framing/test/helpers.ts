// Shared by the framing tests. The stream builder below writes headers with DataView, not
// with the package's encoder, so decoder tests do not depend on the code they check.

/** `length` bytes of a cheap deterministic sequence; different seeds give different bytes. */
export function patterned(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** The wire bytes of `messages`: for each, a big-endian u32 length, then the payload. */
export function streamOf(messages: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const m of messages) total += 4 + m.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const m of messages) {
    view.setUint32(offset, m.length, false);
    out.set(m, offset + 4);
    offset += 4 + m.length;
  }
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A 4-byte big-endian header announcing `length` (any u32, including hostile ones). */
export function header(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length, false);
  return out;
}

/**
 * Cuts `bytes` at the given positions (any order; clamped to the array; a repeated position
 * yields an empty chunk) into chunks that are fresh copies, each with its own ArrayBuffer,
 * so that a decoder reading past a chunk's end cannot see the neighbouring bytes.
 */
export function cutAt(bytes: Uint8Array, positions: readonly number[]): Uint8Array[] {
  const cuts = positions.map((p) => Math.min(Math.max(p, 0), bytes.length)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.slice(start, cut));
    start = cut;
  }
  return chunks;
}

/** Byte-for-byte equality, fast enough for megabytes (expect().toEqual is not). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a hex string (no separators). */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw new Error(`bad hex: ${hex.slice(0, 40)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Records the length of every `new Uint8Array(length)` made while `body` runs, by standing
 * in a Proxy for the global constructor (views built on an existing buffer are not
 * allocations and are not recorded). The global is restored before this returns.
 */
export function recordAllocations<T>(body: () => T): { result: T; sizes: number[] } {
  const original = globalThis.Uint8Array;
  const sizes: number[] = [];
  const tracking = new Proxy(original, {
    construct(target, args: unknown[], newTarget: NewableFunction) {
      if (typeof args[0] === 'number') sizes.push(args[0]);
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  globalThis.Uint8Array = tracking;
  try {
    return { result: body(), sizes };
  } finally {
    globalThis.Uint8Array = original;
  }
}

import type { Connection, IpcezError, MessageResult } from '@ipcez/core';

/** Records every result a connection's handler gets; resolves waits on counts and the end. */
export class Collector {
  readonly messages: Uint8Array[] = [];
  readonly errors: IpcezError[] = [];
  readonly ended: Promise<IpcezError>;
  #waiters: { count: number; resolve: () => void }[] = [];
  #resolveEnded!: (error: IpcezError) => void;

  constructor(connection: Connection) {
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    connection.messageHandler((result: MessageResult) => {
      if (result.ok) {
        this.messages.push(result.message);
        this.#waiters = this.#waiters.filter((w) => {
          if (this.messages.length < w.count) return true;
          w.resolve();
          return false;
        });
      } else {
        this.errors.push(result.error);
        this.#resolveEnded(result.error);
      }
    });
  }

  /** Resolves once `count` messages arrived. */
  until(count: number): Promise<void> {
    if (this.messages.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A frame as raw bytes: 4-byte big-endian length + payload. */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** A payload whose bytes depend on `seed`, to detect reordering or corruption. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

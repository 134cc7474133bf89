// The shared transport conformance suite over the acknowledged wrapper: every connection
// (client and accepted) is `withAcks` over the local transport of this OS, with the
// endpoint's signal pair made in the order the ack README gives (listener: pair fresh in
// beforeBind, unlinked before the listener closes; client: opened after connecting).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { openSignalPair, withAcks } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';
import { describeTransportConformance } from '@ipcez/conformance';
import type { ConnectOptions, Connection, IpcezError, ListenOptions, Listener, Transport } from '@ipcez/core';
import { pipeTransport } from '@ipcez/transport-pipe';
import { unixTransport } from '@ipcez/transport-unix';
import { isLinux, isWindows, uniqueEndpoint } from './helpers.js';

const inner: Transport = isWindows ? pipeTransport : unixTransport;

/** A listener whose accepted connections are acknowledged; it owns the endpoint's pair. */
class AckedListener implements Listener {
  readonly #inner: Listener;
  readonly #pair: SignalPair;
  #closing: Promise<void> | undefined;

  constructor(listener: Listener, pair: SignalPair) {
    this.#inner = listener;
    this.#pair = pair;
  }

  get transport(): Listener['transport'] {
    return this.#inner.transport;
  }

  get endpoint(): string {
    return this.#inner.endpoint;
  }

  get isListening(): boolean {
    return this.#inner.isListening;
  }

  get closed(): Promise<IpcezError | undefined> {
    return this.#inner.closed;
  }

  connectionHandler(handler: (connection: Connection) => void): void {
    this.#inner.connectionHandler((connection) => {
      handler(withAcks(connection, this.#pair, { ackTimeoutMs: 5000 }));
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Connection, void, undefined> {
    for await (const connection of this.#inner) yield withAcks(connection, this.#pair, { ackTimeoutMs: 5000 });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#pair.unlink();
      try {
        await this.#inner.close();
      } finally {
        await this.#pair.close();
      }
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const ackedTransport: Transport = {
  kind: inner.kind,
  isSupported: () => (isLinux || isWindows) && inner.isSupported(),
  async connect(endpoint: string, options?: ConnectOptions): Promise<Connection> {
    const connection = await inner.connect(endpoint, options);
    let pair: SignalPair;
    try {
      pair = await openSignalPair(connection.endpoint);
    } catch (error) {
      connection.destroy();
      throw error;
    }
    return withAcks(connection, pair, { ackTimeoutMs: 5000, ownsPair: true });
  },
  async listen(endpoint: string, options?: ListenOptions): Promise<Listener> {
    let pair: SignalPair | undefined;
    try {
      const listener = await inner.listen(endpoint, {
        ...options,
        beforeBind: async (resolved) => {
          pair = await openSignalPair(resolved, { role: 'listener' });
        },
      });
      return new AckedListener(listener, pair!);
    } catch (error) {
      pair?.unlink();
      await pair?.close();
      throw error;
    }
  },
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'ipcez-'));
let count = 0;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeTransportConformance(`acked ${inner.kind}`, {
  transport: ackedTransport,
  // Each send waits for its ack; on a binary (Windows) pair they even run one at a time.
  orderingCount: isWindows ? 300 : 10_000,
  isAcknowledged: true,
  makeEndpoint: () => (isWindows ? uniqueEndpoint(`a${count++}`) : path.join(dir, `a${count++}.sock`)),
});

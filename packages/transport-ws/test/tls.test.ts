import { WsError } from '@ipcez/core';
import type { Connection, Listener } from '@ipcez/core';
import { connectWs, listenWs } from '@ipcez/transport-ws';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '@ipcez/tooling/test-certificate';
import { Collector, echo, rejection } from './helpers.js';

interface Identity {
  readonly cert: string;
  readonly key: string;
}

let server: Identity;
let otherCa: Identity;
let clientId: Identity;

beforeAll(() => {
  server = selfSignedCertificate('ipcez test server');
  otherCa = selfSignedCertificate('unrelated ca');
  clientId = selfSignedCertificate('ipcez test client');
});

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tlsListener(options: Parameters<typeof listenWs>[1] = {}): Promise<Listener> {
  const l = await listenWs('wss://127.0.0.1:0/secure', { cert: server.cert, key: server.key, ...options });
  cleanups.push(() => l.close());
  echo(l);
  return l;
}

async function roundTrip(connection: Connection): Promise<Uint8Array> {
  cleanups.push(() => {
    connection.destroy();
  });
  const collector = new Collector(connection);
  await connection.send(new Uint8Array([1, 2, 3]));
  await collector.messageCount(1);
  return collector.messages[0]!;
}

describe('wss:// with TLS', () => {
  it('connects and exchanges messages when the self-signed certificate is trusted through ca', async () => {
    const l = await tlsListener();
    expect(l.endpoint).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/secure$/);
    const connection = await connectWs(l.endpoint, { ca: server.cert });
    expect(await roundTrip(connection)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('accepts the ca as bytes too', async () => {
    const l = await tlsListener();
    const connection = await connectWs(l.endpoint, { ca: [new TextEncoder().encode(server.cert)] });
    expect(await roundTrip(connection)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('rejects with a WsError carrying the TLS reason when the certificate is not trusted', async () => {
    const l = await tlsListener();
    const untrusted = await rejection(connectWs(l.endpoint));
    expect(untrusted).toBeInstanceOf(WsError);
    expect(untrusted).toMatchObject({ code: 'IPCEZ_ERR_WS', status: undefined });
    expect((untrusted.cause as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(untrusted.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    const wrongCa = await rejection(connectWs(l.endpoint, { ca: otherCa.cert }));
    expect(wrongCa).toBeInstanceOf(WsError);
    expect((wrongCa.cause as { code?: string }).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  it('rejects with a WsError when the certificate does not name the host', async () => {
    const l = await tlsListener();
    const error = await rejection(connectWs(l.endpoint, { ca: server.cert, servername: 'example.com' }));
    expect(error).toBeInstanceOf(WsError);
    expect((error.cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('rejects with a 404 WsError for a wrong path over TLS', async () => {
    const l = await tlsListener();
    const error = await rejection(connectWs(l.endpoint.replace('/secure', '/nope'), { ca: server.cert }));
    expect(error).toBeInstanceOf(WsError);
    expect(error).toMatchObject({ status: 404 });
  });

  it('requires a client certificate that chains to ca when requestClientCert is set', async () => {
    const l = await tlsListener({ ca: clientId.cert, requestClientCert: true });
    const withCert = await connectWs(l.endpoint, { ca: server.cert, cert: clientId.cert, key: clientId.key });
    expect(await roundTrip(withCert)).toEqual(new Uint8Array([1, 2, 3]));
    const without = await rejection(connectWs(l.endpoint, { ca: server.cert }));
    expect(without).toBeInstanceOf(WsError);
    expect(without.cause).toBeInstanceOf(Error);
  });
});

import { InvalidEndpointError, invalidArgError } from '@ipcez/core';
import { describeValue as describe } from '@ipcez/core';

/** A parsed `ws://`/`wss://` endpoint. Module-private. */
export interface WsEndpoint {
  readonly url: URL;
  readonly isSecure: boolean;
  /** Host name without IPv6 brackets, as `listen`/`connect` take it. */
  readonly hostname: string;
  /** The port, or the scheme's default (80, 443). */
  readonly port: number;
  /** The path the listener serves (`/` when empty); the query is not part of it. */
  readonly path: string;
}

/**
 * Parses and checks a WebSocket endpoint. Module-private.
 *
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `endpoint` is not a string (synchronously).
 * @throws InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`) for a malformed URL, another
 *   scheme, credentials in the URL or a fragment.
 */
export function parseWsEndpoint(endpoint: unknown): WsEndpoint {
  if (typeof endpoint !== 'string') throw invalidArgError(`endpoint must be a string, got ${describe(endpoint)}`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidEndpointError(endpoint, 'not a valid URL; expected ws://host:port/path or wss://host:port/path');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new InvalidEndpointError(endpoint, `scheme ${url.protocol} is not ws: or wss:`);
  }
  if (url.hash !== '') throw new InvalidEndpointError(endpoint, 'a WebSocket URL has no #fragment');
  if (url.username !== '' || url.password !== '') {
    throw new InvalidEndpointError(endpoint, 'credentials in the URL are not supported; use the headers option');
  }
  const isSecure = url.protocol === 'wss:';
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    url,
    isSecure,
    hostname,
    port: url.port === '' ? (isSecure ? 443 : 80) : Number(url.port),
    path: url.pathname === '' ? '/' : url.pathname,
  };
}

import type { TlsMaterial } from './options.js';

/**
 * Node's TLS options take `string | Buffer`; a plain Uint8Array is viewed as a Buffer (no
 * copy). Module-private.
 */
export function toNodeTls(material: TlsMaterial | undefined): string | Buffer | (string | Buffer)[] | undefined {
  if (material === undefined) return undefined;
  const one = (item: string | Uint8Array): string | Buffer =>
    typeof item === 'string' ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength);
  return typeof material === 'string' || material instanceof Uint8Array ? one(material) : material.map(one);
}

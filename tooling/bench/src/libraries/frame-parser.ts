// The raw baselines' hand-written framing: a 4-byte big-endian length, then the payload. Used
// by the libraries case (links.ts) and, compiled, by the unix-transport case's raw server.

/**
 * Returns a `'data'` handler that calls `onFrame` with each payload, whole: a view into the
 * chunk when the frame lies in one chunk, else a buffer the frame is copied into.
 */
export function frameParser(onFrame: (payload: Uint8Array) => void): (chunk: Buffer) => void {
  const header = Buffer.alloc(4);
  let headerFill = 0;
  let body: Buffer | null = null;
  let bodyFill = 0;
  return (chunk) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (body === null) {
        if (headerFill === 0 && chunk.length - offset >= 4) {
          const length = chunk.readUInt32BE(offset);
          offset += 4;
          if (chunk.length - offset >= length) {
            onFrame(chunk.subarray(offset, offset + length));
            offset += length;
          } else {
            body = Buffer.allocUnsafe(length);
            bodyFill = 0;
          }
          continue;
        }
        const take = Math.min(4 - headerFill, chunk.length - offset);
        chunk.copy(header, headerFill, offset, offset + take);
        headerFill += take;
        offset += take;
        if (headerFill < 4) break;
        headerFill = 0;
        body = Buffer.allocUnsafe(header.readUInt32BE(0));
        bodyFill = 0;
        if (body.length === 0) {
          onFrame(body);
          body = null;
        }
        continue;
      }
      const take = Math.min(body.length - bodyFill, chunk.length - offset);
      chunk.copy(body, bodyFill, offset, offset + take);
      bodyFill += take;
      offset += take;
      if (bodyFill === body.length) {
        onFrame(body);
        body = null;
      }
    }
  };
}

import { MAX_MESSAGE_BYTES } from './constants.js';
import { encodeFrame } from './encode.js';
import { FrameDecoder } from './frame-decoder.js';
import type { FrameDecoderOptions } from './frame-decoder.js';

/**
 * A WHATWG `TransformStream` from raw stream bytes (chunks of any size) to whole messages,
 * one message per output chunk. Works wherever `TransformStream` is global: browsers, Deno,
 * Bun and Node >= 18.
 *
 * Output chunks may alias input chunks (see {@link FrameDecoder}). A header announcing more
 * than the limit errors the stream with `FrameTooLargeError`, after the messages that
 * preceded it have been enqueued. Ending the input in the middle of a frame errors the
 * stream with a `TypeError` naming the bytes left over.
 *
 * @param options - {@link FrameDecoderOptions}.
 * @returns the transform stream.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) for an invalid `maxMessageBytes`.
 * @example
 * ```ts
 * for await (const message of response.body.pipeThrough(createFrameDecoderStream())) { ... }
 * ```
 */
export function createFrameDecoderStream(
  options: FrameDecoderOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new FrameDecoder(options);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const message of decoder.push(chunk)) controller.enqueue(message);
      if (decoder.error) controller.error(decoder.error);
    },
    flush(controller) {
      if (decoder.bufferedBytes > 0) {
        controller.error(
          new TypeError(`stream ended inside a frame: ${decoder.bufferedBytes} bytes of it were received`),
        );
      }
    },
  });
}

/**
 * A WHATWG `TransformStream` from messages (one per input chunk) to frame bytes: for each
 * message it enqueues the 4-byte header, then the payload itself (not copied).
 *
 * @param maxMessageBytes - the limit to enforce (default 4 MiB); a larger message errors the
 *   stream with `FrameTooLargeError` and nothing of it is enqueued.
 * @returns the transform stream.
 * @example
 * ```ts
 * const encoder = createFrameEncoderStream();
 * encoder.readable.pipeTo(socketWritable);
 * ```
 */
export function createFrameEncoderStream(
  maxMessageBytes: number = MAX_MESSAGE_BYTES,
): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(message, controller) {
      const [header, payload] = encodeFrame(message, maxMessageBytes);
      controller.enqueue(header);
      controller.enqueue(payload);
    },
  });
}

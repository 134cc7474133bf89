import { MAX_MESSAGE_BYTES } from './constants.js';
import { encodeFrame, resolveMaxMessageBytes } from './encode.js';
import { FrameDecoder } from './frame-decoder.js';
import type { FrameDecoderOptions } from './frame-decoder.js';

/**
 * What {@link createFrameDecoderStream} returns: a writable side for stream bytes and a
 * readable side of whole messages, usable with `pipeThrough` (it is a `ReadableWritablePair`).
 *
 * @example
 * ```ts
 * const { readable, writable }: FrameDecoderStreamPair = createFrameDecoderStream();
 * ```
 */
export interface FrameDecoderStreamPair {
  /** Whole messages, one per chunk. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Raw stream bytes, in chunks of any size. */
  readonly writable: WritableStream<Uint8Array>;
}

/** A failure travelling down the internal pipe behind the messages that preceded it. */
interface Failure {
  readonly failure: unknown;
}

/**
 * A WHATWG stream pair (`{ readable, writable }`, for `pipeThrough`) from raw stream bytes
 * (chunks of any size) to whole messages, one message per output chunk. Works wherever the
 * WHATWG streams are global: browsers, Deno, Bun and Node >= 18.
 *
 * Output chunks may alias input chunks (see {@link FrameDecoder}). Nothing decoded is lost
 * to an error: a header announcing more than the limit errors the readable side with
 * `FrameTooLargeError` only after every message that preceded it has been read, and
 * ending the input in the middle of a frame errors it, likewise after the last whole
 * message, with a `TypeError` naming the bytes left over. A chunk that is not a
 * `Uint8Array` errors it with a `TypeError` (`IPCEZ_ERR_INVALID_ARG`). Once errored, the
 * writable side rejects further writes. Cancelling the readable side errors the writable
 * side, and aborting the writable side errors the readable side.
 *
 * It is a pair of two chained `TransformStream`s rather than one, because erroring a
 * stream discards the chunks still queued in it: the first stage turns a failure into a
 * marker queued behind the messages, the second raises it once they have been read.
 *
 * @param options - {@link FrameDecoderOptions}.
 * @returns the `{ readable, writable }` pair.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) for an invalid `maxMessageBytes`; TypeError
 *   (`IPCEZ_ERR_INVALID_ARG`) when `options` is not an object.
 * @example
 * ```ts
 * for await (const message of response.body.pipeThrough(createFrameDecoderStream())) { ... }
 * ```
 */
export function createFrameDecoderStream(options: FrameDecoderOptions = {}): FrameDecoderStreamPair {
  const decoder = new FrameDecoder(options);
  const decode = new TransformStream<Uint8Array, Uint8Array | Failure>({
    transform(chunk, controller) {
      let messages: Uint8Array[];
      try {
        messages = decoder.push(chunk);
      } catch (failure) {
        controller.enqueue({ failure });
        return;
      }
      for (const message of messages) controller.enqueue(message);
      if (decoder.error) controller.enqueue({ failure: decoder.error });
    },
    flush(controller) {
      if (decoder.error === undefined && decoder.bufferedBytes > 0) {
        controller.enqueue({
          failure: new TypeError(`stream ended inside a frame: ${decoder.bufferedBytes} bytes of it were received`),
        });
      }
    },
  });
  // The readable side of a TransformStream has a high-water mark of 0, so this stage runs a
  // marker's transform only once its queue is empty: erroring there discards nothing.
  const raise = new TransformStream<Uint8Array | Failure, Uint8Array>({
    transform(item, controller) {
      if (item instanceof Uint8Array) controller.enqueue(item);
      else throw item.failure;
    },
  });
  // Errors travel through the streams themselves (the pipe aborts or cancels the other
  // side); the pipe's own promise carries nothing more.
  decode.readable.pipeTo(raise.writable).catch(() => undefined);
  return { readable: raise.readable, writable: decode.writable };
}

/**
 * A WHATWG `TransformStream` from messages (one per input chunk) to frame bytes: for each
 * message it enqueues the 4-byte header, then the payload itself (not copied).
 *
 * @param maxMessageBytes - the limit to enforce (default 4 MiB); a larger message errors the
 *   stream with `FrameTooLargeError` and nothing of it is enqueued.
 * @returns the transform stream.
 * @throws RangeError (`IPCEZ_ERR_INVALID_ARG`) at creation for a `maxMessageBytes` that is not
 *   an integer from 0 to 4 MiB. A chunk that is not a `Uint8Array` errors the stream with a
 *   `TypeError` (`IPCEZ_ERR_INVALID_ARG`).
 * @example
 * ```ts
 * const encoder = createFrameEncoderStream();
 * encoder.readable.pipeTo(socketWritable);
 * ```
 */
export function createFrameEncoderStream(
  maxMessageBytes: number = MAX_MESSAGE_BYTES,
): TransformStream<Uint8Array, Uint8Array> {
  const limit = resolveMaxMessageBytes(maxMessageBytes);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(message, controller) {
      const [header, payload] = encodeFrame(message, limit);
      controller.enqueue(header);
      controller.enqueue(payload);
    },
  });
}

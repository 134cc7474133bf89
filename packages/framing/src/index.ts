export { HEADER_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './constants.js';
export { IpcezError, FrameTooLargeError } from './errors.js';
export { encodeHeader, encodeFrame, writeHeader, resolveMaxMessageBytes } from './encode.js';
export { FrameDecoder } from './frame-decoder.js';
export type { FrameDecoderOptions } from './frame-decoder.js';
export { createFrameDecoderStream, createFrameEncoderStream } from './frame-streams.js';
export type { FrameDecoderStreamPair } from './frame-streams.js';

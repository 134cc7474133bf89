/** Bytes in a frame header: one unsigned 32-bit big-endian payload length. */
export const HEADER_BYTES = 4;

/**
 * The largest payload one message may carry: 4 MiB (4,194,304 bytes). Sending more is
 * refused before anything is written; a header announcing more is a protocol error.
 */
export const MAX_MESSAGE_BYTES: number = 4 * 1024 * 1024;

/**
 * Version of the ipcez wire format described in this package's SPEC.md. Any change to the
 * bytes on the wire is a major release and bumps this number.
 */
export const PROTOCOL_VERSION = 1;

import { UsageError } from './exit-codes.js';

/** How `listen` and `send --replies` print each message: one line each. */
export type Format = 'text' | 'hex' | 'base64' | 'json';
const FORMATS: readonly Format[] = ['text', 'hex', 'base64', 'json'];

export function parseFormat(value: string | undefined): Format {
  const format = (value ?? 'text') as Format;
  if (!FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got ${String(value)}`);
  return format;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

function tryUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * One line per message:
 * - text: UTF-8 (invalid sequences as U+FFFD) with `\` `\n` `\r` escaped so a message is one line;
 * - hex, base64: the bytes;
 * - json: `{"index":n,"bytes":len,"text":"…"|null,"base64":"…"}`.
 */
export function formatMessage(message: Uint8Array, format: Format, index: number): string {
  const buffer = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  switch (format) {
    case 'text':
      return lenient.decode(message).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    case 'hex':
      return buffer.toString('hex');
    case 'base64':
      return buffer.toString('base64');
    case 'json':
      return JSON.stringify({
        index,
        bytes: message.length,
        text: tryUtf8(message) ?? null,
        base64: buffer.toString('base64'),
      });
  }
}

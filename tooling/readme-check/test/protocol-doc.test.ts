// docs/PROTOCOL.md states facts the code also holds: the golden vectors, the signal names,
// the frame examples. These tests keep the document and the code in agreement.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { deriveSignalNames } from '@ipcez/ack';
import { encodeFrame } from '@ipcez/framing';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../../../docs/PROTOCOL.md', import.meta.url), 'utf8');
const vectorsPath = createRequire(import.meta.url).resolve('@ipcez/framing/golden-vectors.json');

type Part = string | { readonly repeat: string; readonly length: number };
type Bytes = Part | readonly Part[];
interface Vectors {
  readonly cases: readonly { name: string; stream: Bytes; messages: readonly Bytes[]; pendingBytes: number }[];
  readonly errorCases: readonly { name: string; stream: Bytes; messages: readonly Bytes[]; error: { size: number } }[];
  readonly oversizedSends: readonly { name: string; message: Bytes; error: { size: number } }[];
}
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')) as Vectors;

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function bytesOf(spec: Bytes): Uint8Array {
  if (typeof spec === 'string') return Uint8Array.from(spec.match(/../g) ?? [], (h) => parseInt(h, 16));
  if (!Array.isArray(spec)) {
    const part = spec as Exclude<Part, string>;
    const pattern = bytesOf(part.repeat);
    return Uint8Array.from({ length: part.length }, (_, i) => pattern[i % pattern.length]!);
  }
  const parts = (spec as readonly Part[]).map((p) => bytesOf(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The rows of the first table after `heading`, split into trimmed cells. */
function table(heading: string): string[][] {
  const start = doc.indexOf(heading);
  expect(start, `PROTOCOL.md has "${heading}"`).toBeGreaterThan(-1);
  const lines = doc.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
  }
  return rows;
}

/** What a "stream"/"message" cell says about the bytes: the hex shown first, and the length. */
function checkBytesCell(cell: string, bytes: Uint8Array): void {
  const shown = /^`([0-9a-f ]+)`/.exec(cell)?.[1]?.replaceAll(' ', '');
  const repeated = /^([\d,]+) bytes of `([0-9a-f]+)` repeated$/.exec(cell);
  if (shown !== undefined) {
    expect(hex(bytes).startsWith(shown), `${cell} starts the bytes`).toBe(true);
    const total = /\(([\d,]+) bytes\)$/.exec(cell)?.[1];
    const parts = [...cell.matchAll(/([\d,]+) bytes of `([0-9a-f]+)` repeated/g)];
    if (total !== undefined) expect(bytes.length).toBe(Number(total.replaceAll(',', '')));
    else if (parts.length === 0) expect(hex(bytes)).toBe(shown);
  } else if (repeated) {
    expect(bytes.length).toBe(Number(repeated[1]!.replaceAll(',', '')));
    expect(hex(bytes.subarray(0, repeated[2]!.length / 2))).toBe(repeated[2]);
  } else {
    expect(cell === '(none)' || cell === '(empty)', `a readable byte string: ${cell}`).toBe(true);
    expect(bytes.length).toBe(0);
  }
}

describe('docs/PROTOCOL.md section 6 agrees with golden-vectors.json', () => {
  it('lists every decodable case with its stream, messages and pending bytes', () => {
    const rows = table('**Streams that decode:**');
    expect(rows.map((r) => r[0])).toEqual(vectors.cases.map((c) => `\`${c.name}\``));
    for (const [i, c] of vectors.cases.entries()) {
      const [, stream, messages, pending] = rows[i]!;
      checkBytesCell(stream!, bytesOf(c.stream));
      expect(messages!.split(', ').length).toBe(Math.max(1, c.messages.length));
      if (c.messages.length > 0)
        messages!.split(', ').forEach((m, j) => {
          checkBytesCell(m, bytesOf(c.messages[j]!));
        });
      expect(Number(pending)).toBe(c.pendingBytes);
    }
  });

  it('lists every error case with its stream and announced size', () => {
    const rows = table('**Streams a receiver must reject**');
    expect(rows.map((r) => r[0])).toEqual(vectors.errorCases.map((c) => `\`${c.name}\``));
    for (const [i, c] of vectors.errorCases.entries()) {
      checkBytesCell(rows[i]![1]!, bytesOf(c.stream));
      expect(Number(rows[i]![3]!.replaceAll(',', ''))).toBe(c.error.size);
    }
  });

  it('lists every oversized send', () => {
    const rows = table('**Sends a sender must refuse**');
    expect(rows.map((r) => r[0])).toEqual(vectors.oversizedSends.map((c) => `\`${c.name}\``));
    for (const [i, c] of vectors.oversizedSends.entries()) {
      checkBytesCell(rows[i]![1]!, bytesOf(c.message));
      expect(Number(rows[i]![2]!.replaceAll(',', ''))).toBe(c.error.size);
    }
  });
});

describe('docs/PROTOCOL.md agrees with the code', () => {
  it('section 4.1: the Linux signal names are what deriveSignalNames derives', () => {
    const rows = table('| endpoint (canonical) |');
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const [endpoint, ready, acked] of rows) {
      const names = deriveSignalNames(endpoint!.replaceAll('`', ''), 'linux');
      expect(`\`${names.ready}\``).toBe(ready);
      expect(`\`${names.acked}\``).toBe(acked);
    }
  });

  it('section 4.1: the Windows example is what deriveSignalNames derives', () => {
    const names = deriveSignalNames('\\\\.\\pipe\\app', 'win32');
    expect(doc).toContain(`\`\\\\.\\pipe\\app\` → \`${names.ready}\`, \`${names.acked}\``);
  });

  it('section 2: the frame examples are what encodeFrame writes', () => {
    const rows = table('| message(s) | bytes on the wire |');
    const examples: [string, Uint8Array][] = [
      ['empty', new Uint8Array()],
      ['`2a`', Uint8Array.of(0x2a)],
      ['`"hello"`', new TextEncoder().encode('hello')],
    ];
    for (const [label, message] of examples) {
      const row = rows.find((r) => r[0] === label);
      expect(row, label).toBeDefined();
      const [header, payload] = encodeFrame(message);
      const wire = `\`${[...header, ...payload].map((b) => b.toString(16).padStart(2, '0')).join(' ')}\``;
      expect(row![1]).toBe(wire);
    }
  });
});

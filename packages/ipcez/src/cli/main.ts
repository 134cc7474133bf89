// The `ipcez` command line. Uses only the public API of the `ipcez` package (STYLE.md §1).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { connect, diagnose, listen } from 'ipcez';
import type { Server, Socket } from 'ipcez';
import { CliTimeoutError, EXIT, UsageError, exitCodeFor } from './exit-codes.js';
import { formatMessage, parseFormat } from './format.js';

const COMMON_HELP = `
Detection flags (override the environment variables of the same name):
  --target local|remote   where the peer is (ws:// and wss:// endpoints ignore it)
  --os linux|windows      which local transport: Unix socket or Windows named pipe
Acknowledgement (local transports):
  --no-ack                do not use delivery acknowledgement (both ends must agree)
  --ack-timeout MS        how long a send waits for "data acked" (default 5000)`;

const HELP: Record<string, string> = {
  main: `Usage: ipcez <command> [options]

Commands:
  echo <endpoint>     serve: send every message back to its sender
  listen <endpoint>   serve: print every message received, one line each
  send <endpoint>     connect, send messages, optionally print replies
  doctor [endpoint]   show what ipcez detects here and what to fix

Run "ipcez <command> --help" for a command's options.
Exit codes: 0 ok, 1 no server, 3 transport error, 50 permission denied, 64 invalid
arguments, 78 detection failed / unsupported combination, 124 timeout, 125 internal failure.`,
  echo: `Usage: ipcez echo <endpoint> [options]

Serves <endpoint> and sends every message back to the socket it came from. Prints one line
"listening <resolved endpoint>" when ready; stops cleanly on SIGINT/SIGTERM.
${COMMON_HELP}`,
  listen: `Usage: ipcez listen <endpoint> [--count N] [--format text|hex|base64|json] [options]

Serves <endpoint> and prints every message received as one line. Prints one line
"listening <resolved endpoint>" first, when ready. Stops after N messages with --count,
or cleanly on SIGINT/SIGTERM.
  --count N               stop after N messages
  --format F              text (UTF-8, with \\ \\n \\r escaped), hex, base64, or json
                          ({"index","bytes","text","base64"} per line)
${COMMON_HELP}`,
  send: `Usage: ipcez send <endpoint> [message] [--file F | --stdin] [options]

Connects to <endpoint> and sends: the message argument, the whole file F as one message,
or each line of standard input as one message.
  --count N               send the message N times (default 1)
  --replies N             then wait for N replies and print them, one line each
  --format F              how replies are printed: text, hex, base64, json
  --timeout MS            give up after MS milliseconds in all (exit 124)
  --wait[=MS]             wait up to MS ms (default 30000) for the server to appear
                          (retried while the endpoint is missing or refuses; then exit 1)
${COMMON_HELP}`,
  doctor: `Usage: ipcez doctor [endpoint] [--json] [options]

Shows what was detected and from where, which transport and final socket path or pipe name
the endpoint maps to, the path-length budget, whether named signals work here, and what to fix.
  --json                  print the report as JSON
${COMMON_HELP}`,
};

const COMMON_OPTIONS = {
  target: { type: 'string' },
  os: { type: 'string' },
  'no-ack': { type: 'boolean' },
  'ack-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

interface Common {
  target?: string;
  os?: string;
  ack?: boolean;
  ackTimeoutMs?: number;
}

function common(values: { target?: string; os?: string; 'no-ack'?: boolean; 'ack-timeout'?: string }): Common {
  const options: Common = {};
  if (values.target !== undefined) options.target = values.target;
  if (values.os !== undefined) options.os = values.os;
  if (values['no-ack'] === true) options.ack = false;
  if (values['ack-timeout'] !== undefined)
    options.ackTimeoutMs = positiveInt('ack-timeout', values['ack-timeout'], 5000);
  return options;
}

function endpointArg(positionals: string[], command: string): string {
  const endpoint = positionals[0];
  if (endpoint === undefined) throw new UsageError(`ipcez ${command}: missing <endpoint>`);
  return endpoint;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Resolves on SIGINT/SIGTERM; the listeners are removed when `stop` is called. */
function untilSignal(): { promise: Promise<void>; stop: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  const onSignal = (): void => {
    resolve();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    promise,
    stop: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function serve(server: Server, onSocket: (socket: Socket, stop: () => void) => void): Promise<void> {
  const signal = untilSignal();
  let stopLocal!: () => void;
  const stopped = new Promise<void>((r) => {
    stopLocal = r;
  });
  server.connectionHandler((socket) => {
    onSocket(socket, stopLocal);
  });
  out(`listening ${server.endpoint}`);
  try {
    await Promise.race([signal.promise, stopped]);
  } finally {
    signal.stop();
    await server.close();
  }
}

async function cmdEcho(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help) return help('echo');
  const server = await listen(endpointArg(positionals, 'echo'), common(values));
  await serve(server, (socket) => {
    socket.messageHandler((result) => {
      if (!result.ok) return;
      // A reply that cannot be delivered (peer gone, ack timeout) is that peer's problem, not the server's.
      socket.sendMessage(result.message).catch(() => undefined);
    });
  });
  return EXIT.ok;
}

async function cmdListen(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { count: { type: 'string' }, format: { type: 'string' } });
  if (values.help) return help('listen');
  const format = parseFormat(values.format);
  const count = values.count === undefined ? Infinity : positiveInt('count', values.count, 1);
  const server = await listen(endpointArg(positionals, 'listen'), common(values));
  let received = 0;
  await serve(server, (socket, stop) => {
    socket.messageHandler((result) => {
      if (!result.ok || received >= count) return;
      out(formatMessage(result.message, format, received));
      received++;
      if (received >= count) stop();
    });
  });
  return EXIT.ok;
}

function readMessageFile(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Permission problems keep their exit code (50); anything else is a bad --file argument.
    if (code === 'EACCES' || code === 'EPERM') throw error;
    throw new UsageError(`cannot read --file ${file}: ${(error as Error).message}`);
  }
}

async function readStdinLines(): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) lines.push(line);
  return lines;
}

/** `--wait` takes an optional value: a bare `--wait` (not followed by digits) means 30000 ms. */
function withWaitValue(args: string[]): string[] {
  return args.map((arg, i) => (arg === '--wait' && !/^\d+$/.test(args[i + 1] ?? '') ? '--wait=30000' : arg));
}

async function cmdSend(args: string[]): Promise<number> {
  const { values, positionals } = parse(withWaitValue(args), {
    file: { type: 'string' },
    stdin: { type: 'boolean' },
    count: { type: 'string' },
    replies: { type: 'string' },
    timeout: { type: 'string' },
    format: { type: 'string' },
    wait: { type: 'string' },
  });
  if (values.help) return help('send');
  const endpoint = endpointArg(positionals, 'send');
  const sources = [positionals[1] !== undefined, values.file !== undefined, values.stdin === true].filter(
    Boolean,
  ).length;
  if (sources !== 1) throw new UsageError('ipcez send: give exactly one of [message], --file F, --stdin');
  if (positionals.length > 2) throw new UsageError(`ipcez send: unexpected argument ${JSON.stringify(positionals[2])}`);
  const count = positiveInt('count', values.count, 1);
  const replies = positiveInt('replies', values.replies, 0, 0);
  const format = parseFormat(values.format);
  const timeoutMs = values.timeout === undefined ? undefined : positiveInt('timeout', values.timeout, 0);

  let messages: (Uint8Array | string)[];
  if (values.file !== undefined) messages = [readMessageFile(values.file)];
  else if (values.stdin === true) messages = await readStdinLines();
  else messages = [positionals[1]!];

  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const waitMs = values.wait === undefined ? undefined : positiveInt('wait', values.wait, 0);
  const options = {
    ...common(values),
    ...(signal === undefined ? {} : { signal }),
    ...(waitMs === undefined ? {} : { retry: { attempts: Infinity, maxDelayMs: 500, withinMs: waitMs } }),
  };
  let socket: Socket | undefined;
  const got: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let ended: Error | undefined;
  // On timeout: end the connection, so every wait below (sends, acks, replies) stops.
  const onTimeout = (): void => {
    void socket?.disconnect();
    wake?.();
  };
  signal?.addEventListener('abort', onTimeout, { once: true });
  try {
    socket = await connect(endpoint, options);
    socket.messageHandler((result) => {
      if (result.ok) got.push(result.message);
      else ended = result.error;
      wake?.();
    });
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++)
      for (const m of messages) sends.push(socket.sendMessage(m, signal ? { signal } : {}));
    await Promise.all(sends);
    while (got.length < replies) {
      if (signal?.aborted === true) break;
      if (ended) throw ended;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (signal?.aborted === true) throw new CliTimeoutError(`timed out after ${String(timeoutMs)} ms`);
    for (let i = 0; i < replies; i++) out(formatMessage(got[i]!, format, i));
  } catch (error) {
    if (signal?.aborted === true) throw new CliTimeoutError(`timed out after ${String(timeoutMs)} ms`);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onTimeout);
    await socket?.disconnect();
  }
  return EXIT.ok;
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (values.help) return help('doctor');
  const { ack: _ack, ackTimeoutMs: _timeout, ...detect } = common(values);
  const report = await diagnose(positionals[0], detect);
  if (values.json === true) out(JSON.stringify(report, null, 2));
  else for (const line of report.lines) out(line);
  return report.ok ? EXIT.ok : report.exitCode;
}

function help(command: string): number {
  out(HELP[command] ?? HELP['main']!);
  return EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'echo':
      return cmdEcho(rest);
    case 'listen':
      return cmdListen(rest);
    case 'send':
      return cmdSend(rest);
    case 'doctor':
      return cmdDoctor(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return help(rest[0] ?? 'main');
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; run "ipcez --help"`);
  }
}

// A crash outside main's promise chain (a throw in a callback) is an internal failure: exit
// 125, not Node's default 1, which here means "no server".
const crash = (error: unknown): void => {
  process.stderr.write(
    `ipcez: internal failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(EXIT.internal);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = exitCodeFor(error);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`ipcez: ${message}\n`);
    if (code === EXIT.usage && error instanceof UsageError) process.stderr.write('run "ipcez --help" for usage\n');
    if (code === EXIT.internal && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = code;
  },
);

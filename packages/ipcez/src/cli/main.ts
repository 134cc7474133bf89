// The `ipcez` command line. Uses only the public API of the `ipcez` package (so it shows what a user's program can do).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { connect, diagnose, listen } from 'ipcez';
import type { Os, Server, Socket, Target } from 'ipcez';
import { CliTimeoutError, EXIT, UsageError, exitCodeFor } from './exit-codes.js';
import { formatMessage, parseFormat } from './format.js';
import { closest } from './suggest.js';

/** How long `send --replies N` waits in all when no `--timeout` is given. */
const DEFAULT_REPLY_TIMEOUT_MS = 5000;

const COMMON_HELP = `
Detection flags (override the environment variables of the same name):
  --target local|remote   where the peer is (ws:// and wss:// endpoints ignore it)
  --os linux|windows      which local transport: Unix socket or Windows named pipe
Acknowledgement (on by default locally, off by default over WebSocket):
  --no-ack                do not use delivery acknowledgement (both ends must agree)
  --ack                   use it over WebSocket (offers the ipcez.v2 subprotocol)
  --ack-timeout MS        how long a send waits for "data acked" (default 5000)`;

const HELP: Record<string, string> = {
  main: `Usage: ipcez <command> [options]

Commands:
  echo <endpoint>     serve: send every message back to its sender
  listen <endpoint>   serve: print every message received, one line each
  send <endpoint>     connect, send messages, optionally print replies
  doctor [endpoint]   show what ipcez detects here and what to fix

Run "ipcez <command> --help" for a command's options, "ipcez --version" for the version.
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
  --replies N             then wait for N replies, printing each as it arrives
  --format F              how replies are printed: text, hex, base64, json
  --timeout MS            give up after MS milliseconds in all (exit 124); with --replies
                          the default is ${DEFAULT_REPLY_TIMEOUT_MS}, without it there is none (each send
                          is still bounded by the ack timeout)
  --wait[=MS]             wait up to MS ms (default 30000) for the server to appear
                          (retried while the endpoint is missing or refuses; then exit 1)
${COMMON_HELP}`,
  doctor: `Usage: ipcez doctor [endpoint] [--json] [--fix] [options]

Shows what was detected and from where, which transport and final socket path or pipe name
the endpoint maps to, the path-length budget, whether named signals work here, whether a
server answers the endpoint, leftovers of servers that died (a stale socket file, orphaned
semaphores in /dev/shm; without an endpoint, every ipcez semaphore there), and what to fix.
  --json                  print the report as JSON
  --fix                   remove what is provably stale: only leftovers whose endpoint no
                          server answers (a live endpoint is never touched), and only
                          sockets and ipcez semaphores (never another file)
${COMMON_HELP}`,
};

const COMMON_OPTIONS = {
  target: { type: 'string' },
  os: { type: 'string' },
  'no-ack': { type: 'boolean' },
  ack: { type: 'boolean' },
  'ack-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Parses a command's arguments. Unknown options and missing values are reported in the CLI's
 * own words (with the closest known option), before `parseArgs` would say it in its own.
 */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  const merged = { ...COMMON_OPTIONS, ...options };
  const all: NonNullable<ParseArgsConfig['options']> = merged;
  const shorts = new Map(Object.entries(all).flatMap(([name, o]) => (o.short === undefined ? [] : [[o.short, name]])));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') continue;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq === -1 ? undefined : eq) : shorts.get(arg.slice(1));
    const option = name === undefined ? undefined : all[name];
    if (name === undefined || option === undefined) {
      const typed = arg.startsWith('--') ? arg.slice(0, eq === -1 ? undefined : eq) : arg;
      const guess = closest(typed.replace(/^-+/, ''), Object.keys(all));
      throw new UsageError(`unknown option ${typed}${guess === undefined ? '' : `; did you mean --${guess}?`}`);
    }
    if (option.type === 'string' && eq === -1) {
      if (i + 1 >= args.length) throw new UsageError(`option --${name} needs a value`);
      i++;
    }
  }
  try {
    return parseArgs({ args, options: merged, allowPositionals: true, strict: true });
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
  // Passed through as typed: detection validates them (DetectionError, exit 78).
  target?: Target;
  os?: Os;
  ack?: boolean;
  ackTimeoutMs?: number;
}

function common(values: {
  target?: string;
  os?: string;
  'no-ack'?: boolean;
  ack?: boolean;
  'ack-timeout'?: string;
}): Common {
  const options: Common = {};
  if (values.target !== undefined) options.target = values.target as Target;
  if (values.os !== undefined) options.os = values.os as Os;
  if (values['no-ack'] === true && values.ack === true)
    throw new UsageError('--ack and --no-ack contradict each other');
  if (values['no-ack'] === true) options.ack = false;
  if (values.ack === true) options.ack = true;
  if (values['ack-timeout'] !== undefined)
    options.ackTimeoutMs = positiveInt('ack-timeout', values['ack-timeout'], 5000);
  return options;
}

function endpointArg(positionals: string[]): string {
  const endpoint = positionals[0];
  if (endpoint === undefined) throw new UsageError('missing <endpoint>');
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
  const server = await listen(endpointArg(positionals), common(values));
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
  const server = await listen(endpointArg(positionals), common(values));
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
  const endpoint = endpointArg(positionals);
  const sources = [positionals[1] !== undefined, values.file !== undefined, values.stdin === true].filter(
    Boolean,
  ).length;
  if (sources !== 1) throw new UsageError('give exactly one of [message], --file F, --stdin');
  if (positionals.length > 2) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[2])}`);
  const count = positiveInt('count', values.count, 1);
  const replies = positiveInt('replies', values.replies, 0, 0);
  const format = parseFormat(values.format);
  const defaultTimeout = values.timeout === undefined && replies > 0;
  const timeoutMs = defaultTimeout
    ? DEFAULT_REPLY_TIMEOUT_MS
    : values.timeout === undefined
      ? undefined
      : positiveInt('timeout', values.timeout, 0);

  let messages: (Uint8Array | string)[];
  if (values.file !== undefined) messages = [readMessageFile(values.file)];
  else if (values.stdin === true) messages = await readStdinLines();
  else messages = [positionals[1]!];

  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const timedOut = (): CliTimeoutError =>
    new CliTimeoutError(
      `timed out after ${String(timeoutMs)} ms` +
        (defaultTimeout ? ' (the default with --replies; set --timeout)' : '') +
        (replies > 0 ? `: ${String(printed)} of ${String(replies)} replies` : ''),
    );
  const waitMs = values.wait === undefined ? undefined : positiveInt('wait', values.wait, 0);
  const options = {
    ...common(values),
    ...(signal === undefined ? {} : { signal }),
    ...(waitMs === undefined ? {} : { retry: { attempts: Infinity, maxDelayMs: 500, withinMs: waitMs } }),
  };
  let socket: Socket | undefined;
  let printed = 0;
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
    // Each reply is printed as it arrives, so a timeout still shows what came.
    socket.messageHandler((result) => {
      if (!result.ok) ended = result.error;
      else if (printed < replies) out(formatMessage(result.message, format, printed++));
      wake?.();
    });
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++)
      for (const m of messages) sends.push(socket.sendMessage(m, signal ? { signal } : {}));
    await Promise.all(sends);
    while (printed < replies) {
      if (signal?.aborted === true) break;
      if (ended) throw ended;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (signal?.aborted === true) throw timedOut();
  } catch (error) {
    if (signal?.aborted === true) throw timedOut();
    throw error;
  } finally {
    signal?.removeEventListener('abort', onTimeout);
    await socket?.disconnect();
  }
  return EXIT.ok;
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, fix: { type: 'boolean' } });
  if (values.help) return help('doctor');
  const { ack: _ack, ackTimeoutMs: _timeout, ...detect } = common(values);
  const report = await diagnose(positionals[0], { ...detect, fix: values.fix === true });
  if (values.json === true) out(JSON.stringify(report, null, 2));
  else for (const line of report.lines) out(line);
  return report.ok ? EXIT.ok : report.exitCode;
}

function help(command: string): number {
  out(HELP[command] ?? HELP['main']!);
  return EXIT.ok;
}

const COMMANDS = ['echo', 'listen', 'send', 'doctor', 'help'];

function version(): string {
  // dist/cli/main.js → the package root's package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The command being run, for the prefix of error messages (`ipcez send: …`). */
let current: string | undefined;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && COMMANDS.includes(command) && command !== 'help') current = command;
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
      // A bare `ipcez` did nothing the user asked for: usage on stderr, and a failing exit.
      process.stderr.write(`${HELP['main']!}\n`);
      return EXIT.usage;
    case '--version':
      out(version());
      return EXIT.ok;
    case '--help':
    case '-h':
    case 'help':
      return help(rest[0] ?? 'main');
    default: {
      const guess = command.startsWith('-') ? undefined : closest(command, COMMANDS);
      throw new UsageError(
        command.startsWith('-')
          ? `unknown option ${command}; the options follow a command`
          : `unknown command ${JSON.stringify(command)}${guess === undefined ? '' : `; did you mean ${JSON.stringify(guess)}?`}`,
      );
    }
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
    const prefix = current === undefined ? 'ipcez' : `ipcez ${current}`;
    process.stderr.write(`${prefix}: ${message}\n`);
    if (code === EXIT.usage && error instanceof UsageError) process.stderr.write(`run "${prefix} --help" for usage\n`);
    if (code === EXIT.internal && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = code;
  },
);

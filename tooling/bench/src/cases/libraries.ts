// ipcez against the libraries users would pick instead (issue #13): node-ipc, zeromq `ipc://`
// PAIR sockets and raw `ws`, beside raw `node:net` with hand-written framing, all in one run.
// Every measurement is a real server process and a real client process (libraries/peer.js);
// ipcez is used through its public API (`connect`/`listen` from 'ipcez') only.
//
// Cases:
//   - one-way throughput, 64 B … 4 MiB: unix socket (ipcez acks off and on, raw net, node-ipc,
//     zeromq) and WebSocket (ipcez over ws, raw ws): the client sends for a fixed time, then an
//     end marker; the server answers with its count, which must equal what was sent;
//   - 64 B round trip p50/p99 per library (an echo server);
//   - 50 client connections to one listener, 64 B, aggregate throughput;
//   - sender peak RSS offering 1 GiB (1 MiB messages) to a slow reader.
// Every case runs REPS times, the repetitions interleaved (all cases once, then again, the
// order of libraries rotated), and reports the median with the min–max; a ratio is the median
// of the per-repetition ratios (each repetition measures both sides minutes apart at most).
//
// A full run writes docs/bench/results.json and docs/bench/headline.svg, and rewrites the
// block between the bench markers in the root README.md; --quick and a subset (--groups,
// --libs) write to a temporary directory (removed afterwards) and touch nothing committed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chartSvg } from '../libraries/chart.js';
import type { Bar, Panel } from '../libraries/chart.js';
import { HIGH_WATER_MARK } from '../libraries/links.js';
import type { Library } from '../libraries/links.js';
import type { Mode, PeerConfig, PeerResult } from '../libraries/peer.js';
import { trial } from '../libraries/trial.js';
import { isQuick, isSubset, onlyGroups, onlyLibraries, outDir, pick, repetitions } from '../options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const KiB = 1024;
const MiB = 1024 * KiB;
const REPS = repetitions ?? pick(3, 1);
const SIZES = [64, KiB, 64 * KiB, MiB, 4 * MiB];
const CONNECTIONS = 50;
const PARAMS = {
  durationMs: pick(1000, 100),
  warmupMs: pick(300, 30),
  connections: CONNECTIONS,
  roundTrips: pick(5000, 200),
  warmupRoundTrips: pick(1000, 50),
  totalBytes: pick(1024 * MiB, 32 * MiB),
  slowMsPerMiB: 1,
};
const RSS_MESSAGE = MiB;

function versionOf(name: string): string {
  // Walk up from the resolved entry to the package's own package.json (node-ipc's exports
  // map does not export it).
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (json.name === name) return json.version ?? '?';
    }
    const up = dirname(dir);
    if (up === dir) return '?';
    dir = up;
  }
}

const VERSIONS = {
  'node-ipc': versionOf('node-ipc'),
  zeromq: versionOf('zeromq'),
  ws: versionOf('ws'),
};

const LABELS: Record<Library, string> = {
  'ipcez-off': 'ipcez, acks off',
  'ipcez-on': 'ipcez, acks on',
  net: 'raw net, 1 write/msg',
  'net-batched': 'raw net, 64 KiB writes',
  'node-ipc': `node-ipc ${VERSIONS['node-ipc']}`,
  zeromq: `zeromq ${VERSIONS.zeromq} PAIR`,
  'ipcez-ws': 'ipcez over ws',
  ws: `raw ws ${VERSIONS.ws}`,
};

type Metrics = Record<string, number>;

interface Group {
  readonly key: string;
  readonly title: string;
  readonly mode: Mode;
  readonly size: number;
  readonly libraries: readonly Library[];
  /** The metrics a trial yields; the first is the one printed and charted. */
  readonly metrics: readonly { name: string; unit: string; format: (v: number) => string }[];
  readonly measure: (r: PeerResult) => Metrics;
  /** Printed ratios: metric of each library over the baseline library's, same repetition. */
  readonly baselines: readonly Library[];
}

function sizeLabel(size: number): string {
  return size >= MiB ? `${size / MiB} MiB` : size >= KiB ? `${size / KiB} KiB` : `${size} B`;
}

function si(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(1);
}

const rate = (r: PeerResult, size: number): Metrics => {
  const seconds = r.ms! / 1000;
  return { msgPerSec: r.messages! / seconds, mbPerSec: (r.messages! * size) / 1e6 / seconds };
};
const rateMetrics = [
  { name: 'msgPerSec', unit: 'msg/s', format: si },
  { name: 'mbPerSec', unit: 'MB/s', format: (v: number) => v.toFixed(1) },
];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const UNIX: readonly Library[] = ['ipcez-off', 'ipcez-on', 'net', 'net-batched', 'node-ipc', 'zeromq'];

const GROUPS: readonly Group[] = [
  ...SIZES.map((size): Group => ({
    key: `throughput-unix-${size}`,
    title: `one-way throughput, unix socket, ${sizeLabel(size)}`,
    mode: 'throughput',
    size,
    // Batching only changes anything for messages well below 64 KiB.
    libraries: size <= KiB ? UNIX : UNIX.filter((l) => l !== 'net-batched'),
    metrics: rateMetrics,
    measure: (r) => rate(r, size),
    baselines: size <= KiB ? ['net', 'net-batched'] : ['net'],
  })),
  ...SIZES.map((size): Group => ({
    key: `throughput-ws-${size}`,
    title: `one-way throughput, WebSocket (127.0.0.1), ${sizeLabel(size)}`,
    mode: 'throughput',
    size,
    libraries: ['ipcez-ws', 'ws'],
    metrics: rateMetrics,
    measure: (r) => rate(r, size),
    baselines: ['ws'],
  })),
  {
    key: 'rtt-64',
    title: '64 B round trip (echo), one message in flight',
    mode: 'rtt',
    size: 64,
    libraries: ['ipcez-off', 'ipcez-on', 'net', 'node-ipc', 'zeromq', 'ipcez-ws', 'ws'],
    metrics: [
      { name: 'p50Us', unit: 'µs p50', format: (v) => v.toFixed(1) },
      { name: 'p99Us', unit: 'µs p99', format: (v) => v.toFixed(1) },
    ],
    measure: (r) => ({ p50Us: percentile(r.roundTripsUs!, 50), p99Us: percentile(r.roundTripsUs!, 99) }),
    baselines: ['net', 'ipcez-off'],
  },
  {
    key: 'many-64',
    title: `${CONNECTIONS} client connections x 1 listener, 64 B, aggregate one-way throughput`,
    mode: 'many',
    size: 64,
    // zeromq PAIR sockets are one-to-one by design: not in this case.
    libraries: ['ipcez-off', 'ipcez-on', 'net', 'node-ipc', 'ipcez-ws', 'ws'],
    metrics: rateMetrics,
    measure: (r) => rate(r, 64),
    baselines: ['net'],
  },
  {
    key: 'rss-1g',
    title: `sender peak RSS offering ${sizeLabel(PARAMS.totalBytes)} in 1 MiB messages to a slow reader`,
    mode: 'rss',
    size: RSS_MESSAGE,
    libraries: ['ipcez-off', 'ipcez-on', 'net', 'node-ipc', 'zeromq', 'ipcez-ws', 'ws'],
    metrics: [
      { name: 'growthMiB', unit: 'MiB growth', format: (v) => v.toFixed(1) },
      { name: 'peakMiB', unit: 'MiB peak', format: (v) => v.toFixed(1) },
      { name: 'seconds', unit: 's', format: (v) => v.toFixed(2) },
    ],
    measure: (r) => ({
      growthMiB: Math.max(0, r.rssPeak! - r.rssBefore!) / MiB,
      peakMiB: r.rssPeak! / MiB,
      seconds: r.ms! / 1000,
    }),
    baselines: ['net'],
  },
];

/** The groups and libraries this run measures (`--groups`, `--libs`; every one by default). */
const RUN: readonly Group[] = GROUPS.filter(
  (group) => onlyGroups.length === 0 || onlyGroups.some((key) => group.key.includes(key)),
)
  .map((group) => ({
    ...group,
    libraries: group.libraries.filter((library) => onlyLibraries.length === 0 || onlyLibraries.includes(library)),
  }))
  .filter((group) => group.libraries.length > 0);

interface TrialRecord {
  readonly group: string;
  readonly library: Library;
  readonly rep: number;
  readonly metrics: Metrics;
  readonly result: Omit<PeerResult, 'roundTripsUs'>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), values };
}

class Results {
  readonly trials: TrialRecord[] = [];
  readonly failures: { group: string; library: Library; rep: number; error: string }[] = [];

  /** The metric per repetition (undefined where that trial failed). */
  byRep(group: string, library: Library, metric: string): (number | undefined)[] {
    const out: (number | undefined)[] = Array.from({ length: REPS }, () => undefined);
    for (const t of this.trials) if (t.group === group && t.library === library) out[t.rep] = t.metrics[metric];
    return out;
  }

  summary(group: string, library: Library, metric: string): Summary {
    const values = this.byRep(group, library, metric).filter((v) => v !== undefined);
    return values.length === 0 ? { median: Number.NaN, min: Number.NaN, max: Number.NaN, values } : summarize(values);
  }

  /** Median over repetitions of (library's metric / baseline's metric) in the same repetition. */
  ratio(group: string, library: Library, baseline: Library, metric: string): number {
    const a = this.byRep(group, library, metric);
    const b = this.byRep(group, baseline, metric);
    const ratios = a.flatMap((v, i) => (v !== undefined && b[i] !== undefined ? [v / b[i]] : []));
    return ratios.length === 0 ? Number.NaN : median(ratios);
  }
}

interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly status: 'met' | 'missed';
  readonly note?: string;
}

/** The acked rows: two ipcez peers, so protocol v2 (acks in-band on the connection). */
const ACK_NOTE = 'acks on: protocol v2, in-band';

function goals(r: Results): Goal[] {
  const out: Goal[] = [];
  const ratioGoal = (goal: string, value: number, test: (v: number) => boolean, note?: string): void => {
    out.push({
      goal,
      measured: `${value.toFixed(2)}x`,
      status: test(value) ? 'met' : 'missed',
      ...(note ? { note } : {}),
    });
  };
  const t64 = 'throughput-unix-64';
  ratioGoal(
    'unix, acks off, 64 B: >= 0.8x raw net with writes batched into 64 KiB',
    r.ratio(t64, 'ipcez-off', 'net-batched', 'msgPerSec'),
    (v) => v >= 0.8,
  );
  ratioGoal(
    'unix, acks off, 64 B: >= 10x node-ipc',
    r.ratio(t64, 'ipcez-off', 'node-ipc', 'msgPerSec'),
    (v) => v >= 10,
  );
  ratioGoal('unix, acks off, 64 B: >= 10x zeromq', r.ratio(t64, 'ipcez-off', 'zeromq', 'msgPerSec'), (v) => v >= 10);
  ratioGoal(
    'unix, acks off, 4 MiB: >= 1.0x raw one write per message',
    r.ratio(`throughput-unix-${4 * MiB}`, 'ipcez-off', 'net', 'msgPerSec'),
    (v) => v >= 1,
  );
  ratioGoal(
    'round trip p50 (acks off) <= 1.15x raw net',
    r.ratio('rtt-64', 'ipcez-off', 'net', 'p50Us'),
    (v) => v <= 1.15,
  );
  ratioGoal(
    'round trip p50 (acks off) below node-ipc',
    r.ratio('rtt-64', 'ipcez-off', 'node-ipc', 'p50Us'),
    (v) => v < 1,
  );
  ratioGoal('round trip p50 (acks off) below zeromq', r.ratio('rtt-64', 'ipcez-off', 'zeromq', 'p50Us'), (v) => v < 1);
  for (const size of SIZES) {
    ratioGoal(
      `acked throughput >= 0.5x unacked, ${sizeLabel(size)}`,
      r.ratio(`throughput-unix-${size}`, 'ipcez-on', 'ipcez-off', 'msgPerSec'),
      (v) => v >= 0.5,
      ACK_NOTE,
    );
  }
  ratioGoal(
    'acked round trip p50 <= 1.1x unacked',
    r.ratio('rtt-64', 'ipcez-on', 'ipcez-off', 'p50Us'),
    (v) => v <= 1.1,
    ACK_NOTE,
  );
  for (const size of SIZES) {
    ratioGoal(
      `ws >= 0.9x raw ws, ${sizeLabel(size)}`,
      r.ratio(`throughput-ws-${size}`, 'ipcez-ws', 'ws', 'msgPerSec'),
      (v) => v >= 0.9,
    );
  }
  const bound = HIGH_WATER_MARK / MiB + 32;
  for (const library of ['ipcez-off', 'ipcez-on', 'ipcez-ws'] as const) {
    const growth = r.summary('rss-1g', library, 'growthMiB');
    out.push({
      goal: `sender RSS growth <= high-water mark + 32 MiB (${bound} MiB), ${LABELS[library]}`,
      measured: `${growth.median.toFixed(1)} MiB (max ${growth.max.toFixed(1)})`,
      status: growth.max <= bound ? 'met' : 'missed',
    });
  }
  return out;
}

function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    note: process.env['IPCEZ_BENCH_MACHINE'] ?? '',
  };
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function headlinePanels(r: Results): Panel[] {
  const bar = (group: string, library: Library, metric: string, label = LABELS[library]): Bar => ({
    label,
    ...r.summary(group, library, metric),
    isOurs: library.startsWith('ipcez'),
  });
  return [
    {
      title: '64 B one-way throughput (higher is better)',
      subtitle: 'messages/s, median of the repetitions, whisker min–max',
      unit: 'msg/s',
      format: (v) => `${si(v)}/s`,
      bars: [
        bar('throughput-unix-64', 'ipcez-off', 'msgPerSec'),
        bar('throughput-unix-64', 'ipcez-on', 'msgPerSec'),
        bar('throughput-unix-64', 'net-batched', 'msgPerSec'),
        bar('throughput-unix-64', 'net', 'msgPerSec'),
        bar('throughput-unix-64', 'node-ipc', 'msgPerSec'),
        bar('throughput-unix-64', 'zeromq', 'msgPerSec'),
        bar('throughput-ws-64', 'ws', 'msgPerSec', `${LABELS.ws} (TCP)`),
      ],
    },
    {
      title: '64 B round trip p50 (lower is better)',
      subtitle: 'µs, median of the repetitions, whisker min–max',
      unit: 'µs',
      format: (v) => `${v.toFixed(0)} µs`,
      bars: [
        bar('rtt-64', 'ipcez-off', 'p50Us'),
        bar('rtt-64', 'ipcez-on', 'p50Us'),
        bar('rtt-64', 'net', 'p50Us', 'raw net'),
        bar('rtt-64', 'node-ipc', 'p50Us'),
        bar('rtt-64', 'zeromq', 'p50Us'),
        bar('rtt-64', 'ws', 'p50Us', `${LABELS.ws} (TCP)`),
      ],
    },
  ];
}

function readmeBlock(r: Results, when: string, m: Record<string, string | number>, goalList: readonly Goal[]): string {
  const rows = goalList.map((g) => `| ${g.goal} | ${g.measured} | ${g.status === 'met' ? 'met' : '**missed**'} |`);
  const cell = (group: string, library: Library, metric: string, format: (v: number) => string): string => {
    const s = r.summary(group, library, metric);
    return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
  };
  /** MB/s per size, one row per library, for the groups `throughput-<transport>-<size>`. */
  const bySize = (transport: string, libraries: readonly Library[]): string[] => [
    `| | ${SIZES.map(sizeLabel).join(' | ')} |`,
    `| --- | ${SIZES.map(() => '---').join(' | ')} |`,
    ...libraries.map(
      (library) =>
        `| ${LABELS[library]} | ${SIZES.map((size) =>
          GROUPS.find((g) => g.key === `throughput-${transport}-${size}`)!.libraries.includes(library)
            ? cell(`throughput-${transport}-${size}`, library, 'mbPerSec', (v) => v.toFixed(0))
            : '–',
        ).join(' | ')} |`,
    ),
  ];
  const rtt = GROUPS.find((g) => g.key === 'rtt-64')!.libraries.map(
    (library) =>
      `| ${LABELS[library]} | ${cell('rtt-64', library, 'p50Us', (v) => v.toFixed(0))} | ${cell('rtt-64', library, 'p99Us', (v) => v.toFixed(0))} |`,
  );
  const many = GROUPS.find((g) => g.key === 'many-64')!.libraries.map(
    (library) => `| ${LABELS[library]} | ${cell('many-64', library, 'msgPerSec', si)} |`,
  );
  const rss = GROUPS.find((g) => g.key === 'rss-1g')!.libraries.map(
    (library) =>
      `| ${LABELS[library]} | ${cell('rss-1g', library, 'growthMiB', (v) => v.toFixed(0))} | ${cell('rss-1g', library, 'seconds', (v) => v.toFixed(1))} |`,
  );
  return [
    '![64 B throughput and round trip: ipcez, raw net, node-ipc, zeromq, ws](docs/bench/headline.svg)',
    '',
    `Measured ${when} on ${m['nproc']} CPUs (${m['cpu']}), Node ${m['node']}, ${m['os']}` +
      `${m['note'] ? `, ${m['note']}` : ''}; ${REPS} repetitions interleaved, each a separate server process and client process; ` +
      'median (min–max). Raw figures: [`docs/bench/results.json`](docs/bench/results.json).',
    '',
    '| goal (ratios within this run) | measured | |',
    '| --- | --- | --- |',
    ...rows,
    '',
    `One-way throughput over a Unix socket, MB/s of payload (node-ipc carries JSON text; its payload is a string of that many ASCII characters):`,
    '',
    ...bySize('unix', UNIX),
    '',
    'Over WebSocket on 127.0.0.1, MB/s:',
    '',
    ...bySize('ws', ['ipcez-ws', 'ws']),
    '',
    '| 64 B round trip | p50 µs | p99 µs |',
    '| --- | --- | --- |',
    ...rtt,
    '',
    `| ${CONNECTIONS} clients x 1 listener, 64 B | msg/s |`,
    '| --- | --- |',
    ...many,
    '',
    `| offering ${sizeLabel(PARAMS.totalBytes)} to a slow reader | sender RSS growth, MiB | seconds |`,
    '| --- | --- | --- |',
    ...rss,
  ].join('\n');
}

const START_MARK =
  '<!-- bench:start: generated by `pnpm bench` (tooling/bench/src/cases/libraries.ts); do not edit by hand -->';
const END_MARK = '<!-- bench:end -->';

function writeReadme(block: string): boolean {
  const file = join(root, 'README.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(START_MARK);
  const end = text.indexOf(END_MARK);
  if (start < 0 || end < start) return false;
  writeFileSync(file, `${text.slice(0, start + START_MARK.length)}\n${block}\n${text.slice(end)}`);
  return true;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Runs every group REPS times, interleaved, then prints, charts and writes the results. */
export async function run(): Promise<void> {
  const m = machine();
  console.log(
    `${m['nproc']} CPUs (${m['cpu']}), Node ${m['node']}; node-ipc ${VERSIONS['node-ipc']}, zeromq ${VERSIONS.zeromq}, ws ${VERSIONS.ws}`,
  );
  console.log(`${REPS} repetition(s), interleaved; every trial is a server process and a client process\n`);
  const dir = mkdtempSync(join(os.tmpdir(), 'ipcez-lib-'));
  const results = new Results();
  if (RUN.length === 0)
    throw new Error(`no group matches --groups ${onlyGroups.join(',')} --libs ${onlyLibraries.join(',')}`);
  const total = REPS * RUN.reduce((n, g) => n + g.libraries.length, 0);
  const started = performance.now();
  let done = 0;
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const [gi, group] of RUN.entries()) {
        const n = group.libraries.length;
        const order = group.libraries.map((_, i) => group.libraries[(i + rep + gi) % n]!);
        for (const library of order) {
          const config: Omit<PeerConfig, 'role'> = {
            ...PARAMS,
            library,
            mode: group.mode,
            size: group.size,
            address: join(dir, `t${done}.sock`),
          };
          let line: string;
          try {
            const result = await trial(config);
            const metrics = group.measure(result);
            const { roundTripsUs: _, ...kept } = result;
            results.trials.push({ group: group.key, library, rep, metrics, result: kept });
            const first = group.metrics[0]!;
            line = `${first.format(metrics[first.name]!)} ${first.unit}`;
          } catch (error) {
            // Recorded, and the run fails at the end; the other trials still run.
            const message = error instanceof Error ? error.message : String(error);
            results.failures.push({ group: group.key, library, rep, error: message });
            line = `FAILED: ${message}`;
          }
          done++;
          const elapsed = (performance.now() - started) / 1000;
          console.log(
            `[${String(done).padStart(3)}/${total} ${elapsed.toFixed(0).padStart(4)}s] rep ${rep + 1} ${pad(group.title, 62)} ` +
              `${pad(LABELS[library], 24)} ${line}`,
          );
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- tables -------------------------------------------------------------------------------
  for (const group of RUN) {
    console.log(`\n${group.title} (median (min–max) of ${REPS})`);
    for (const library of group.libraries) {
      const cells = group.metrics.map((metric) => {
        const s = results.summary(group.key, library, metric.name);
        return `${metric.format(s.median)} (${metric.format(s.min)}–${metric.format(s.max)}) ${metric.unit}`;
      });
      const ratios = group.baselines
        .filter((b) => b !== library)
        .map((b) => `${results.ratio(group.key, library, b, group.metrics[0]!.name).toFixed(2)}x ${LABELS[b]}`);
      console.log(`  ${pad(LABELS[library], 24)} ${cells.map((c) => pad(c, 34)).join(' ')} ${ratios.join(', ')}`);
    }
  }
  // A subset reports the goals it measured.
  const goalList = goals(results).filter((g) => !isSubset || !g.measured.startsWith('NaN'));
  console.log('\ngoals (ratios within this run)');
  for (const g of goalList) {
    console.log(
      `  ${pad(g.goal, 78)} ${pad(g.measured, 26)} ${g.status === 'met' ? 'met' : 'MISSED'}${g.note ? ` (${g.note})` : ''}`,
    );
  }

  // ---- files --------------------------------------------------------------------------------
  const when = new Date().toISOString().slice(0, 10);
  const isScratch = isQuick || isSubset;
  const target =
    outDir ?? (isScratch ? mkdtempSync(join(os.tmpdir(), 'ipcez-bench-quick-')) : join(root, 'docs', 'bench'));
  mkdirSync(target, { recursive: true });
  const summaries = RUN.map((group) => ({
    key: group.key,
    title: group.title,
    mode: group.mode,
    sizeBytes: group.size,
    libraries: Object.fromEntries(
      group.libraries.map((library) => [
        library,
        {
          label: LABELS[library],
          ...Object.fromEntries(
            group.metrics.map((metric) => [metric.name, results.summary(group.key, library, metric.name)]),
          ),
          ratios: Object.fromEntries(
            group.baselines
              .filter((b) => b !== library)
              .map((b) => [`vs ${b}`, results.ratio(group.key, library, b, group.metrics[0]!.name)]),
          ),
        },
      ]),
    ),
  }));
  const json = {
    generated: new Date().toISOString(),
    command: 'pnpm bench (this case alone: cd tooling/bench && node dist/run.js libraries)',
    quick: isQuick,
    ...(isSubset ? { subset: { groups: onlyGroups, libraries: onlyLibraries } } : {}),
    commit: gitCommit(),
    machine: m,
    versions: { node: process.version, ...VERSIONS },
    settings: { repetitions: REPS, highWaterMarkBytes: HIGH_WATER_MARK, ...PARAMS },
    goals: goalList,
    summaries,
    failures: results.failures,
    trials: results.trials,
  };
  writeFileSync(join(target, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  const footer = [
    `${m['nproc']} CPUs (${m['cpu']}), Node ${m['node']}${m['note'] ? `, ${m['note']}` : ''}; ${when}.`,
    `${REPS} interleaved repetitions, server and client in separate processes. Reproduce: pnpm bench`,
  ];
  writeFileSync(join(target, 'headline.svg'), chartSvg(headlinePanels(results), footer));
  console.log(`\nwrote ${relative(root, join(target, 'results.json'))} and headline.svg (${target})`);
  if (isScratch && outDir === undefined) {
    rmSync(target, { recursive: true, force: true });
    console.log(
      `(${isQuick ? '--quick' : 'a subset'}: the temporary directory was removed; docs/bench/ and README.md are untouched)`,
    );
  } else if (!isScratch && outDir === undefined && results.failures.length === 0) {
    console.log(
      writeReadme(readmeBlock(results, when, m, goalList))
        ? 'rewrote the Performance block of README.md'
        : 'README.md has no bench markers: its Performance block was not rewritten',
    );
  }
  if (results.failures.length > 0) {
    throw new Error(
      `${results.failures.length} trial(s) failed:\n${results.failures.map((f) => `  ${f.group} ${f.library} rep ${f.rep + 1}: ${f.error}`).join('\n')}`,
    );
  }
}

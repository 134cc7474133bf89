// Command-line options shared by every case:
// `node dist/run.js [--quick] [--out DIR] [--groups A,B] [--libs A,B] [--reps N] [name ...]`.
//   --quick     every case with small counts and one repetition: proves each still completes (CI
//               runs it); its figures mean nothing, and it never writes the committed results.
//   --out DIR   where the libraries case writes results.json and the chart (default: the repo's
//               docs/bench/ for a full run, a temporary directory, removed afterwards, for
//               --quick or a subset).
//   --groups    libraries case: only the groups whose key contains one of these (comma-separated,
//               e.g. `throughput-unix-64,rtt`); a subset never writes the committed results.
//   --libs      libraries case: only these libraries (comma-separated, e.g. `ipcez-off,net-batched`).
//   --reps N    libraries case: repetitions (default 3, 1 with --quick).
//   name ...    only the cases whose file name contains one of these.
const args = process.argv.slice(2);
const VALUED = ['--out', '--groups', '--libs', '--reps'];

function valueOf(flag: string): string | undefined {
  const index = args.indexOf(flag);
  if (index < 0) return undefined;
  const value = args[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
  return value;
}

function listOf(flag: string): readonly string[] {
  return (valueOf(flag) ?? '').split(',').filter((item) => item !== '');
}

/** `--quick`: small counts, one repetition, nothing committed is written. */
export const isQuick: boolean = args.includes('--quick');

/** `--out DIR`, if given. */
export const outDir: string | undefined = valueOf('--out');

/** `--groups`: substrings of the libraries case's group keys to run (empty: every group). */
export const onlyGroups: readonly string[] = listOf('--groups');

/** `--libs`: the libraries to run in the libraries case (empty: every library). */
export const onlyLibraries: readonly string[] = listOf('--libs');

/** `--reps N`, if given. */
export const repetitions: number | undefined = ((): number | undefined => {
  const value = valueOf('--reps');
  if (value === undefined) return undefined;
  const reps = Number(value);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${value}`);
  return reps;
})();

/** Whether the libraries case runs a subset (`--groups` or `--libs`). */
export const isSubset: boolean = onlyGroups.length > 0 || onlyLibraries.length > 0;

/** The case-name filters (every other argument). */
export const only: readonly string[] = args.filter((arg, i) => !arg.startsWith('--') && !VALUED.includes(args[i - 1]!));

/** `full` for a normal run, `quick` under --quick. */
export function pick<T>(full: T, quick: T): T {
  return isQuick ? quick : full;
}

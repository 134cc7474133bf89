// Command-line options shared by every case: `node dist/run.js [--quick] [--out DIR] [name ...]`.
//   --quick   every case with small counts and one repetition: proves each still completes (CI
//             runs it); its figures mean nothing, and it never writes the committed results.
//   --out DIR where the libraries case writes results.json and the chart (default: the repo's
//             docs/bench/ for a full run, a temporary directory, removed afterwards, for --quick).
//   name ...  only the cases whose file name contains one of these.
const args = process.argv.slice(2);

/** `--quick`: small counts, one repetition, nothing committed is written. */
export const isQuick: boolean = args.includes('--quick');

const outIndex = args.indexOf('--out');
/** `--out DIR`, if given. */
export const outDir: string | undefined = outIndex >= 0 ? args[outIndex + 1] : undefined;

/** The case-name filters (every other argument). */
export const only: readonly string[] = args.filter((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--out');

/** `full` for a normal run, `quick` under --quick. */
export function pick<T>(full: T, quick: T): T {
  return isQuick ? quick : full;
}

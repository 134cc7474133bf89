// The suite's report: every scenario records one row (messages, losses, RSS peak, fds,
// duration); after the run this global setup's teardown prints them as a table and, under
// `IPCEZ_SOAK=long` (the `soak` script) or when `IPCEZ_SOAK_REPORT` names a directory, writes
// `report.json` and `report.md` there (default: a fresh temp directory, printed).
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One scenario's figures. */
export interface ReportRow {
  readonly scenario: string;
  /** Messages sent (or connections made, where a scenario counts those). */
  readonly messages: number;
  /** Messages lost, reordered, duplicated or corrupt (0 means the property held). */
  readonly losses: number;
  /** Peak RSS of the process under test, bytes (0 when not measured). */
  readonly rssPeakBytes: number;
  /** Open file descriptors of the process under test at the end (0 when not measured). */
  readonly fds: number;
  readonly durationMs: number;
  readonly notes?: string;
}

function table(rows: readonly ReportRow[]): string {
  const lines = [
    '| scenario | messages | losses | RSS peak (MiB) | fds | duration (s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.messages} | ${r.losses} | ${r.rssPeakBytes === 0 ? '–' : (r.rssPeakBytes / 2 ** 20).toFixed(1)} | ${r.fds === 0 ? '–' : r.fds} | ${(r.durationMs / 1000).toFixed(1)} |`,
    ),
  ];
  return lines.join('\n');
}

export default function setup(): () => void {
  const scratch = mkdtempSync(join(tmpdir(), 'ipcez-rel-rows-'));
  const rowsFile = join(scratch, 'rows.jsonl');
  writeFileSync(rowsFile, '');
  // The test files' worker processes are started after this and inherit the variable.
  process.env['IPCEZ_REL_REPORT_ROWS'] = rowsFile;
  return () => {
    const rows = readFileSync(rowsFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ReportRow);
    rmSync(scratch, { recursive: true, force: true });
    if (rows.length === 0) return;
    const markdown = `# ipcez reliability report\n\n${process.env['IPCEZ_SOAK'] === 'long' ? 'IPCEZ_SOAK=long' : 'CI length'}, Node ${process.version}, ${process.platform}\n\n${table(rows)}\n`;
    console.log(`\n${markdown}`);
    const wanted = process.env['IPCEZ_SOAK_REPORT'];
    if (wanted === undefined && process.env['IPCEZ_SOAK'] !== 'long') return;
    const dir = wanted ?? mkdtempSync(join(tmpdir(), 'ipcez-soak-report-'));
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), `${JSON.stringify(rows, null, 2)}\n`);
    writeFileSync(join(dir, 'report.md'), markdown);
    console.log(`report written to ${join(dir, 'report.json')} and ${join(dir, 'report.md')}`);
  };
}

/**
 * Appends one scenario's row to the run's report (called from a test file's worker).
 *
 * @param rowsFile - the rows file of this run (`IPCEZ_REL_REPORT_ROWS`).
 * @param row - the figures.
 */
export function appendRow(rowsFile: string, row: ReportRow): void {
  appendFileSync(rowsFile, `${JSON.stringify(row)}\n`);
}

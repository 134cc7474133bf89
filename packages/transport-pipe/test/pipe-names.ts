// Unique, short pipe names for tests: wine runs share one pipe namespace (and on Windows
// every process does), so each name carries the pid, a counter and a random suffix.
import { randomBytes } from 'node:crypto';

let counter = 0;

export function uniquePipeName(tag: string): string {
  counter += 1;
  return `ipcez-${tag}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
}

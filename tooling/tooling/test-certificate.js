// A self-signed certificate for the tests that serve wss:// (made with the openssl CLI, which
// the Debian test machines have; the Windows lane's node.exe cannot run it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A self-signed EC (P-256) certificate for `commonName`, valid two days for 127.0.0.1 and
 * localhost. Made in a temp directory that is removed before this returns.
 *
 * @param {string} [commonName] - the subject's CN.
 * @returns {{ cert: string, key: string }} the certificate and its key, PEM.
 */
export function selfSignedCertificate(commonName = 'ipcez test') {
  const dir = mkdtempSync(join(tmpdir(), 'ipcez-cert-'));
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A self-signed EC (P-256) certificate for `commonName`, valid two days for 127.0.0.1 and
 * localhost. Made in a temp directory that is removed before this returns.
 */
export declare function selfSignedCertificate(commonName?: string): { cert: string; key: string };

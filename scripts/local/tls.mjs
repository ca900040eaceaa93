// A TLS certificate for local endpoints that answer https as S3 does (the tests' TLS proxy, the bench's
// TLS front of the local S3 server): self-signed, P-256, a day's validity, for 127.0.0.1 and localhost,
// made by Debian's openssl. A function trusts it through NODE_EXTRA_CA_CERTS=<certFile>.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Writes key.pem and cert.pem into `dir`; undefined when openssl cannot make them (not installed).
 * @param {string} dir
 * @returns {{ keyFile: string, certFile: string } | undefined}
 */
export function selfSignedCert(dir) {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    return { keyFile, certFile };
  } catch {
    return undefined;
  }
}

// TLS certificates made by the openssl command (an oracle independent of node:crypto): a fresh
// P-256 key and a self-signed certificate for localhost and 127.0.0.1, with the facts openssl
// itself reports about it.
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' })
export const hasOpenssl = probe.error === undefined && probe.status === 0
export const NO_OPENSSL = 'the openssl command is missing (Debian: apt-get install openssl)'

export interface Certificate {
  readonly certFile: string
  readonly keyFile: string
  /** The certificate and key, PEM. */
  readonly cert: string
  readonly key: string
  /** `openssl x509 -fingerprint -sha256`: colon-separated upper-case hex. */
  readonly fingerprint256: string
  /** `openssl x509 -enddate`, as a Date. */
  readonly notAfter: Date
}

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Writes `<name>.crt` and `<name>.key` into `dir`. */
export function makeCertificate(dir: string, name: string, days = 30): Certificate {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  // -subj names it: two certificates made in the same second still differ (and so do their keys).
  openssl([
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', keyFile, '-out', certFile, '-days', String(days)],
    ...['-subj', `/CN=localhost/O=${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
  ])
  const facts = openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256', '-enddate'])
  const fingerprint = /Fingerprint=([0-9A-F:]+)/i.exec(facts)?.[1]
  const enddate = /notAfter=(.+)/.exec(facts)?.[1]
  if (fingerprint === undefined || enddate === undefined) throw new Error(`openssl said: ${facts}`)
  return {
    certFile,
    keyFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    fingerprint256: fingerprint.toUpperCase(),
    notAfter: new Date(enddate),
  }
}

/** The key encrypted with a passphrase (PKCS#8, AES-256), PEM. */
export function encryptedKey(certificate: Certificate): string {
  return openssl([
    ...['pkcs8', '-topk8', '-in', certificate.keyFile, '-v2', 'aes-256-cbc'],
    ...['-passout', 'pass:not-for-the-service'],
  ])
}

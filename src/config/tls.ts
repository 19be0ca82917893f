// HTTPS served by the service itself: the certificate (chain) and private key files it reads.
// Their paths are process settings (a restart changes them); their contents are read at start and
// again whenever they change (src/tls.ts), and every read is checked whole: both files readable
// and PEM, the key the certificate's, and the pair accepted by OpenSSL. Messages name the variable
// and the path, never a key's bytes.
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { inspect } from 'node:util'
import { checkSecretFile } from './file-access.js'
import { ConfigError, type Findings } from './findings.js'
import { fileProblem, type Env, type ReadFile } from './sources.js'

export const TLS_VARIABLES = ['USERSIG_TLS_CERT_FILE', 'USERSIG_TLS_KEY_FILE'] as const

/** Where the certificate and its key are (both set, or HTTPS is off), and the pair read at start. */
export interface TlsSettings {
  readonly certFile: string
  readonly keyFile: string
  /** As read and checked at start; src/tls.ts reads the files again when they change. */
  readonly pair: TlsPair
}

/** A checked certificate and key. Printing or serialising it shows the certificate's facts only. */
export interface TlsPair {
  /** The certificate chain (PEM), leaf first, as served. */
  readonly cert: string
  /** The private key (PEM). Never logged. */
  readonly key: string
  /** The leaf's facts, for logs and metrics. */
  readonly notAfter: Date
  /** SHA-256 of the leaf (DER), colon-separated hex, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string
  readonly subjectAltName: string | undefined
  /** SHA-256 of both files: the same digest is the same pair. */
  readonly digest: string
}

/**
 * The two paths and the pair they hold, or null when neither variable is set. One without the
 * other, or a pair that fails its checks, is a problem.
 */
export function readTlsSettings(
  env: Env,
  readFile: ReadFile,
  findings: Findings,
): TlsSettings | null {
  const certFile = env.USERSIG_TLS_CERT_FILE
  const keyFile = env.USERSIG_TLS_KEY_FILE
  if (certFile === undefined && keyFile === undefined) return null
  if (certFile === undefined || keyFile === undefined) {
    const [set, unset] =
      certFile === undefined
        ? ['USERSIG_TLS_KEY_FILE', 'USERSIG_TLS_CERT_FILE']
        : ['USERSIG_TLS_CERT_FILE', 'USERSIG_TLS_KEY_FILE']
    findings.problem(
      `${unset}: not set, though ${set} is; HTTPS needs both the certificate and its key (set neither for plain HTTP)`,
    )
    return null
  }
  try {
    const pair = loadTlsPair({ certFile, keyFile }, readFile)
    checkSecretFile('USERSIG_TLS_KEY_FILE', keyFile, findings)
    return Object.freeze({ certFile, keyFile, pair })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    for (const problem of error.problems) findings.problem(problem)
    return null
  }
}

/**
 * Reads and checks the certificate and key that `files` name.
 *
 * @throws ConfigError naming the variable (and path) of each problem.
 */
export function loadTlsPair(
  files: { readonly certFile: string; readonly keyFile: string },
  readFile: ReadFile,
): TlsPair {
  const problems: string[] = []
  const read = (variable: string, path: string): string | null => {
    try {
      return readFile(path)
    } catch (error) {
      problems.push(`${variable}: cannot read ${path}: ${fileProblem(error)}`)
      return null
    }
  }
  const certText = read('USERSIG_TLS_CERT_FILE', files.certFile)
  const keyText = read('USERSIG_TLS_KEY_FILE', files.keyFile)
  const cert = certText === null ? null : parseCertificate(certText, files.certFile, problems)
  const key = keyText === null ? null : parseKey(keyText, files.keyFile, problems)
  if (cert !== null && key !== null && !cert.checkPrivateKey(key)) {
    problems.push(
      `USERSIG_TLS_KEY_FILE: the key in ${files.keyFile} does not match the certificate in USERSIG_TLS_CERT_FILE (${files.certFile})`,
    )
  }
  if (problems.length > 0 || certText === null || keyText === null || cert === null)
    throw new ConfigError(problems)
  try {
    // What the listener will do with them: a later certificate in the chain that OpenSSL cannot
    // load is caught here, not on the first handshake.
    createSecureContext({ cert: certText, key: keyText })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new ConfigError([
      `USERSIG_TLS_CERT_FILE: OpenSSL refuses the certificate chain in ${files.certFile} with its key${typeof code === 'string' ? ` (${code})` : ''}`,
    ])
  }
  const pair: TlsPair = {
    cert: certText,
    key: keyText,
    notAfter: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
    subjectAltName: cert.subjectAltName,
    digest: createHash('sha256').update(certText).update('\0').update(keyText).digest('hex'),
  }
  const facts = () => ({
    notAfter: pair.notAfter.toISOString(),
    fingerprint256: pair.fingerprint256,
  })
  Object.defineProperties(pair, {
    toJSON: { value: facts },
    [inspect.custom]: { value: () => `TlsPair ${inspect(facts())}` },
  })
  return Object.freeze(pair)
}

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----'

function parseCertificate(text: string, path: string, problems: string[]): X509Certificate | null {
  if (!text.includes(PEM_CERTIFICATE)) {
    problems.push(`USERSIG_TLS_CERT_FILE: ${path} holds no PEM certificate (${PEM_CERTIFICATE})`)
    return null
  }
  try {
    // The first certificate of the file is the leaf, the one the key must match.
    return new X509Certificate(text)
  } catch {
    problems.push(`USERSIG_TLS_CERT_FILE: ${path} holds no valid PEM certificate`)
    return null
  }
}

function parseKey(text: string, path: string, problems: string[]): KeyObject | null {
  try {
    return createPrivateKey({ key: text, format: 'pem' })
  } catch {
    // Never OpenSSL's message: it is about the bytes of a secret.
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)
    problems.push(
      `USERSIG_TLS_KEY_FILE: ${path} holds no usable PEM private key${encrypted ? ' (it is encrypted: give the key without a passphrase, in a file only the service can read)' : ''}`,
    )
    return null
  }
}

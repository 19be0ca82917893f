// USERSIG_TLS_CERT_FILE and USERSIG_TLS_KEY_FILE: both or neither; each problem names the variable
// and the path (missing, a folder, not PEM, an encrypted key, a key of another certificate); the
// pair's facts match what openssl says; the key never prints.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import {
  ConfigError,
  loadConfig,
  loadTlsPair,
  readConfigFile,
  type Config,
} from '../../src/config/index.js'
import {
  encryptedKey,
  hasOpenssl,
  makeCertificate,
  NO_OPENSSL,
  type Certificate,
} from '../helpers/certificates.js'
import { TEST_ENV } from '../helpers/http.js'
import { describeIf } from '../helpers/skip.js'

/** A PEM's first and last lines without the DER between them: what a damaged copy looks like. */
const damagedPem = (pem: string) => {
  const lines = pem.trim().split('\n')
  return [lines[0], lines[1], lines.at(-1)].join('\n') + '\n'
}

/** The base64 body of a PEM key: what must never be printed. */
const keyBody = (pem: string) =>
  pem
    .split('\n')
    .filter((line) => !line.startsWith('-----'))
    .join('')

describeIf(hasOpenssl, NO_OPENSSL)('TLS files', () => {
  let dir: string
  let a: Certificate
  let b: Certificate
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'usersig-tls-'))
    a = makeCertificate(dir, 'a')
    b = makeCertificate(dir, 'b')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const load = (env: Record<string, string>): Config => loadConfig({ ...TEST_ENV, ...env })
  const problems = (env: Record<string, string>): string[] => {
    try {
      load(env)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      for (const pem of [a.key, b.key])
        expect(error.message).not.toContain(keyBody(pem).slice(0, 40))
      return [...error.problems]
    }
    throw new Error('the configuration was accepted')
  }
  const write = (name: string, text: string): string => {
    const path = join(dir, name)
    writeFileSync(path, text, { mode: 0o600 })
    return path
  }

  test('neither variable: plain HTTP', () => {
    expect(load({}).process.tls).toBeNull()
  })

  test('both: the pair is read at start, with the facts openssl gives; the key never prints', () => {
    const tls = load({ USERSIG_TLS_CERT_FILE: a.certFile, USERSIG_TLS_KEY_FILE: a.keyFile }).process
      .tls
    expect(tls).toMatchObject({ certFile: a.certFile, keyFile: a.keyFile })
    expect(tls?.pair).toMatchObject({
      cert: a.cert,
      key: a.key,
      fingerprint256: a.fingerprint256,
      notAfter: a.notAfter,
      subjectAltName: 'DNS:localhost, IP Address:127.0.0.1',
    })
    const shown = [JSON.stringify(tls), inspect(tls, { depth: 5 }), String(tls?.pair)]
    for (const text of shown) {
      expect(text).not.toContain(keyBody(a.key).slice(0, 40))
      expect(text).not.toContain('PRIVATE KEY')
    }
    expect(JSON.parse(JSON.stringify(tls?.pair))).toEqual({
      notAfter: a.notAfter.toISOString(),
      fingerprint256: a.fingerprint256,
    })
  })

  test('the same files give the same digest; another pair another', () => {
    const read = (c: Certificate) => loadTlsPair(c, readConfigFile)
    expect(read(a).digest).toBe(read(a).digest)
    expect(read(a).digest).not.toBe(read(b).digest)
  })

  test('one without the other is refused, naming both', () => {
    expect(problems({ USERSIG_TLS_CERT_FILE: a.certFile })).toEqual([
      'USERSIG_TLS_KEY_FILE: not set, though USERSIG_TLS_CERT_FILE is; HTTPS needs both the certificate and its key (set neither for plain HTTP)',
    ])
    expect(problems({ USERSIG_TLS_KEY_FILE: a.keyFile })).toEqual([
      'USERSIG_TLS_CERT_FILE: not set, though USERSIG_TLS_KEY_FILE is; HTTPS needs both the certificate and its key (set neither for plain HTTP)',
    ])
  })

  test('a file that cannot be read names its variable, path and reason', () => {
    const missing = join(dir, 'missing.crt')
    const folder = join(dir, 'a-folder')
    mkdirSync(folder, { recursive: true })
    expect(problems({ USERSIG_TLS_CERT_FILE: missing, USERSIG_TLS_KEY_FILE: folder })).toEqual([
      `USERSIG_TLS_CERT_FILE: cannot read ${missing}: no such file (ENOENT)`,
      `USERSIG_TLS_KEY_FILE: cannot read ${folder}: it is a folder, not a file (EISDIR)`,
    ])
  })

  test('files that are not what they should be: no PEM certificate, no usable key, an encrypted key', () => {
    const notPem = write('not-pem.crt', 'hello\n')
    const damaged = write('damaged.crt', damagedPem(a.cert))
    expect(problems({ USERSIG_TLS_CERT_FILE: notPem, USERSIG_TLS_KEY_FILE: a.keyFile })).toEqual([
      `USERSIG_TLS_CERT_FILE: ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    ])
    expect(problems({ USERSIG_TLS_CERT_FILE: damaged, USERSIG_TLS_KEY_FILE: a.keyFile })).toEqual([
      `USERSIG_TLS_CERT_FILE: ${damaged} holds no valid PEM certificate`,
    ])
    // The certificate where the key should be (the two paths swapped).
    expect(
      problems({ USERSIG_TLS_CERT_FILE: a.certFile, USERSIG_TLS_KEY_FILE: a.certFile }),
    ).toEqual([`USERSIG_TLS_KEY_FILE: ${a.certFile} holds no usable PEM private key`])
    const encrypted = write('encrypted.key', encryptedKey(a))
    expect(
      problems({ USERSIG_TLS_CERT_FILE: a.certFile, USERSIG_TLS_KEY_FILE: encrypted }),
    ).toEqual([
      `USERSIG_TLS_KEY_FILE: ${encrypted} holds no usable PEM private key (it is encrypted: give the key without a passphrase, in a file only the service can read)`,
    ])
  })

  test('a chain whose later certificate OpenSSL cannot load is refused at load, not at the first handshake', () => {
    const chain = write('chain.crt', a.cert + damagedPem(b.cert))
    expect(problems({ USERSIG_TLS_CERT_FILE: chain, USERSIG_TLS_KEY_FILE: a.keyFile })).toEqual([
      expect.stringMatching(
        new RegExp(
          `^USERSIG_TLS_CERT_FILE: OpenSSL refuses the certificate chain in ${chain} with its key( \\(ERR_[A-Z0-9_]+\\))?$`,
        ),
      ),
    ])
  })

  test("a key that is not the certificate's is refused", () => {
    expect(
      problems({ USERSIG_TLS_CERT_FILE: a.certFile, USERSIG_TLS_KEY_FILE: b.keyFile }),
    ).toEqual([
      `USERSIG_TLS_KEY_FILE: the key in ${b.keyFile} does not match the certificate in USERSIG_TLS_CERT_FILE (${a.certFile})`,
    ])
  })

  test('TLS problems come with every other problem at once', () => {
    expect(
      problems({ USERSIG_TLS_CERT_FILE: a.certFile, USERSIG_TLS_KEY_FILE: b.keyFile, PORT: 'x' }),
    ).toEqual([
      expect.stringMatching(/^PORT: /),
      expect.stringMatching(/^USERSIG_TLS_KEY_FILE: the key in /),
    ])
  })

  test('in production, a key file others may read is warned about (secret_file_permissions)', () => {
    const key = write('shared.key', a.key)
    chmodSync(key, 0o644)
    const settings = load({
      NODE_ENV: 'production',
      METRICS_PORT: '9100',
      USERSIG_TLS_CERT_FILE: a.certFile,
      USERSIG_TLS_KEY_FILE: key,
    }).process
    expect(settings.warnings).toContainEqual({
      warning: 'secret_file_permissions',
      message: `USERSIG_TLS_KEY_FILE: ${key} is readable by every user (mode 0644): chmod o-rw`,
    })
    chmodSync(key, 0o600)
    const quiet = load({
      NODE_ENV: 'production',
      METRICS_PORT: '9100',
      USERSIG_TLS_CERT_FILE: a.certFile,
      USERSIG_TLS_KEY_FILE: key,
    })
    expect(quiet.process.warnings.map(({ warning }) => warning)).not.toContain(
      'secret_file_permissions',
    )
  })

  test("the pair is read through the process settings' reader, never the policy's: a policy reload's digest holds the policy's files only", () => {
    const reads = { settings: [] as string[], policy: [] as string[] }
    const reader = (into: string[]) => (path: string) => {
      into.push(path)
      return readFileSync(path, 'utf8')
    }
    loadConfig(
      { ...TEST_ENV, USERSIG_TLS_CERT_FILE: a.certFile, USERSIG_TLS_KEY_FILE: a.keyFile },
      reader(reads.settings),
      { readPolicyFile: reader(reads.policy) },
    )
    expect(reads.settings.sort()).toEqual([a.certFile, a.keyFile].sort())
    expect(reads.policy).toEqual([])
  })
})

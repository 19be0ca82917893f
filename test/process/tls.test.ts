// HTTPS from the service itself, in the real process: it serves the configured certificate, with
// the same front door (100-continue) and a handshake deadline; a Kubernetes-style Secret update (a
// `..data` symlink swap) reaches new connections without a restart; a bad new pair is refused and
// the one in force stays; a mismatched pair at start is refused naming the variable. Certificates
// are made by openssl, and checked against what openssl says about them, not what node:crypto
// says.
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { TLS_HANDSHAKE_TIMEOUT_MS } from '../../src/tls.js'
import {
  hasOpenssl,
  makeCertificate,
  NO_OPENSSL,
  type Certificate,
} from '../helpers/certificates.js'
import { APP_A, TEST_ENV, TOKENS } from '../helpers/http.js'
import { describeIf } from '../helpers/skip.js'
import { startService, waitForOutput, type Service } from '../helpers/process.js'

const APP = APP_A
const TOKEN = TOKENS.issuer
/** How long a Secret update may take to reach new connections: the debounce is 250 ms; the machine is busy. */
const SWAP_BOUND_MS = 10_000

const portOf = (service: Service) => Number(new URL(service.url).port)

/** The certificate a new connection is served, by its SHA-256 fingerprint (no verification). */
function servedFingerprint(service: Service): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port: portOf(service),
        servername: 'localhost',
        rejectUnauthorized: false,
      },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256)
        socket.end()
      },
    )
    socket.on('error', reject)
  })
}

/** A request over a new, verified connection: `ca` is the only certificate trusted. */
function call(
  service: Service,
  path: string,
  ca: string,
  body?: object,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: portOf(service),
        servername: 'localhost',
        path,
        ca,
        agent: false,
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return Date.now() - started
}

/** The service's log lines with this message, parsed. */
const logged = (service: Service, msg: string): Record<string, unknown>[] =>
  service.stdout
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/** The base64 body of a PEM key: what must never be printed. */
const keyBody = (pem: string) =>
  pem
    .split('\n')
    .filter((line) => !line.startsWith('-----'))
    .join('')

/** A folder laid out as a mounted Kubernetes Secret of type kubernetes.io/tls. */
function secretVolume(): { folder: string; publish(cert: string, key: string): void } {
  const folder = mkdtempSync(join(tmpdir(), 'usersig-tls-secret-'))
  let version = 0
  const volume = {
    folder,
    /** Writes a new version (tls.crt, tls.key) and swaps `..data` to it, as the kubelet does. */
    publish(cert: string, key: string) {
      version += 1
      const data = join(folder, `..v${version}`)
      mkdirSync(data)
      writeFileSync(join(data, 'tls.crt'), cert)
      writeFileSync(join(data, 'tls.key'), key, { mode: 0o600 })
      symlinkSync(`..v${version}`, join(folder, '..data_tmp'))
      renameSync(join(folder, '..data_tmp'), join(folder, '..data'))
    },
  }
  return volume
}

describeIf(hasOpenssl, NO_OPENSSL)('HTTPS', () => {
  let made: string
  let a: Certificate
  let b: Certificate
  let c: Certificate
  let volume: ReturnType<typeof secretVolume>
  const tlsEnv = (folder = volume.folder) => ({
    USERSIG_TLS_CERT_FILE: join(folder, 'tls.crt'),
    USERSIG_TLS_KEY_FILE: join(folder, 'tls.key'),
  })
  /** A Secret volume holding `cert`, with the files linked through `..data`. */
  const mounted = (cert: Certificate) => {
    const created = secretVolume()
    created.publish(cert.cert, cert.key)
    symlinkSync('..data/tls.crt', join(created.folder, 'tls.crt'))
    symlinkSync('..data/tls.key', join(created.folder, 'tls.key'))
    return created
  }

  let service: Service
  beforeAll(async () => {
    made = mkdtempSync(join(tmpdir(), 'usersig-certs-'))
    a = makeCertificate(made, 'a')
    b = makeCertificate(made, 'b')
    c = makeCertificate(made, 'c')
    volume = mounted(a)
    service = await startService({ ...TEST_ENV, ...tlsEnv() })
  })
  afterAll(async () => {
    service.child.kill('SIGKILL')
    await service.exited
    for (const folder of [made, volume.folder]) rmSync(folder, { recursive: true, force: true })
  })

  test('serves HTTPS with the configured certificate; the log and a metric give its notAfter and fingerprint, never the key', async () => {
    expect(await servedFingerprint(service)).toBe(a.fingerprint256)
    expect(await call(service, '/healthz', a.cert)).toEqual({
      status: 200,
      text: '{"status":"ok"}',
    })
    const issued = await call(service, '/usersig', a.cert, { sdkAppId: APP, userId: 'alice' })
    expect(issued.status).toBe(200)
    expect(JSON.parse(issued.text)).toMatchObject({ sdkAppId: APP, userId: 'alice' })
    // Another certificate is not trusted: the connection really is verified against `ca`.
    await expect(call(service, '/healthz', b.cert)).rejects.toThrow()

    expect(logged(service, 'TLS certificate loaded')[0]).toMatchObject({
      reason: 'start',
      notAfter: a.notAfter.toISOString(),
      fingerprint256: a.fingerprint256,
    })
    const metrics = await call(service, '/metrics', a.cert)
    expect(metrics.text).toContain(
      `usersig_tls_cert_not_after_timestamp_seconds ${a.notAfter.getTime() / 1000}\n`,
    )
    for (const output of [service.stdout, service.stderr]) {
      expect(output).not.toContain(keyBody(a.key).slice(0, 40))
      expect(output).not.toContain('PRIVATE KEY')
    }
  })

  test('the front door is the same over TLS: `Expect: 100-continue` gets its 413 before a byte of the body', async () => {
    const answer = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false
      const req = request(
        {
          host: '127.0.0.1',
          port: portOf(service),
          servername: 'localhost',
          path: '/usersig',
          ca: a.cert,
          agent: false,
          method: 'POST',
          headers: {
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
            'content-length': String(10 ** 9),
            expect: '100-continue',
          },
        },
        (res) => {
          res.resume()
          resolve({ status: res.statusCode ?? 0, continued })
          req.destroy()
        },
      )
      req.on('continue', () => (continued = true))
      req.on('error', reject)
      req.flushHeaders()
    })
    expect(answer).toEqual({ status: 413, continued: false })
  })

  test(
    `a client that never finishes the TLS handshake is cut after ${TLS_HANDSHAKE_TIMEOUT_MS} ms`,
    async () => {
      const socket = createConnection(portOf(service), '127.0.0.1')
      await once(socket, 'connect')
      const started = Date.now()
      socket.resume()
      await once(socket, 'close')
      const took = Date.now() - started
      // Generous: the server checks its deadlines on a busy machine.
      expect(took).toBeGreaterThanOrEqual(TLS_HANDSHAKE_TIMEOUT_MS - 500)
      expect(took).toBeLessThan(TLS_HANDSHAKE_TIMEOUT_MS + 5_000)
    },
    TLS_HANDSHAKE_TIMEOUT_MS + 15_000,
  )

  test('a Secret update (a `..data` swap) reaches new connections within the bound; the process serves throughout', async () => {
    const pid = service.child.pid
    let running = true
    const statuses: number[] = []
    const traffic = (async () => {
      while (running) {
        // Either certificate may answer while the swap lands: trust both.
        const answer = await call(service, '/usersig', a.cert + b.cert, {
          sdkAppId: APP,
          userId: 'bob',
        }).catch((error: Error) => ({ status: 0, text: error.message }))
        statuses.push(answer.status)
      }
    })()
    volume.publish(b.cert, b.key)
    const took = await until(
      async () => (await servedFingerprint(service)) === b.fingerprint256,
      SWAP_BOUND_MS,
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    running = false
    await traffic
    expect({ took: took < SWAP_BOUND_MS, exitCode: service.child.exitCode }).toEqual({
      took: true,
      exitCode: null,
    })
    expect(service.child.pid).toBe(pid)
    expect(statuses.length).toBeGreaterThan(3)
    expect(statuses.filter((status) => status !== 200)).toEqual([])
    // Verified against the new certificate alone.
    expect((await call(service, '/healthz', b.cert)).status).toBe(200)
    await waitForOutput(service, (s) => s.stdout.includes('TLS certificate reloaded'))
    expect(logged(service, 'TLS certificate reloaded')[0]).toMatchObject({
      reason: 'file changed',
      notAfter: b.notAfter.toISOString(),
      fingerprint256: b.fingerprint256,
    })
    expect((await call(service, '/metrics', b.cert)).text).toContain(
      'usersig_tls_reloads_total{outcome="success"} 1\n',
    )
  })

  test('a bad new pair (a key of another certificate, then no certificate at all) is refused; the certificate in force stays', async () => {
    volume.publish(c.cert, b.key)
    await waitForOutput(
      service,
      (s) => s.stdout.includes('TLS certificate reload rejected'),
      SWAP_BOUND_MS,
    )
    volume.publish('not a certificate\n', c.key)
    await waitForOutput(
      service,
      (s) => s.stdout.split('TLS certificate reload rejected').length === 3,
      SWAP_BOUND_MS,
    )
    expect(
      logged(service, 'TLS certificate reload rejected; the certificate in force stays'),
    ).toEqual([
      expect.objectContaining({
        level: 50,
        fingerprint256: b.fingerprint256,
        problems: [
          `USERSIG_TLS_KEY_FILE: the key in ${tlsEnv().USERSIG_TLS_KEY_FILE} does not match the certificate in USERSIG_TLS_CERT_FILE (${tlsEnv().USERSIG_TLS_CERT_FILE})`,
        ],
      }),
      expect.objectContaining({
        problems: [
          `USERSIG_TLS_CERT_FILE: ${tlsEnv().USERSIG_TLS_CERT_FILE} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
        ],
      }),
    ])
    expect(await servedFingerprint(service)).toBe(b.fingerprint256)
    expect((await call(service, '/healthz', b.cert)).status).toBe(200)
    expect((await call(service, '/metrics', b.cert)).text).toContain(
      'usersig_tls_reloads_total{outcome="rejected"} 2\n',
    )
    expect(service.stdout).not.toContain(keyBody(c.key).slice(0, 40))
  })

  test('SIGHUP reloads the pair, for a change the watch cannot see (a file rewritten inside `..data`)', async () => {
    // In place, behind the symlinks: the watched folder itself does not change.
    writeFileSync(join(volume.folder, '..data', 'tls.crt'), c.cert)
    writeFileSync(join(volume.folder, '..data', 'tls.key'), c.key)
    service.child.kill('SIGHUP')
    await until(async () => (await servedFingerprint(service)) === c.fingerprint256, SWAP_BOUND_MS)
    const reloadedOnSighup = /"reason":"SIGHUP".*"msg":"TLS certificate reloaded"/
    await waitForOutput(service, (s) => reloadedOnSighup.test(s.stdout))
    expect(service.stdout).toMatch(reloadedOnSighup)
  })

  test('a mismatched pair at start, or one file without the other, is refused naming the variable', async () => {
    const [mismatched, alone] = await Promise.all([
      startService({
        ...TEST_ENV,
        USERSIG_TLS_CERT_FILE: a.certFile,
        USERSIG_TLS_KEY_FILE: b.keyFile,
      }),
      startService({ ...TEST_ENV, USERSIG_TLS_CERT_FILE: a.certFile }),
    ])
    expect(await mismatched.exited).toBe(1)
    expect(await alone.exited).toBe(1)
    expect(mismatched.stderr).toBe(
      'usersig-service: Invalid configuration:\n' +
        `  - USERSIG_TLS_KEY_FILE: the key in ${b.keyFile} does not match the certificate in USERSIG_TLS_CERT_FILE (${a.certFile})\n`,
    )
    expect(alone.stderr).toContain(
      '  - USERSIG_TLS_KEY_FILE: not set, though USERSIG_TLS_CERT_FILE is; HTTPS needs both the certificate and its key',
    )
    for (const refused of [mismatched, alone])
      expect(refused.stdout).not.toContain('"msg":"listening"')
  })
  test('with WEB_CONCURRENCY=2, every worker serves the pair and takes the new one', async () => {
    const own = mounted(a)
    const cluster = await startService({ ...TEST_ENV, ...tlsEnv(own.folder), WEB_CONCURRENCY: '2' })
    try {
      // Fresh connections are spread over the workers: ten in a row must all agree.
      const all = async (fingerprint: string) => {
        const served = await Promise.all(
          Array.from({ length: 10 }, () => servedFingerprint(cluster)),
        )
        return served.every((seen) => seen === fingerprint)
      }
      expect(await all(a.fingerprint256)).toBe(true)
      own.publish(b.cert, b.key)
      await until(() => all(b.fingerprint256), SWAP_BOUND_MS)
      expect(cluster.child.exitCode).toBeNull()
    } finally {
      cluster.child.kill('SIGKILL')
      await cluster.exited
      rmSync(own.folder, { recursive: true, force: true })
    }
  })
})

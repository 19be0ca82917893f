// The main listener: node:http, or node:https when USERSIG_TLS_CERT_FILE and USERSIG_TLS_KEY_FILE
// are set, with the same request listener either way. The certificate and key are read again
// when their folder changes (a Kubernetes Secret update swaps a `..data` symlink; cert-manager
// renews that way) or on SIGHUP, and swapped in for new connections with setSecureContext: no
// restart, and connections already open finish on the certificate they started with. A new pair
// that fails its checks is refused with an error log, and the pair in force stays.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { Counter, Gauge } from 'prom-client'
import type { App } from './app.js'
import {
  ConfigError,
  loadTlsPair,
  readConfigFile,
  type TlsPair,
  type TlsSettings,
} from './config/index.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import { watchFolders } from './reload.js'

/** A TLS handshake must be done within this: node:tls's default, 120 s, lets a silent client hold a socket. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000

export type Listener = HttpServer | HttpsServer

export interface ListenerDeps {
  readonly tls: TlsSettings | null
  readonly logger: Logger
  readonly metrics: Metrics
}

/**
 * The server for `app` (not yet listening), serving the pair read at start, and what reloads its
 * certificate (a no-op over plain HTTP). Its watchers stop when the server closes.
 */
export function createListener(
  options: { connectionsCheckingInterval: number },
  app: App,
  { tls, logger, metrics }: ListenerDeps,
): { server: Listener; reloadTls: (reason: string) => void } {
  if (tls === null) return { server: createHttpServer(options, app), reloadTls: () => undefined }
  let pair = tls.pair
  const server = createHttpsServer(
    { ...options, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, cert: pair.cert, key: pair.key },
    app,
  )
  const { notAfter, reloads } = tlsMetrics(metrics)
  const inForce = (message: string, reason: string) => {
    notAfter.set(pair.notAfter.getTime() / 1000)
    // The certificate's public facts only: never the key.
    logger.info(
      {
        reason,
        certFile: tls.certFile,
        notAfter: pair.notAfter.toISOString(),
        fingerprint256: pair.fingerprint256,
        subjectAltName: pair.subjectAltName,
      },
      message,
    )
  }
  inForce('TLS certificate loaded', 'start')

  /** `quiet`: an unchanged pair is neither logged nor counted. */
  const reloadTls = (reason: string, { quiet = false } = {}) => {
    let next: TlsPair
    try {
      next = loadTlsPair(tls, readConfigFile)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      logger.error(
        { reason, problems: error.problems, fingerprint256: pair.fingerprint256 },
        'TLS certificate reload rejected; the certificate in force stays',
      )
      reloads.inc({ outcome: 'rejected' })
      return
    }
    if (next.digest === pair.digest) {
      if (quiet) return
      logger.info({ reason, fingerprint256: pair.fingerprint256 }, 'TLS certificate unchanged')
      reloads.inc({ outcome: 'unchanged' })
      return
    }
    server.setSecureContext({ cert: next.cert, key: next.key })
    pair = next
    inForce('TLS certificate reloaded', reason)
    reloads.inc({ outcome: 'success' })
  }

  // Only the pair's own changes: a log written beside it must not set off a reload per line.
  const { watchers, unwatched } = watchFolders(
    [tls.certFile, tls.keyFile],
    () => reloadTls('file changed'),
    { onlyTheirs: true },
  )
  for (const { folder, code } of unwatched)
    logger.warn({ folder, code }, 'cannot watch the TLS certificate folder; reload with SIGHUP')
  // The pair was read (by loadConfig) before the watch began: one more read now catches a change
  // made in between, which the watch cannot report.
  reloadTls('changed while starting', { quiet: true })
  server.on('close', () => {
    for (const watcher of watchers) watcher.close()
  })
  return { server, reloadTls }
}

function tlsMetrics(metrics: Metrics) {
  return {
    notAfter: new Gauge({
      name: 'usersig_tls_cert_not_after_timestamp_seconds',
      help: 'When the served TLS certificate expires (its notAfter), in Unix seconds.',
      registers: [metrics.registry],
      aggregator: 'min', // under node:cluster: the certificate that expires first
    }),
    reloads: new Counter({
      name: 'usersig_tls_reloads_total',
      help: 'TLS certificate reloads by outcome (success, unchanged, rejected: the new pair failed its checks and the old one stays).',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    }),
  }
}

// Process entry: watchers -> config -> logger -> tracer -> app -> listen; timeouts; SIGTERM drains
// (and exports the last spans) then exits 0; SIGHUP and file changes reload the policy.
import cluster from 'node:cluster'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createApp, type AppDeps } from './app.js'
import { clusterMetricsSource, exitCannotListen, runPrimary } from './cluster.js'
import {
  ConfigError,
  loadConfig,
  loadPolicy,
  readConfigFile,
  type Config,
  type ProcessSettings,
} from './config/index.js'
import { LiveConfig } from './live-config.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics } from './metrics.js'
import { stopWithNpm } from './npm-parent.js'
import { appKeys, createReloader, logWarnings, readRecorded, watchConfigFiles } from './reload.js'
import { openTracer } from './tracing.js'

/** Server timeouts (ms): slow clients that trickle headers or a body are cut off. */
export const SERVER_TIMEOUTS = {
  headersTimeout: 10_000,
  requestTimeout: 15_000,
  keepAliveTimeout: 5_000,
}
/** How often Node checks those deadlines; its default, 30 s, would let a slow client stay ~40 s. */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version

async function start(): Promise<void> {
  const env = process.env
  // The watchers start before the first read, and the reloader's baseline is that very read: a
  // change made at any moment after it is seen, and one made before it is in it.
  let onFileChange = (): void => undefined
  const { watchers, unwatched } = watchConfigFiles(env, () => onFileChange())
  let first: { value: Config; digest: string }
  try {
    first = readRecorded(readConfigFile, (read) => loadConfig(env, read))
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`usersig-service: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
  const config = first.value
  const settings = config.process
  const logger = createLogger(settings.logLevel)
  for (const { folder, code } of unwatched) {
    logger.warn({ folder, code }, 'cannot watch a configuration folder; reload with SIGHUP')
  }
  if (cluster.isPrimary && settings.workers > 1) {
    if (config.policy.devDefault === null) {
      // Each worker watches and reloads on its own; the primary forwards SIGHUP.
      for (const watcher of watchers) watcher.close()
      runPrimary(settings.workers, settings, logger, startLine(config, null))
      logWarnings(logger, config)
      return
    }
    // Each worker would generate its own demo key and token: one process is what a demo needs.
    logger.warn(
      { workers: settings.workers },
      'WEB_CONCURRENCY is ignored with the development default',
    )
  }
  const lifecycle = { shuttingDown: false }
  const live = new LiveConfig(config)
  const metrics = createMetrics(live)
  // Under node:cluster, /metrics answers with the whole cluster's, from the primary: one source
  // for both listeners (its requests and replies are matched by id).
  const fromCluster = cluster.isWorker
    ? { metricsText: clusterMetricsSource(metrics.registry) }
    : {}
  // The OpenTelemetry SDK loads here only when an OTLP endpoint is set (src/tracing.ts).
  const tracer = await openTracer(settings.tracing, { logger, version: VERSION })
  const appDeps: AppDeps = { config, live, metrics, logger, lifecycle, tracer, ...fromCluster }
  const app = createApp(appDeps)

  // The policy (apps, keys, callers, the JWT secret) reloads; the process settings need a restart.
  const reload = createReloader({
    live,
    baseline: first.digest,
    load: (read) => loadPolicy(env, settings.jwt, read),
    readFile: readConfigFile,
    logger,
    metrics,
  })
  onFileChange = () => reload.reload('file changed')
  process.on('SIGHUP', () => reload.reload('SIGHUP'))
  const server = createServer(
    { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS },
    app,
  )
  // `Expect: 100-continue`: the front door sends 100 only when it is about to read the body.
  server.on('checkContinue', app.checkContinue)
  Object.assign(server, SERVER_TIMEOUTS)

  const cannotListen = (error: Error) => {
    const text = listenProblem(error, settings)
    if (text === null) throw error
    exitCannotListen(`usersig-service: ${text}`)
  }
  server.once('error', cannotListen)
  // METRICS_PORT: /metrics on a listener of its own (and 404 on PORT), for a scrape network apart.
  const metricsServer = settings.metricsPort === null ? null : listenForMetrics(settings, appDeps)
  server.listen(settings.port, settings.host, () => {
    server.off('error', cannotListen)
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : settings.port
    logger.info({ ...startLine(live.current, live.generation), port }, 'listening')
    // Under node:cluster the primary has logged them once for every worker.
    if (!cluster.isWorker) logWarnings(logger, live.current)
    if (config.policy.devDefault !== null) {
      writeDevToken(config.policy.devDefault.token, logger)
      printDevBanner(config.policy.devDefault, settings.host, port)
    }
  })

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    // Readiness turns 503 first, so the load balancer stops sending; in-flight requests finish.
    lifecycle.shuttingDown = true
    for (const watcher of watchers) watcher.close()
    logger.info({ signal, delayMs: settings.shutdownDelayMs }, 'shutting down')
    setTimeout(() => {
      let closed = false
      metricsServer?.close()
      metricsServer?.closeAllConnections()
      server.close(() => {
        closed = true
        // The spans of the last requests go out before the process does, within the timeout.
        void tracer.shutdown().then(() => {
          logger.info('stopped')
          process.exit(0)
        })
      })
      server.closeIdleConnections()
      setTimeout(() => {
        if (closed) {
          // Every request was answered; only the last spans are lost.
          logger.warn(
            { timeoutMs: settings.shutdownTimeoutMs },
            'shutdown timed out while exporting the last spans',
          )
          process.exit(0)
        }
        logger.error(
          { timeoutMs: settings.shutdownTimeoutMs },
          'shutdown timed out; closing remaining connections',
        )
        server.closeAllConnections()
        process.exit(1)
      }, settings.shutdownTimeoutMs).unref()
    }, settings.shutdownDelayMs)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  stopWithNpm(stop)
}

/** The /metrics listener of METRICS_PORT: the same app, serving that one operation. */
function listenForMetrics(settings: ProcessSettings, deps: AppDeps): Server {
  const app = createApp({ ...deps, surface: 'metrics' })
  const server = createServer(
    { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS },
    app,
  )
  Object.assign(server, SERVER_TIMEOUTS)
  const port = settings.metricsPort as number
  server.once('error', (error: Error) => {
    const text = listenProblem(error, { ...settings, port })
    if (text === null) throw error
    exitCannotListen(`usersig-service: ${text.replace('set PORT', 'set METRICS_PORT')}`)
  })
  server.listen(port, settings.host, () => deps.logger.info({ port }, 'metrics listening'))
  return server
}

/**
 * What the first log line says, for whoever is paged: which build runs, where, and with which
 * keys signing (ids, never secrets). `generation` is null in a cluster's primary, which serves none.
 */
function startLine(config: Config, generation: number | null): Record<string, unknown> {
  const settings = config.process
  return {
    pid: process.pid,
    version: VERSION,
    node: process.version,
    production: settings.production,
    host: settings.host,
    port: settings.port,
    workers: settings.workers,
    ...(generation === null ? {} : { generation }),
    debugEndpoints: settings.debugEndpoints,
    // Where spans go (the collector's origin, the protocol, the sampler), or null: no export.
    tracing: settings.tracing,
    apps: appKeys(config).map(({ sdkAppId, primaryKeyId }) => ({ sdkAppId, primaryKeyId })),
  }
}

/** Why the listener could not start, in one line naming what to change; null for the unexpected. */
function listenProblem(error: Error, settings: ProcessSettings): string | null {
  const code = (error as { code?: unknown }).code
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host
  const where = `cannot listen on ${host}:${settings.port} (${String(code)})`
  switch (code) {
    case 'EADDRINUSE':
      return `${where}: the address is in use by another process; set PORT or HOST`
    case 'EACCES':
      return `${where}: permission denied (ports below 1024 need privileges); set PORT or HOST`
    case 'EADDRNOTAVAIL':
      return `${where}: HOST is not an address of this machine; set HOST`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${where}: HOST does not resolve to an address; set HOST`
    default:
      return null
  }
}

/** Where the development default leaves its caller token, for a second terminal in this folder. */
const DEV_TOKEN_FILE = '.usersig-dev-token'

function writeDevToken(token: string, logger: Logger): void {
  try {
    // Replaced, not rewritten: an existing file's looser mode must not carry over to a new token.
    rmSync(DEV_TOKEN_FILE, { force: true })
    writeFileSync(DEV_TOKEN_FILE, `${token}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    logger.warn({ err: error, file: DEV_TOKEN_FILE }, 'cannot write the development token file')
    return
  }
  // Only this process's token: a second development process may have replaced the file since.
  process.on('exit', () => {
    try {
      if (readFileSync(DEV_TOKEN_FILE, 'utf8').trim() === token) rmSync(DEV_TOKEN_FILE)
    } catch {
      // already gone
    }
  })
}

/** The one place the development token is shown: on the terminal and in an owner-only file. */
function printDevBanner(
  dev: { sdkAppId: number; clientId: string; token: string },
  host: string,
  port: number,
): void {
  const base = `http://${host}:${port}`
  process.stderr.write(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '!! DEVELOPMENT DEFAULT: nothing is configured, so a demo app and caller were  !!',
      '!! generated for this process only. Tickets it issues are NOT valid for any   !!',
      '!! real SDKAppID. Set USERSIG_APPS and USERSIG_CLIENTS (see .env.example).    !!',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `   demo SDKAppID: ${dev.sdkAppId}`,
      `   demo caller:   ${dev.clientId}, token ${dev.token}`,
      `   token file:    ./${DEV_TOKEN_FILE} (owner-only; removed when the service stops)`,
      `   try:           curl -s ${base}/usersig -H 'Authorization: Bearer ${dev.token}' \\`,
      `                    -H 'Content-Type: application/json' -d '{"sdkAppId": ${dev.sdkAppId}, "userId": "alice"}'`,
      `   API docs:      ${base}/docs`,
      `   debugger:      ${base}/debug`,
      '',
    ].join('\n') + '\n',
  )
}

await start()

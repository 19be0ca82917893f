// Process entry: watchers -> config -> logger -> counts -> tracer -> app -> listen; timeouts;
// SIGTERM drains (and exports the last spans) then exits 0; SIGHUP and file changes reload the
// policy. With WEB_CONCURRENCY > 1 this process is the cluster primary (cluster/primary.ts), and
// each worker starts from the policy it hands out.
import cluster from 'node:cluster'
import { readFileSync, rmSync, writeFileSync, type FSWatcher } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { ListenOptions } from 'node:net'
import { createApp, type AppDeps } from './app.js'
import { runPrimary } from './cluster/primary.js'
import {
  clusterMetricsSource,
  exitCannotListen,
  onPolicy,
  onTlsReload,
  policyFromPrimary,
  reportListening,
  requestReload,
  REUSE_PORT,
} from './cluster/worker.js'
import {
  ConfigError,
  loadConfig,
  loadPolicy,
  readConfigFile,
  type Config,
  type Env,
  type ProcessSettings,
} from './config/index.js'
import { LiveConfig } from './live-config.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics, sharedCollection, type Metrics } from './metrics.js'
import { stopWithNpm } from './npm-parent.js'
import { createCountStore } from './rate-limit/index.js'
import {
  appKeys,
  createReloader,
  logWarnings,
  readFrom,
  recordReads,
  watchConfigFiles,
  type FilesRead,
} from './reload.js'
import { createListener } from './tls.js'
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
  if (cluster.isWorker) return startWorker(env)
  // The watchers start before the first read, and the reloader's baseline is that very read: a
  // change made at any moment after it is seen, and one made before it is in it.
  let onFileChange = (): void => undefined
  const { watchers, unwatched } = watchConfigFiles(env, () => onFileChange())
  const first = orExit(() => readFirst(env))
  const config = first.value
  const settings = config.process
  const logger = createLogger(settings.logLevel)
  for (const { folder, code } of unwatched) {
    logger.warn({ folder, code }, 'cannot watch a configuration folder; reload with SIGHUP')
  }
  if (settings.workers > 1) {
    if (config.policy.devDefault === null) {
      // The primary alone reads the files, and hands its workers what it validated.
      runPrimary({
        env,
        first,
        logger,
        startLine: startLine(config, null),
        onFileChange: (reload) => (onFileChange = reload),
      })
      logWarnings(logger, config)
      return
    }
    // Each worker would generate its own demo key and token: one process is what a demo needs.
    logger.warn(
      { workers: settings.workers },
      'WEB_CONCURRENCY is ignored with the development default',
    )
  }
  // Before listening: a second development instance in this folder stops here, before it binds.
  if (config.policy.devDefault !== null) claimDevTokenFile(config.policy.devDefault.token, logger)
  const live = new LiveConfig(config)
  const metrics = createMetrics(live)
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
  await serve({ live, logger, metrics, watchers })
}

/** A worker: its configuration is what the primary read and validated (cluster/policy.ts). */
async function startWorker(env: Env): Promise<void> {
  const handoff = await policyFromPrimary().catch((error: unknown) => {
    process.stderr.write(`usersig-service: ${(error as Error).message}\n`)
    process.exit(1)
  })
  const config = orExit(() => loadConfig(env, readFrom(handoff.files)))
  const logger = createLogger(config.process.logLevel)
  const live = new LiveConfig(config, handoff.generation)
  const metrics = createMetrics(live)
  onPolicy(({ files, generation }) => {
    try {
      live.swap(loadPolicy(env, config.process.jwt, readFrom(files)), generation)
      logger.info({ generation, apps: appKeys(live.current) }, 'configuration reloaded')
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      // The primary validated these very files: only a bug gets here; the old policy stays.
      logger.error({ generation, problems: error.problems }, "the primary's configuration refused")
    }
  })
  process.on('SIGHUP', requestReload)
  await serve({ live, logger, metrics, watchers: [] })
}

/**
 * The start's read of the configuration: what it loaded, every file it read (a cluster primary
 * hands them to its workers), and the digest of the policy's files alone (what a reload compares:
 * the process settings' files, such as the TLS pair or the Redis URL, are not the policy's).
 */
function readFirst(env: Env): { value: Config; digest: string; files: FilesRead } {
  const settingsFiles = recordReads(readConfigFile)
  const policyFiles = recordReads(readConfigFile)
  const value = loadConfig(env, settingsFiles.read, { readPolicyFile: policyFiles.read })
  return {
    value,
    digest: policyFiles.digest(),
    files: { ...settingsFiles.files(), ...policyFiles.files() },
  }
}

/** Loads, or prints the configuration's problems and exits 1. */
function orExit<T>(load: () => T): T {
  try {
    return load()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`usersig-service: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

/** The listener(s) of one process (alone, or a worker): the app, its counts, shutdown. */
async function serve(deps: {
  live: LiveConfig
  logger: Logger
  metrics: Metrics
  watchers: readonly FSWatcher[]
}): Promise<void> {
  const { live, logger, metrics } = deps
  const config = live.current
  const settings = config.process
  const worker = cluster.isWorker
  const lifecycle = { shuttingDown: false }
  const counts = await createCountStore(settings, {
    logger,
    worker,
    onChange: metrics.rateLimitChanged,
  })
  // Under node:cluster, /metrics answers with the whole cluster's, from the primary: one source
  // for both listeners (its requests and replies are matched by id).
  const metricsText = worker
    ? clusterMetricsSource(metrics.registry)
    : sharedCollection(() => metrics.registry.metrics())
  // The OpenTelemetry SDK loads here only when an OTLP endpoint is set (src/tracing.ts).
  const tracer = await openTracer(settings.tracing, { logger, version: VERSION })
  const appDeps: AppDeps = {
    config,
    live,
    metrics,
    logger,
    lifecycle,
    counts,
    metricsText,
    tracer,
  }
  const app = createApp(appDeps)
  // HTTP, or HTTPS with USERSIG_TLS_*_FILE, whose pair reloads on change and SIGHUP (src/tls.ts).
  const { server, reloadTls } = createListener(
    { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS },
    app,
    { tls: settings.tls, logger, metrics },
  )
  process.on('SIGHUP', () => reloadTls('SIGHUP'))
  if (worker) onTlsReload(() => reloadTls('SIGHUP to the primary'))
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
  server.listen(listenOptions(settings.port, settings.host), () => {
    server.off('error', cannotListen)
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : settings.port
    logger.info({ ...startLine(live.current, live.generation), port }, 'listening')
    if (worker) reportListening()
    // Under node:cluster the primary has logged them once for every worker.
    else logWarnings(logger, live.current)
    if (config.policy.devDefault !== null)
      printDevBanner(config.policy.devDefault, settings.host, port)
  })

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    // Readiness turns 503 first, so the load balancer stops sending; in-flight requests finish.
    lifecycle.shuttingDown = true
    for (const watcher of deps.watchers) watcher.close()
    logger.info({ signal, delayMs: settings.shutdownDelayMs }, 'shutting down')
    setTimeout(() => {
      let closed = false
      metricsServer?.close()
      metricsServer?.closeAllConnections()
      server.close(() => {
        closed = true
        // The spans of the last requests go out before the process does, within the timeout.
        void Promise.all([tracer.shutdown(), counts.close()]).then(() => {
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

/** A worker listens on a socket of its own where the kernel can spread connections (REUSE_PORT). */
function listenOptions(port: number, host: string): ListenOptions {
  return { port, host, ...(cluster.isWorker && REUSE_PORT ? { reusePort: true } : {}) }
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
  server.listen(listenOptions(port, settings.host), () =>
    deps.logger.info({ port }, 'metrics listening'),
  )
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

/**
 * Writes the development token to a new owner-only file, removed when the process exits. The file
 * is created, never replaced: one there already is another instance's (a second one in this
 * folder would take the README's `cat .usersig-dev-token` to a token its own port does not
 * know, and delete the first one's file when it stops), so this one refuses to start.
 */
function claimDevTokenFile(token: string, logger: Logger): void {
  try {
    writeFileSync(DEV_TOKEN_FILE, `${token}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') {
      process.stderr.write(
        `usersig-service: ./${DEV_TOKEN_FILE} exists: another development instance serves from this folder; stop it, or start this one from another folder (if none runs, one was killed before it could remove the file: delete it)\n`,
      )
      process.exit(1)
    }
    logger.warn({ err: error, file: DEV_TOKEN_FILE }, 'cannot write the development token file')
    return
  }
  // Only this process's token, should the file have been replaced by hand meanwhile.
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

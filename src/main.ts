// Process entry: config -> logger -> app -> listen; timeouts; SIGTERM drains then exits 0.
import cluster from 'node:cluster'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createApp } from './app.js'
import { clusterMetricsSource, runPrimary } from './cluster.js'
import { ConfigError, loadConfig } from './config.js'
import { LiveConfig } from './live-config.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics } from './metrics.js'
import { stopWithNpm } from './npm-parent.js'
import { createReloader, watchConfigFiles } from './reload.js'

/** Server timeouts (ms): slow clients that trickle headers or a body are cut off. */
export const SERVER_TIMEOUTS = {
  headersTimeout: 10_000,
  requestTimeout: 15_000,
  keepAliveTimeout: 5_000,
}
/** How often Node checks those deadlines; its default, 30 s, would let a slow client stay ~40 s. */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000

function start(): void {
  let config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`usersig-service: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
  const logger = createLogger(config.logLevel)
  if (cluster.isPrimary && config.workers > 1) {
    if (config.devDefault === null) return runPrimary(config.workers, config, logger)
    // Each worker would generate its own demo key and token: one process is what a demo needs.
    logger.warn(
      { workers: config.workers },
      'WEB_CONCURRENCY is ignored with the development default',
    )
  }
  const lifecycle = { shuttingDown: false }
  const live = new LiveConfig(config)
  const metrics = createMetrics(live)
  const app = createApp({
    config,
    live,
    metrics,
    logger,
    lifecycle,
    ...(cluster.isWorker ? { metricsText: clusterMetricsSource(metrics.registry) } : {}),
  })

  // Apps, keys and callers reload without a restart (listen address, log level and timeouts do not).
  const reloader = createReloader({
    live,
    load: (read) => loadConfig(process.env, read),
    readFile: (path) => readFileSync(path, 'utf8'),
    logger,
    metrics,
  })
  process.on('SIGHUP', () => reloader.reload('SIGHUP'))
  const watchers = watchConfigFiles(process.env, () => reloader.reload('file changed'), logger)
  const server = createServer(
    { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS },
    app,
  )
  // `Expect: 100-continue`: the front door sends 100 only when it is about to read the body.
  server.on('checkContinue', app.checkContinue)
  Object.assign(server, SERVER_TIMEOUTS)

  server.listen(config.port, config.host, () => {
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : config.port
    logger.info(
      { host: config.host, port, apps: config.apps.size, production: config.production },
      'listening',
    )
    if (config.devDefault !== null) {
      writeDevToken(config.devDefault.token, logger)
      printDevBanner(config.devDefault, config.host, port)
    }
  })

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    // Readiness turns 503 first, so the load balancer stops sending; in-flight requests finish.
    lifecycle.shuttingDown = true
    for (const watcher of watchers) watcher.close()
    logger.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down')
    setTimeout(() => {
      server.close(() => {
        logger.info('stopped')
        process.exit(0)
      })
      server.closeIdleConnections()
      setTimeout(() => {
        logger.error(
          { timeoutMs: config.shutdownTimeoutMs },
          'shutdown timed out; closing remaining connections',
        )
        server.closeAllConnections()
        process.exit(1)
      }, config.shutdownTimeoutMs).unref()
    }, config.shutdownDelayMs)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  stopWithNpm(stop)
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

start()

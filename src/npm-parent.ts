// Under `npm start`, npm forwards SIGTERM and SIGINT to the service but dies of SIGHUP without
// forwarding it (npm 11): the service must not run on, orphaned and unmanaged, after npm has gone.
// Polled, because Node has no parent-death signal.

/** Calls `stop` once the npm process that started this one has exited (a no-op outside npm). */
export function stopWithNpm(stop: (reason: string) => void): void {
  if (process.env.npm_lifecycle_event === undefined) return
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    stop('npm exited')
  }, 1_000)
  timer.unref()
}

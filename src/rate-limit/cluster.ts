// Counts for every node:cluster worker of one machine, in their primary, with no extra server: the
// primary counts in rate-limiter-flexible's memory store, and workers send it their additions over
// the cluster's IPC channel.
//
// The transport is ours rather than the library's cluster store (RateLimiterCluster), for two
// measured reasons: its workers wait for an 'init' round trip per limit, polled every 30 ms, so the
// first burst after a start missed every deadline and was counted per worker; and it sends one
// message each way per addition. Here a worker sends, once per turn of its event loop, every
// addition its requests made in that turn, and the primary answers them in one message: under
// load the IPC cost is shared by many requests.
import cluster, { type Worker } from 'node:cluster'
import { memoryLimiter } from './memory.js'
import { limitersByLimit, type Count, type CountStore } from './store.js'

/** worker -> primary: additions [id, key, limit, points] (negative: given back); primary -> worker: the counts. */
const ADD = 'usersig:counts-add'
const COUNTED = 'usersig:counts-counted'

/**
 * An addition the primary has not answered this long is dropped: a backstop (requests stop
 * waiting long before: failover.ts).
 */
export const CLUSTER_TIMEOUT_MS = 5_000

type Addition = [id: number, key: string, limit: number, points: number]
/** [id, consumed, msBeforeNext], or [id, null, why] when the primary could not count it. */
type Result = [id: number, consumed: number, msBeforeNext: number] | [id: number, null, string]

interface Message {
  readonly type?: unknown
  readonly additions?: unknown
  readonly results?: unknown
}

/** In a worker: counts in the primary. */
export function clusterStore(): CountStore {
  const pending = new Map<
    number,
    { resolve(count: Count): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >()
  let next = 0
  let batch: Addition[] = []

  const flush = () => {
    const additions = batch
    batch = []
    const fail = (why: string) => {
      for (const [id] of additions) settle([id, null, why])
    }
    if (process.send === undefined || !process.connected) return fail('no cluster primary')
    process.send({ type: ADD, additions }, (error: Error | null) => {
      if (error !== null) fail(`cluster primary unreachable: ${error.message}`)
    })
  }
  const settle = (result: Result) => {
    const waiting = pending.get(result[0])
    if (waiting === undefined) return // dropped after the backstop
    pending.delete(result[0])
    clearTimeout(waiting.timer)
    if (result[1] === null) waiting.reject(new Error(result[2]))
    else waiting.resolve({ consumed: result[1], msBeforeNext: result[2] })
  }
  process.on('message', (message: Message) => {
    if (message?.type !== COUNTED || !Array.isArray(message.results)) return
    for (const result of message.results as Result[]) settle(result)
  })

  const add = (key: string, limit: number, points: number) =>
    new Promise<Count>((resolve, reject) => {
      const id = next++
      const timer = setTimeout(
        () => settle([id, null, `no answer from the cluster primary in ${CLUSTER_TIMEOUT_MS} ms`]),
        CLUSTER_TIMEOUT_MS,
      )
      timer.unref()
      pending.set(id, { resolve, reject, timer })
      // After this turn's I/O callbacks: every request read in this turn goes in one message.
      if (batch.length === 0) setImmediate(flush)
      batch.push([id, key, limit, points])
    })
  return {
    async take(key, limit, points) {
      const count = await add(key, limit, points)
      return {
        ...count,
        giveBack: () =>
          add(key, limit, -points).then(
            () => undefined,
            () => undefined,
          ),
      }
    },
    state: () => ({ store: 'cluster', shared: true }),
    close: async () => undefined,
  }
}

/** In the primary: counts what the workers send, in memory, and answers each batch at once. */
export function serveClusterCounts(): void {
  const limiterFor = limitersByLimit(memoryLimiter)
  cluster.on('message', (worker: Worker, message: Message) => {
    if (message?.type !== ADD || !Array.isArray(message.additions)) return
    const additions = message.additions as Addition[]
    const counted = additions.map(([id, key, limit, points]): Promise<Result> => {
      const limiter = limiterFor(limit)
      return (points < 0 ? limiter.reward(key, -points) : limiter.penalty(key, points)).then(
        (res): Result => [id, res.consumedPoints, res.msBeforeNext],
        (error: unknown): Result => [id, null, String(error)],
      )
    })
    void Promise.all(counted).then((results) => {
      if (!worker.isConnected()) return
      // A worker that died meanwhile: node:cluster's 'error' on it is handled by the supervisor.
      worker.send({ type: COUNTED, results }, () => undefined)
    })
  })
}

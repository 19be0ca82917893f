// /metrics under a flood of scrapes: concurrent scrapes share one collection, and a collection
// serves the scrapes that follow it for METRICS_CACHE_MS; a failed one is not kept.
import { METRICS_CACHE_MS, sharedCollection } from '../../src/metrics.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('concurrent scrapes share one collection; the next one within the cache gets it too', async () => {
  let collections = 0
  let release: (text: string) => void = () => undefined
  const collect = sharedCollection(() => {
    collections++
    return new Promise<string>((resolve) => (release = resolve))
  })
  const scrapes = Array.from({ length: 50 }, () => collect())
  release('metrics 1')
  expect(await Promise.all(scrapes)).toEqual(Array(50).fill('metrics 1'))
  expect(await collect()).toBe('metrics 1')
  expect(collections).toBe(1)

  await sleep(METRICS_CACHE_MS + 20)
  const later = collect()
  release('metrics 2')
  expect(await later).toBe('metrics 2')
  expect(collections).toBe(2)
})

test('a failed collection is not kept: the next scrape collects again', async () => {
  let collections = 0
  const collect = sharedCollection(async () => {
    collections++
    if (collections === 1) throw new Error('a worker went away')
    return 'metrics'
  })
  await expect(collect()).rejects.toThrow('a worker went away')
  expect(await collect()).toBe('metrics')
  expect(collections).toBe(2)
})

// Shared pieces of the reliability tests: process memory, stack-trace detection, and a small
// concurrency pool. (How many times each runs: test/helpers/stress.ts.)
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Resident set size of a process in bytes, from /proc/<pid>/status (Linux). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(match[1]) * 1024
}

export const MiB = 1024 * 1024

const REPO = fileURLToPath(new URL('../../', import.meta.url))

/** What a stack trace or a source location looks like in a response body. */
const LEAKS: readonly (readonly [RegExp, string])[] = [
  [/^\s{4}at .*$/m, 'a stack frame line'],
  // A frame anywhere, also as HTML (Express's development error page writes "&nbsp; &nbsp;at").
  [/\bat \S[^\n(]* \((?:file:\/\/|node:|\/)[^)\n]*\)/, 'a stack frame'],
  [/(?:&nbsp;|\s)at (?:file:\/\/|node:|\/)\S+:\d+/, 'a stack frame'],
  [/\/src\//, 'a /src/ path'],
  [/node_modules/, 'a node_modules path'],
  [/\.[cm]?[jt]s:\d+/, 'a file:line position'],
  [/\.ts:/, 'a .ts: position'],
]

/**
 * What in a response body looks like leaked internals (a stack frame, a source or dependency
 * path, a file:line position, this checkout's path), or null. Text that the request itself
 * carried is an echo, not a leak: pass the request as `echoed` to ignore it.
 */
export function internalsLeak(body: string, echoed = ''): { what: string; text: string } | null {
  for (const [pattern, what] of [
    ...LEAKS,
    [new RegExp(escapeRegExp(REPO)), 'the checkout path'] as const,
  ]) {
    const text = pattern.exec(body)?.[0]
    if (text !== undefined && !echoed.includes(text)) return { what, text }
  }
  return null
}
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Runs `work` over `items` with at most `concurrency` in flight; results keep the input order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index] as T, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return results
}

/** Counts by key, sorted by key, for summaries. */
export function tally(keys: Iterable<string | number>): Record<string, number> {
  const counts = new Map<string, number>()
  for (const key of keys) counts.set(String(key), (counts.get(String(key)) ?? 0) + 1)
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)))
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// The fetch every call of the client goes through: the caller's trace context, a timeout over
// the whole exchange (headers and body), a cap on the answer's size, and the opt-in retries
// (jittered exponential back-off that honours Retry-After, within a cap on attempts and time).
// openapi-fetch builds the request and parses the answer; it never sees a half-read body.
import { context, propagation } from '@opentelemetry/api'
import {
  UserSigApiError,
  UserSigError,
  UserSigNetworkError,
  UserSigTimeoutError,
} from './errors.js'
import type { ClientSettings, RetrySettings } from './options.js'

/** An answer larger than this is refused (a batch of 1000 tickets is well under 1 MiB). */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024

export function createTransport(settings: ClientSettings): (request: Request) => Promise<Response> {
  return async function usersigFetch(request) {
    const started = performance.now()
    const body = request.body === null ? null : await request.arrayBuffer()
    const headers = new Headers(request.headers)
    // The caller's active span as W3C traceparent/tracestate; a no-op without an OpenTelemetry SDK.
    const carrier: Record<string, string> = {}
    propagation.inject(context.active(), carrier)
    for (const [name, value] of Object.entries(carrier)) headers.set(name, value)
    const init = { method: request.method, headers, body, redirect: request.redirect }
    const attempt = (timeoutMs: number) =>
      exchange(settings.fetch, request.url, init, timeoutMs, request.signal)

    const retry = settings.retry
    if (retry === null) return attempt(settings.timeoutMs)
    const elapsed = () => performance.now() - started
    for (let n = 1; ; n++) {
      // The last attempt gets what is left of the whole call's time, if that is shorter.
      const timeoutMs = Math.max(1, Math.min(settings.timeoutMs, retry.totalMs - elapsed()))
      let failure: UserSigError
      let answer: Response | undefined
      try {
        answer = await attempt(timeoutMs)
        if (!retry.statuses.has(answer.status)) return answer
        failure = new UserSigApiError(answer, await problemOf(answer))
      } catch (error) {
        if (!(error instanceof UserSigTimeoutError || error instanceof UserSigNetworkError))
          throw error
        failure = error
      }
      const delayMs = delayBefore(n, retry, failure)
      // Out of attempts, or the wait would end past the time budget: the last answer stands.
      if (n >= retry.attempts || elapsed() + delayMs >= retry.totalMs) {
        if (answer !== undefined) return answer
        throw failure
      }
      retry.onRetry?.({ attempt: n, delayMs, error: failure })
      await sleep(delayMs, request.signal)
    }
  }
}

/**
 * The wait before retry `n` (1 for the first): "full jitter" exponential back-off, a random wait
 * up to baseDelayMs * 2^(n - 1) capped at maxDelayMs, so that callers refused together do not
 * come back together; never shorter than the service's Retry-After.
 */
function delayBefore(n: number, retry: RetrySettings, failure: UserSigError): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (n - 1))
  const backOff = Math.round(Math.random() * ceiling)
  const asked = failure instanceof UserSigApiError ? (failure.retryAfterMs ?? 0) : 0
  return Math.max(backOff, asked)
}

/**
 * One request and its whole answer within `timeoutMs`. Resolves to the answer, read to its end;
 * rejects with UserSigTimeoutError, UserSigNetworkError, or the caller's abort reason.
 */
async function exchange(
  fetch: ClientSettings['fetch'],
  url: string,
  init: RequestInit,
  timeoutMs: number,
  callerSignal: AbortSignal,
): Promise<Response> {
  const timeout = new AbortController()
  const signal = AbortSignal.any([callerSignal, timeout.signal])
  // Settles on the first abort, the caller's or the timeout's, even if a `fetch` given in the
  // options does not honour the signal.
  let timer: ReturnType<typeof setTimeout> | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    const stop = () => reject(signal.reason as Error)
    if (signal.aborted) stop()
    else signal.addEventListener('abort', stop, { once: true })
    timer = setTimeout(() => timeout.abort(), timeoutMs)
  })
  const whole = async () => {
    const response = await fetch(new Request(url, { ...init, signal }))
    const body = await readCapped(response)
    return new Response(body.size === 0 ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
  try {
    return await Promise.race([whole(), aborted])
  } catch (error) {
    if (callerSignal.aborted) throw callerSignal.reason
    if (timeout.signal.aborted) throw new UserSigTimeoutError(timeoutMs)
    if (error instanceof UserSigError) throw error
    throw new UserSigNetworkError('no answer from the service', codeOf(error), error)
  } finally {
    clearTimeout(timer)
  }
}

/** The answer's body, read to its end, up to MAX_ANSWER_BYTES. */
async function readCapped(response: Response): Promise<Blob> {
  if (response.body === null) return new Blob()
  const tooLarge = () =>
    new UserSigNetworkError(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`, undefined)
  if (Number(response.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES) {
    await response.body.cancel()
    throw tooLarge()
  }
  // fetch's body stream yields bytes on plain ArrayBuffers (never shared ones).
  const chunks: Uint8Array<ArrayBuffer>[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.byteLength
    // Leaving the loop cancels the stream.
    if (size > MAX_ANSWER_BYTES) throw tooLarge()
    chunks.push(chunk as Uint8Array<ArrayBuffer>)
  }
  return new Blob(chunks)
}

/** The problem document of an answer about to be retried (for onRetry and the last error). */
async function problemOf(response: Response): Promise<unknown> {
  try {
    return await response.clone().json()
  } catch {
    return undefined
  }
}

/** undici puts the system's code (ECONNREFUSED, ...) or its own (UND_ERR_SOCKET) on the cause. */
function codeOf(error: unknown): string | undefined {
  const { code, cause } = error as { code?: unknown; cause?: { code?: unknown } }
  if (typeof cause?.code === 'string') return cause.code
  return typeof code === 'string' ? code : undefined
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort)
      resolve()
    }, ms)
    const abort = () => {
      clearTimeout(timer)
      reject(signal.reason as Error)
    }
    signal.addEventListener('abort', abort, { once: true })
  })
}

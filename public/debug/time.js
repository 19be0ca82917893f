// Times as the page shows them: absolute in UTC, relative in d/h/m/s. All inputs are unix seconds.

const UNITS = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
]

/** The unix time now, in whole seconds (tickets count whole seconds too). */
export const nowSeconds = () => Math.floor(Date.now() / 1000)

/**
 * A countdown's duration: every unit from the largest non-zero one down to seconds, so it ticks
 * visibly ("59d 23h 59m 58s", "3m 12s", "0s").
 */
export function countdown(seconds) {
  const parts = []
  let left = seconds
  for (const [unit, size] of UNITS) {
    const count = Math.floor(left / size)
    left -= count * size
    if (count > 0 || parts.length > 0 || size === 1) parts.push(`${count}${unit}`)
  }
  return parts.join(' ')
}

/** A lifetime: only the non-zero units ("180d", "1d 12h", "5m"), or "0s". */
export function lifetime(seconds) {
  const parts = []
  let left = seconds
  for (const [unit, size] of UNITS) {
    const count = Math.floor(left / size)
    left -= count * size
    if (count > 0) parts.push(`${count}${unit}`)
  }
  return parts.length === 0 ? '0s' : parts.join(' ')
}

/**
 * Where an expiry stands: a ticket is valid while now <= expiresAt, to the second, as Tencent
 * and the server count it.
 */
export function expiryText(expiresAt, now) {
  const left = expiresAt - now
  return left >= 0
    ? { text: `expires in ${countdown(left)}`, expired: false }
    : { text: `expired ${countdown(-left)} ago`, expired: true }
}

/** Where an issue time stands; a future one means the issuer's clock runs ahead. */
export function issuedText(issuedAt, now) {
  const ago = now - issuedAt
  return ago >= 0
    ? { text: `${countdown(ago)} ago`, future: false }
    : { text: `${countdown(-ago)} in the future: is the issuer's clock ahead?`, future: true }
}

/** "2026-11-25 12:41:12 UTC"; a time past what a Date holds is shown as the raw number. */
export function utc(seconds) {
  const date = new Date(seconds * 1000)
  if (Number.isNaN(date.getTime())) return `${seconds} (unix seconds)`
  return date.toISOString().replace('T', ' ').replace('.000Z', ' UTC')
}

/** The machine-readable form for a <time datetime>, or null where a Date cannot hold it. */
export function isoOrNull(seconds) {
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? null : date.toISOString().replace('.000Z', 'Z')
}

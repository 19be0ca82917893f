// Tickets as each official TLSSigAPIv2 library formats them, built independently of src/ with
// real HMAC and real zlib, from the per-language facts in ../shared/usersig-format.md.
import { createHmac } from 'node:crypto'
import { deflateSync } from 'node:zlib'

export interface TicketInput {
  readonly key: string
  readonly sdkAppId: number
  readonly userId: string
  readonly time: number
  readonly expire: number
  /** Standard base64 userbuf, for PrivateMapKey-style tickets. */
  readonly userBuf?: string
}

/** The HMAC each library computes (identical everywhere): standard base64 of 32 bytes. */
export function officialSig(input: TicketInput): string {
  let text =
    `TLS.identifier:${input.userId}\nTLS.sdkappid:${input.sdkAppId}\n` +
    `TLS.time:${input.time}\nTLS.expire:${input.expire}\n`
  if (input.userBuf !== undefined) text += `TLS.userbuf:${input.userBuf}\n`
  return createHmac('sha256', input.key).update(text).digest('base64')
}

/** Standard base64, then `+` -> `*`, `/` -> `-`, `=` -> `_`. */
export function tencentBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_')
}

type Entry = readonly [string, string | number]

// Python json.dumps: ", " and ": " separators, non-ASCII escaped (ensure_ascii).
function pythonJson(entries: readonly Entry[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${asciiJson(v)}`).join(', ')}}`
}
// PHP json_encode: "/" escaped as "\/", non-ASCII escaped.
function phpJson(entries: readonly Entry[]): string {
  return compact(entries, (v) => asciiJson(v).replace(/\//g, '\\/'))
}
// Go encoding/json: HTML-escapes < > &, then json.Encoder appends a newline.
function goJson(entries: readonly Entry[]): string {
  const html = (v: string | number) =>
    JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
  return compact(entries, html) + '\n'
}
function compact(
  entries: readonly Entry[],
  value: (v: string | number) => string = JSON.stringify,
): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${value(v)}`).join(',')}}`
}
function asciiJson(v: string | number): string {
  return JSON.stringify(v).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

function fields(input: TicketInput) {
  const sig = officialSig(input)
  const ub: Entry[] = input.userBuf === undefined ? [] : [['TLS.userbuf', input.userBuf]]
  return {
    ver: ['TLS.ver', '2.0'] as Entry,
    identifier: ['TLS.identifier', input.userId] as Entry,
    sdkappid: ['TLS.sdkappid', input.sdkAppId] as Entry,
    time: ['TLS.time', input.time] as Entry,
    expire: ['TLS.expire', input.expire] as Entry,
    sig: ['TLS.sig', sig] as Entry,
    ub,
  }
}

/** Every official variant: the JSON text and the zlib level each library uses. */
export const VARIANTS = {
  node: (i: TicketInput) => {
    const f = fields(i)
    return {
      json: compact([f.ver, f.identifier, f.sdkappid, f.time, f.expire, ...f.ub, f.sig]),
      level: 6,
    }
  },
  python: (i: TicketInput) => {
    const f = fields(i)
    return {
      json: pythonJson([f.ver, f.identifier, f.sdkappid, f.expire, f.time, ...f.ub, f.sig]),
      level: 6,
    }
  },
  php: (i: TicketInput) => {
    const f = fields(i)
    return {
      json: phpJson([f.ver, f.identifier, f.sdkappid, f.expire, f.time, ...f.ub, f.sig]),
      level: 6,
    }
  },
  java: (i: TicketInput) => {
    const f = fields(i)
    return {
      json: compact([f.expire, f.ver, f.sdkappid, f.identifier, f.sig, ...f.ub, f.time]),
      level: 6,
    }
  },
  csharp: (i: TicketInput) => {
    const f = fields(i)
    return {
      json: compact([f.ver, f.identifier, f.sdkappid, f.expire, f.time, f.sig, ...f.ub]),
      level: 6,
    }
  },
  cpp: (i: TicketInput) => {
    const f = fields(i)
    return {
      json: compact([f.ver, f.sdkappid, f.identifier, f.time, f.expire, ...f.ub, f.sig]),
      level: 1,
    }
  },
  go: (i: TicketInput) => {
    const f = fields(i)
    // omitempty: zero values are left out.
    const entries = [f.ver, f.identifier, f.sdkappid, f.expire, f.time, ...f.ub, f.sig].filter(
      ([, v]) => v !== 0 && v !== '',
    )
    return { json: goJson(entries), level: 0 }
  },
  goBefore2024: (i: TicketInput) => {
    const f = fields(i)
    const entries = [f.ver, f.identifier, f.sdkappid, f.time, f.expire, ...f.ub, f.sig].sort(
      ([a], [b]) => (a < b ? -1 : 1),
    )
    return { json: compact(entries), level: 6 }
  },
} as const

export type VariantName = keyof typeof VARIANTS

/** A ticket as the named library would emit it (optionally with its `_` padding removed). */
export function variantTicket(
  name: VariantName,
  input: TicketInput,
  { unpadded = false } = {},
): string {
  const { json, level } = VARIANTS[name](input)
  const ticket = tencentBase64(deflateSync(Buffer.from(json, 'utf8'), { level }))
  return unpadded ? ticket.replace(/_+$/, '') : ticket
}

/** Wraps arbitrary bytes as a ticket (for malformed-input tests). */
export function ticketOf(bytes: Buffer | string, level = 6): string {
  return tencentBase64(
    deflateSync(typeof bytes === 'string' ? Buffer.from(bytes) : bytes, { level }),
  )
}

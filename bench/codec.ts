// Codec micro-benchmark: our sign/verify against the official library and a straightforward verify.
// Run: npm run bench:codec. One process, cases interleaved round by round, median of the rounds.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createRequire } from 'node:module'
import { inflateSync } from 'node:zlib'
import { decodeTencentBase64 } from '../src/usersig/base64.js'
import {
  createUserSigKey,
  signUserSig,
  userSigSigner,
  verifyUserSig,
} from '../src/usersig/index.js'
import { zlibInflate } from '../src/usersig/zlib.js'

interface OfficialApi {
  genUserSig(userId: string, expire: number): string
}
const { Api } = createRequire(import.meta.url)('tls-sig-api-v2') as {
  Api: new (sdkAppId: number, key: string) => OfficialApi
}

// Tencent's public sample key (from its documentation), not a secret.
const SECRET = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e'
const SDKAPPID = 1400000000
const EXPIRE = 15552000
const POOL = 512 // distinct user ids, cycled, so no call sees the same input twice in a row
const WARMUP_ROUNDS = 3
const ROUNDS = 21
const ROUND_MS = 60 // per case and round: 8 cases x 21 rounds x 60 ms = 10 s measured

const key = createUserSigKey('bench', SECRET)
const official = new Api(SDKAPPID, SECRET)
const userIds = Array.from({ length: POOL }, (_, i) => `user_${(i * 7919).toString(36)}_${i}`)
const unixNow = () => Math.floor(Date.now() / 1000)

/**
 * What a developer would typically write from the format description: reverse Tencent's base64
 * mapping, inflate, parse, check identifier, SDKAppID and expiry, recompute the HMAC with the key
 * string, compare in constant time. (No length cap, no inflate cap, no field validation.)
 */
function straightforwardVerify(
  ticket: string,
  secret: string,
  sdkAppId: number,
  userId: string,
  now: number,
): boolean {
  try {
    const b64 = ticket.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=')
    const doc = JSON.parse(inflateSync(Buffer.from(b64, 'base64')).toString('utf8'))
    if (doc['TLS.identifier'] !== userId || doc['TLS.sdkappid'] !== sdkAppId) return false
    if (now > doc['TLS.time'] + doc['TLS.expire']) return false
    let text =
      `TLS.identifier:${doc['TLS.identifier']}\nTLS.sdkappid:${doc['TLS.sdkappid']}\n` +
      `TLS.time:${doc['TLS.time']}\nTLS.expire:${doc['TLS.expire']}\n`
    if (doc['TLS.userbuf'] !== undefined) text += `TLS.userbuf:${doc['TLS.userbuf']}\n`
    const expected = createHmac('sha256', secret).update(text).digest()
    const actual = Buffer.from(doc['TLS.sig'], 'base64')
    return actual.length === expected.length && timingSafeEqual(actual, expected)
  } catch {
    return false
  }
}

/**
 * The floor: what any verify of a stored-block ticket costs here, with this codec's own decoders
 * and KeyObject HMAC but no checks at all (no caps, no field validation, no identifier, SDKAppID
 * or expiry checks). No real verifier can be faster than this; its ratio bounds `verifyRatio`.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true })
function floorVerify(ticket: string): boolean {
  const doc = JSON.parse(utf8.decode(zlibInflate(decodeTencentBase64(ticket) as Buffer) as Buffer))
  const text =
    `TLS.identifier:${doc['TLS.identifier']}\nTLS.sdkappid:${doc['TLS.sdkappid']}\n` +
    `TLS.time:${doc['TLS.time']}\nTLS.expire:${doc['TLS.expire']}\n`
  const expected = createHmac('sha256', key.secret).update(text).digest()
  return timingSafeEqual(expected, Buffer.from(doc['TLS.sig'], 'base64'))
}

// Tickets to verify, one per user id, issued now by each side.
const issuedAt = unixNow()
const ourTickets = userIds.map((userId) =>
  signUserSig({ sdkAppId: SDKAPPID, userId, expire: EXPIRE, now: issuedAt }, key),
)
const officialTickets = userIds.map((userId) => official.genUserSig(userId, EXPIRE))
const verifyNow = issuedAt + 1

// Both verifiers must accept every ticket of both issuers before their speed means anything.
for (const [name, tickets] of [
  ['ours', ourTickets],
  ['official', officialTickets],
] as const) {
  tickets.forEach((ticket, i) => {
    const userId = userIds[i] as string
    const ours = verifyUserSig(ticket, [key], { sdkAppId: SDKAPPID, userId, now: verifyNow })
    if (!ours.valid) throw new Error(`verifyUserSig rejects ${name} ticket ${i}: ${ours.code}`)
    if (name === 'ours' && !floorVerify(ticket)) throw new Error(`floor rejects ticket ${i}`)
    if (!straightforwardVerify(ticket, SECRET, SDKAPPID, userId, verifyNow)) {
      throw new Error(`straightforward verify rejects ${name} ticket ${i}`)
    }
  })
}

let sink = 0 // consumed results, so no call can be optimised away

/** One benchmark case: runs `n` operations, starting at pool index `i`. */
type Case = { readonly label: string; readonly run: (n: number, i: number) => void }

function verifyCase(label: string, tickets: readonly string[], ours: boolean): Case {
  return {
    label,
    run: ours
      ? (n, i) => {
          for (let k = 0; k < n; k++) {
            const at = (i + k) % POOL
            const options = { sdkAppId: SDKAPPID, userId: userIds[at] as string, now: verifyNow }
            if (verifyUserSig(tickets[at] as string, [key], options).valid) sink++
          }
        }
      : (n, i) => {
          for (let k = 0; k < n; k++) {
            const at = (i + k) % POOL
            const userId = userIds[at] as string
            if (straightforwardVerify(tickets[at] as string, SECRET, SDKAPPID, userId, verifyNow))
              sink++
          }
        },
  }
}

const CASES = {
  signOurs: {
    label: 'sign    ours      signUserSig',
    run: (n, i) => {
      for (let k = 0; k < n; k++) {
        const userId = userIds[(i + k) % POOL] as string
        sink += signUserSig(
          { sdkAppId: SDKAPPID, userId, expire: EXPIRE, now: unixNow() },
          key,
        ).length
      }
    },
  },
  signBatch: {
    label: 'sign    ours      userSigSigner, batches of 100',
    run: (n, i) => {
      for (let done = 0; done < n; done += 100) {
        const sign = userSigSigner({ sdkAppId: SDKAPPID, expire: EXPIRE, now: unixNow() }, key)
        for (let k = done; k < Math.min(done + 100, n); k++) {
          sink += sign(userIds[(i + k) % POOL] as string).length
        }
      }
    },
  },
  signOfficial: {
    label: 'sign    official  tls-sig-api-v2 genUserSig',
    run: (n, i) => {
      for (let k = 0; k < n; k++) {
        sink += official.genUserSig(userIds[(i + k) % POOL] as string, EXPIRE).length
      }
    },
  },
  verifyOursOnOurs: verifyCase(
    'verify  ours      verifyUserSig     | our tickets',
    ourTickets,
    true,
  ),
  verifyPlainOnOurs: verifyCase(
    'verify  straightforward verify    | our tickets',
    ourTickets,
    false,
  ),
  verifyFloorOnOurs: {
    label: 'verify  floor (no checks at all)  | our tickets',
    run: (n, i) => {
      for (let k = 0; k < n; k++) if (floorVerify(ourTickets[(i + k) % POOL] as string)) sink++
    },
  },
  verifyOursOnOfficial: verifyCase(
    'verify  ours      verifyUserSig     | official tickets',
    officialTickets,
    true,
  ),
  verifyPlainOnOfficial: verifyCase(
    'verify  straightforward verify    | official tickets',
    officialTickets,
    false,
  ),
} satisfies Record<string, Case>
type CaseName = keyof typeof CASES
const names = Object.keys(CASES) as CaseName[]

/** Runs `n` operations of a case and returns its rate in operations per second. */
function timed(name: CaseName, n: number, start: number): number {
  const t0 = process.hrtime.bigint()
  CASES[name].run(n, start)
  return n / (Number(process.hrtime.bigint() - t0) / 1e9)
}

// Warm-up (JIT, caches) doubles as calibration: operations per ROUND_MS slice for each case.
const batch = {} as Record<CaseName, number>
for (const name of names) batch[name] = 200
for (let round = 0; round < WARMUP_ROUNDS; round++) {
  for (const name of names) {
    const rate = timed(name, batch[name], round * 131)
    batch[name] = Math.max(100, Math.round((rate * ROUND_MS) / 1000))
  }
}

// Measured rounds: every case once per round; the order rotates so no case always runs first.
const rates = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
  CaseName,
  number[]
>
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(round + j) % names.length] as CaseName
    rates[name].push(timed(name, batch[name], round * 97 + j))
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const ops = Object.fromEntries(
  names.map((name) => [name, Math.round(median(rates[name]))]),
) as Record<CaseName, number>
/** Ratio of the medians, and the spread of the same ratio round by round (paired rounds). */
function ratio(a: CaseName, b: CaseName): { value: number; min: number; max: number } {
  const perRound = rates[a].map((rate, i) => rate / (rates[b][i] as number))
  return {
    value: ops[a] / ops[b],
    min: Math.min(...perRound),
    max: Math.max(...perRound),
  }
}

const avgChars = (tickets: readonly string[]) =>
  Math.round((tickets.reduce((sum, t) => sum + t.length, 0) / tickets.length) * 10) / 10
const ticketChars = {
  ours: avgChars(ourTickets),
  official: avgChars(officialTickets),
  userIdChars: avgChars(userIds),
}

const fmt = (n: number) => n.toLocaleString('en-US').padStart(10)
const fmtRatio = (r: { value: number; min: number; max: number }) =>
  `${r.value.toFixed(2)}x (per round ${r.min.toFixed(2)}-${r.max.toFixed(2)})`
const sign = ratio('signOurs', 'signOfficial')
const signBatch = ratio('signBatch', 'signOfficial')
const verify = ratio('verifyOursOnOurs', 'verifyPlainOnOurs')
const verifyFloor = ratio('verifyFloorOnOurs', 'verifyPlainOnOurs')
const verifyOfficial = ratio('verifyOursOnOfficial', 'verifyPlainOnOfficial')

console.log(
  `usersig codec bench: node ${process.version}, ${ROUNDS} interleaved rounds (after ${WARMUP_ROUNDS} warm-up), ` +
    `~${ROUND_MS} ms per case per round, median ops/s of the rounds; ${POOL} distinct user ids`,
)
for (const name of names) console.log(`  ${CASES[name].label.padEnd(52)} ${fmt(ops[name])} ops/s`)
console.log(`  sign ratio (ours / official genUserSig):                         ${fmtRatio(sign)}`)
console.log(
  `  sign ratio, batches (userSigSigner / official genUserSig):       ${fmtRatio(signBatch)}`,
)
console.log(
  `  verify ratio on OUR tickets (stored blocks, eA...):              ${fmtRatio(verify)}`,
)
console.log(
  `  verify FLOOR ratio on OUR tickets (no checks; bounds the above):  ${fmtRatio(verifyFloor)}`,
)
console.log(
  `  verify ratio on OFFICIAL tickets (zlib level 6, eJ...):          ${fmtRatio(verifyOfficial)}`,
)
console.log(
  `  ticket size (${ticketChars.userIdChars}-char user ids): ours ${ticketChars.ours} chars (stored block), ` +
    `official ${ticketChars.official} chars (zlib level 6)`,
)
if (sink === 0) throw new Error('nothing was computed')
console.log(
  JSON.stringify({
    signRatio: round2(sign.value),
    signBatchRatio: round2(signBatch.value),
    verifyRatio: round2(verify.value),
    verifyFloorRatio: round2(verifyFloor.value),
    verifyRatioOfficialTickets: round2(verifyOfficial.value),
    opsPerSec: ops,
    ticketChars,
  }),
)

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

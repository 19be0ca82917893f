// The usersig CLI: every command and usage error through runCli with fake io, then the real process.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { EXIT, runCli } from '../../src/cli/run.js'
import { APP_DEFAULTS, ConfigError, loadConfig } from '../../src/config/index.js'
import { HINTS } from '../../src/usersig/index.js'
import { APP_A, buildApp, KEYS, NOW, post, SECRETS, TOKENS } from '../helpers/http.js'
import { official } from '../helpers/official.js'
import { inflateTicket, VECTORS } from '../helpers/vectors.js'
import { ALL_PRIVILEGES } from '../helpers/privileges.js'
import { builtService } from '../helpers/build.js'

const KEY = VECTORS.key
const APP = String(VECTORS.sdkAppId)
const USER = VECTORS.userId
const T0 = VECTORS.time

interface Run {
  code: number
  stdout: string
  stderr: string
}

interface FakeIo {
  env?: Record<string, string | undefined>
  stdin?: string
  files?: Record<string, string>
  now?: number
}

/** Runs the CLI in-process with fake io: the key in USERSIG_KEY and the clock at T0 by default. */
async function cli(argv: string[], io: FakeIo = {}): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const files = io.files ?? {}
  const code = await runCli(argv, {
    stdin: async () => {
      if (io.stdin === undefined) throw new Error('the test gave no stdin')
      return io.stdin
    },
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    env: io.env ?? { USERSIG_KEY: KEY },
    now: () => io.now ?? T0,
    readFile: (path) => {
      const content = files[path]
      if (content === undefined)
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
      return content
    },
  })
  return { code, stdout, stderr }
}

/** Asserts a usage error: exit 2, nothing on stdout, one line on stderr naming the help to read. */
function expectUsageError(run: Run, command: string | null, fragment: string): void {
  expect(run.code).toBe(2)
  expect(run.stdout).toBe('')
  expect(run.stderr).toMatch(/^usersig: [^\n]+\n$/)
  expect(run.stderr).toContain(fragment)
  expect(run.stderr).toContain(
    command === null ? `'usersig --help'` : `'usersig ${command} --help'`,
  )
  expect(run.stderr).not.toContain(KEY)
}

function jsonLine(run: Run): unknown {
  expect(run.stdout).toMatch(/^[^\n]+\n$/)
  return JSON.parse(run.stdout)
}

const SIGN = ['sign', '--sdkappid', APP, '--user', USER]
const PMK = ['private-map-key', '--sdkappid', APP, '--user', USER]
const VERIFY = ['verify', '--sdkappid', APP, '--user', USER]
const PINNED = ['--expire', String(VECTORS.expire), '--time', String(T0)]

const decodedVector = {
  version: '2.0',
  userId: USER,
  sdkAppId: VECTORS.sdkAppId,
  issuedAt: T0,
  expire: VECTORS.expire,
  expiresAt: T0 + VECTORS.expire,
  userBuf: null,
  privateMapKey: null,
}
const pmkFields = {
  userId: USER,
  sdkAppId: VECTORS.sdkAppId,
  expiresAt: T0 + VECTORS.expire,
  privileges: 255,
  privilegeNames: ALL_PRIVILEGES,
  accountType: 0,
}
const decodedRoomVector = {
  ...decodedVector,
  userBuf: VECTORS.privateMapKey.roomId.userBuf,
  privateMapKey: { ...pmkFields, roomId: 10000, strRoomId: null },
}
const decodedStrRoomVector = {
  ...decodedVector,
  userBuf: VECTORS.privateMapKey.strRoomId.userBuf,
  privateMapKey: { ...pmkFields, roomId: null, strRoomId: '1000000040' },
}
const validVector = {
  valid: true,
  code: null,
  tencentErrorCode: null,
  message: 'The ticket is valid.',
  keyId: 'cli',
  ticket: decodedVector,
}

describe('usersig sign', () => {
  test('prints the ticket alone on one line; it carries the pinned vector HMAC and document', async () => {
    const run = await cli([...SIGN, ...PINNED])
    expect(run).toEqual({
      code: 0,
      stdout: expect.stringMatching(/^eA[A-Za-z0-9*_-]+\n$/),
      stderr: '',
    })
    const doc = JSON.parse(inflateTicket(run.stdout.trim()))
    expect(Object.entries(doc)).toEqual(
      Object.entries(JSON.parse(inflateTicket(VECTORS.userSig.tickets.node))),
    )
    expect(doc['TLS.sig']).toBe(VECTORS.userSig.sig)
  })

  test("defaults: the service's default expiry for an app (60 days), issue time from the clock", async () => {
    const run = await cli(SIGN, { now: 1_800_000_000 })
    expect(run.code).toBe(0)
    const doc = JSON.parse(inflateTicket(run.stdout.trim()))
    expect(doc['TLS.expire']).toBe(APP_DEFAULTS.defaultExpire)
    expect(doc['TLS.expire']).toBe(60 * 86_400)
    expect(doc['TLS.time']).toBe(1_800_000_000)
  })

  test('reads the key from --key-file, trailing newline trimmed, in preference to USERSIG_KEY', async () => {
    const run = await cli([...SIGN, ...PINNED, '--key-file', '/secrets/usersig'], {
      env: { USERSIG_KEY: 'another key entirely' },
      files: { '/secrets/usersig': `${KEY}\n` },
    })
    expect(run.code).toBe(0)
    expect(JSON.parse(inflateTicket(run.stdout.trim()))['TLS.sig']).toBe(VECTORS.userSig.sig)
  })

  test('--user-id-policy printable signs ids that strict refuses', async () => {
    const strict = await cli(['sign', '--sdkappid', APP, '--user', 'jane doe'])
    expectUsageError(strict, 'sign', 'policy "strict"')
    const printable = await cli([
      'sign',
      '--sdkappid',
      APP,
      '--user',
      'jane doe',
      '--user-id-policy',
      'printable',
    ])
    expect(printable.code).toBe(0)
    expect(JSON.parse(inflateTicket(printable.stdout.trim()))['TLS.identifier']).toBe('jane doe')
  })
})

describe('usersig private-map-key', () => {
  test('numeric room: the pinned vector userbuf and signature', async () => {
    const run = await cli([...PMK, ...PINNED, '--room', '10000', '--privileges', '255'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^[A-Za-z0-9*_-]+\n$/)
    const doc = JSON.parse(inflateTicket(run.stdout.trim()))
    expect(doc['TLS.userbuf']).toBe(VECTORS.privateMapKey.roomId.userBuf)
    expect(doc['TLS.sig']).toBe(VECTORS.privateMapKey.roomId.sig)
  })

  test('string room with privileges given by name: the pinned vector', async () => {
    const names = ALL_PRIVILEGES.join(', ')
    const run = await cli([...PMK, ...PINNED, '--str-room', '1000000040', '--privileges', names])
    expect(run.code).toBe(0)
    const doc = JSON.parse(inflateTicket(run.stdout.trim()))
    expect(doc['TLS.userbuf']).toBe(VECTORS.privateMapKey.strRoomId.userBuf)
    expect(doc['TLS.sig']).toBe(VECTORS.privateMapKey.strRoomId.sig)
  })

  test("defaults: the service's PrivateMapKey expiry (300 s) from the clock; a name list sets those bits only", async () => {
    expect(APP_DEFAULTS.privateMapKeyDefaultExpire).toBe(300)
    const run = await cli([...PMK, '--room', '7', '--privileges', 'enterRoom,receiveVideo'])
    expect(run.code).toBe(0)
    const decoded = await cli(['decode', run.stdout.trim()])
    expect(jsonLine(decoded)).toEqual({
      ...decodedVector,
      expire: 300,
      expiresAt: T0 + 300,
      userBuf: expect.any(String),
      privateMapKey: {
        ...pmkFields,
        roomId: 7,
        strRoomId: null,
        expiresAt: T0 + 300,
        privileges: 2 + 32,
        privilegeNames: ['enterRoom', 'receiveVideo'],
      },
    })
  })
})

describe('usersig verify', () => {
  test('the pinned official ticket is valid at its issue time: exit 0, one JSON line', async () => {
    const run = await cli([...VERIFY, '--now', String(T0), VECTORS.userSig.tickets.node])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    expect(jsonLine(run)).toEqual(validVector)
  })

  test('the Python variant of the same ticket verifies too; --key-id names the key', async () => {
    const ticket = VECTORS.userSig.tickets.python
    const run = await cli([...VERIFY, '--now', String(T0), '--key-id', '2026-11', ticket])
    expect(jsonLine(run)).toEqual({ ...validVector, keyId: '2026-11' })
    expect(run.code).toBe(0)
  })

  test('valid through the last second, expired the second after: exit 1 with 70001', async () => {
    const last = T0 + VECTORS.expire
    const ticket = VECTORS.userSig.tickets.node
    expect((await cli([...VERIFY, '--now', String(last), ticket])).code).toBe(0)
    const run = await cli([...VERIFY, '--now', String(last + 1), ticket])
    expect(run.code).toBe(1)
    expect(jsonLine(run)).toEqual({
      valid: false,
      code: 'ticket_expired',
      tencentErrorCode: 70001,
      message: 'The ticket has expired.',
      keyId: null,
      ticket: decodedVector,
      hint: HINTS.ticket_expired,
    })
  })

  test.each([
    [
      'another user',
      ['verify', '--sdkappid', APP, '--user', 'someone'],
      'ticket_identifier_mismatch',
      70013,
    ],
    [
      'another app',
      ['verify', '--sdkappid', '1400000001', '--user', USER],
      'ticket_sdkappid_mismatch',
      70014,
    ],
  ])('%s: exit 1 with the Tencent code', async (_name, argv, code, tencentErrorCode) => {
    const run = await cli([...argv, '--now', String(T0), VECTORS.userSig.tickets.node])
    expect(run.code).toBe(1)
    expect(jsonLine(run)).toMatchObject({ valid: false, code, tencentErrorCode, keyId: null })
  })

  test('another key: signature invalid (70009), and the key is never printed', async () => {
    const run = await cli([...VERIFY, '--now', String(T0), VECTORS.userSig.tickets.node], {
      env: { USERSIG_KEY: 'not-the-key-of-this-app-0123456789' },
    })
    expect(run.code).toBe(1)
    expect(jsonLine(run)).toEqual({
      valid: false,
      code: 'ticket_signature_invalid',
      tencentErrorCode: 70009,
      message: 'The ticket signature does not match any key of this SDKAppID.',
      keyId: null,
      ticket: decodedVector,
      hint: HINTS.ticket_signature_invalid,
    })
    expect(run.stdout).not.toContain('not-the-key')
  })

  test('--kind: a PrivateMapKey is refused as a UserSig, accepted as privatemapkey or any', async () => {
    const ticket = VECTORS.privateMapKey.roomId.ticket
    const asUserSig = await cli([...VERIFY, '--now', String(T0), ticket])
    expect(asUserSig.code).toBe(1)
    expect(jsonLine(asUserSig)).toMatchObject({
      code: 'ticket_kind_mismatch',
      ticket: decodedRoomVector,
    })
    for (const kind of ['privatemapkey', 'any']) {
      const run = await cli([...VERIFY, '--now', String(T0), '--kind', kind, ticket])
      expect(run.code).toBe(0)
      expect(jsonLine(run)).toEqual({ ...validVector, ticket: decodedRoomVector })
    }
    const plain = VECTORS.userSig.tickets.node
    const notPmk = await cli([...VERIFY, '--now', String(T0), '--kind', 'privatemapkey', plain])
    expect(jsonLine(notPmk)).toMatchObject({ valid: false, code: 'ticket_kind_mismatch' })
  })

  test('a ticket that does not decode: exit 1, ticket null', async () => {
    const run = await cli([...VERIFY, 'not*a*ticket'])
    expect(run.code).toBe(1)
    expect(jsonLine(run)).toMatchObject({
      valid: false,
      code: 'ticket_malformed',
      tencentErrorCode: 70003,
      keyId: null,
      ticket: null,
    })
  })

  test('reads the ticket from stdin for - or none, trimming whitespace; empty stdin is 70002', async () => {
    const stdin = `\n  ${VECTORS.userSig.tickets.node}\r\n`
    for (const argv of [[...VERIFY, '-'], VERIFY]) {
      const run = await cli([...argv, '--now', String(T0)], { stdin })
      expect(jsonLine(run)).toEqual(validVector)
      expect(run.code).toBe(0)
    }
    const empty = await cli(VERIFY, { stdin: ' \n' })
    expect(empty.code).toBe(1)
    expect(jsonLine(empty)).toEqual({
      valid: false,
      code: 'ticket_empty',
      tencentErrorCode: 70002,
      message: 'The ticket is empty.',
      keyId: null,
      ticket: null,
      hint: HINTS.ticket_empty,
    })
  })

  test('the clock defaults --now: a ticket from sign verifies right away', async () => {
    const signed = await cli(SIGN, { now: 1_800_000_000 })
    const run = await cli(VERIFY, { stdin: signed.stdout, now: 1_800_000_000 })
    expect(run.code).toBe(0)
    expect(jsonLine(run)).toMatchObject({ valid: true, ticket: { issuedAt: 1_800_000_000 } })
  })
})

describe('usersig decode', () => {
  test('prints the decoded fields without a key', async () => {
    const run = await cli(['decode', VECTORS.userSig.tickets.node], { env: {} })
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    expect(jsonLine(run)).toEqual(decodedVector)
  })

  test('PrivateMapKey vectors: numeric room 10000 and string room "1000000040", privileges 255', async () => {
    const room = await cli(['decode', VECTORS.privateMapKey.roomId.ticket], { env: {} })
    expect(jsonLine(room)).toEqual(decodedRoomVector)
    const str = await cli(['decode', '-'], {
      env: {},
      stdin: `${VECTORS.privateMapKey.strRoomId.ticket}\n`,
    })
    expect(jsonLine(str)).toEqual(decodedStrRoomVector)
  })

  test('reads stdin when the ticket is omitted', async () => {
    const run = await cli(['decode'], { stdin: ` ${VECTORS.userSig.tickets.python}\n` })
    expect(jsonLine(run)).toEqual(decodedVector)
  })

  test.each([
    ['empty', '', 'ticket_empty', 70002],
    ['outside the alphabet', 'eJ+abc', 'ticket_malformed', 70003],
    ['not zlib', 'AAAAAAAA', 'ticket_malformed', 70003],
    ['too long', 'A'.repeat(5000), 'ticket_malformed', 70003],
  ])(
    '%s: prints {code, tencentErrorCode, message, hint}, exit 1',
    async (_n, ticket, code, tencentCode) => {
      const run = await cli(['decode'], { stdin: ticket })
      expect(run.code).toBe(1)
      expect(run.stderr).toBe('')
      expect(jsonLine(run)).toEqual({
        code,
        tencentErrorCode: tencentCode,
        message: expect.any(String),
        hint: HINTS[code as 'ticket_empty' | 'ticket_malformed'],
      })
    },
  )
})

describe('usersig decode tells how a pasted ticket was mangled, as the debug page does', () => {
  const ticket = VECTORS.userSig.tickets.node
  const ALPHABET =
    "The ticket has a character outside Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding)"
  const standard = ticket.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=')
  // as a form or a query string sends it
  const urlEncoded = ticket.replace(/[*-]/g, (c) => (c === '*' ? '%2A' : '%2D'))
  test.each([
    [
      'wrapped over two lines',
      `${ticket.slice(0, 60)}\n${ticket.slice(60)}`,
      `a line break at position 61 of ${ticket.length + 1}. A copy may have wrapped it over lines or added spaces.`,
    ],
    [
      'with a space',
      `${ticket.slice(0, 9)} ${ticket.slice(9)}`,
      `a space at position 10 of ${ticket.length + 1}. A copy may have wrapped it over lines or added spaces.`,
    ],
    [
      'in standard base64',
      standard,
      `"${/[+/=]/.exec(standard)?.[0]}" at position ${(/[+/=]/.exec(standard)?.index ?? 0) + 1} of ${ticket.length}. It looks like standard base64; Tencent's variant writes + / = as * - _.`,
    ],
    [
      'URL-encoded',
      urlEncoded,
      `"%" at position ${urlEncoded.indexOf('%') + 1} of ${urlEncoded.length}. It looks URL-encoded (%2A is *, %2D is -): pass the raw ticket.`,
    ],
  ])('%s: the message says which character, where, and why', async (_, text, said) => {
    const run = await cli(['decode'], { env: {}, stdin: text })
    expect(run.code).toBe(1)
    const { message } = jsonLine(run) as { message: string }
    expect(message.startsWith(`${ALPHABET}: `)).toBe(true)
    expect(message.slice(ALPHABET.length + 2)).toEqual(said)
  })

  test('a ticket that is only cut short is not said to have a stray character', async () => {
    const run = await cli(['decode', ticket.slice(0, 100)], { env: {} })
    expect(jsonLine(run)).toMatchObject({
      code: 'ticket_malformed',
      message: 'The ticket is not a complete zlib stream within the size limit.',
    })
  })
})

describe('usersig verify says what POST /usersig/verify says', () => {
  // The same key (app A's signing key, by its id) and the same clock on both sides.
  const { app } = buildApp()
  const env = { USERSIG_KEY: SECRETS.aNew }
  const both = async (userId: string, ticket: string, kind = 'usersig') => {
    const run = await cli(
      ['verify', '--sdkappid', String(APP_A), '--user', userId, '--now', String(NOW)].concat([
        '--kind',
        kind,
        '--key-id',
        KEYS.aNew.id,
        ticket,
      ]),
      { env },
    )
    const res = await post(app, '/usersig/verify', TOKENS.chat, {
      sdkAppId: APP_A,
      userId,
      userSig: ticket,
      kind,
    })
    expect(res.status).toBe(200)
    return { cli: jsonLine(run), service: res.body as Record<string, unknown>, code: run.code }
  }

  test.each([
    [
      'valid',
      'alice',
      () => official(APP_A, SECRETS.aNew, NOW, (api) => api.genUserSig('alice', 600)),
    ],
    [
      'expired',
      'alice',
      () => official(APP_A, SECRETS.aNew, NOW - 700, (api) => api.genUserSig('alice', 600)),
    ],
    [
      'another user',
      'bob',
      () => official(APP_A, SECRETS.aNew, NOW, (api) => api.genUserSig('alice', 600)),
    ],
    [
      'another key',
      'alice',
      () => official(APP_A, SECRETS.b, NOW, (api) => api.genUserSig('alice', 600)),
    ],
    ['malformed', 'alice', () => 'eJx-not-a-ticket'],
  ])('%s: the same JSON, hint included', async (_name, userId, ticket) => {
    const { cli: fromCli, service, code } = await both(userId, ticket())
    expect(fromCli).toEqual(service)
    expect(code).toBe(service.valid === true ? 0 : 1)
    if (service.valid !== true) expect(service.hint).toEqual(expect.any(String))
  })

  test('a PrivateMapKey the official Node library made for a non-ASCII UserID: ticket_userbuf_mangled, with its hint', async () => {
    const ticket = official(APP_A, SECRETS.aNew, NOW, (api) =>
      api.genPrivateMapKey('张三', 300, 1234, 255),
    )
    const { cli: fromCli, service, code } = await both('张三', ticket, 'privatemapkey')
    expect(fromCli).toEqual(service)
    expect(code).toBe(1)
    expect(fromCli).toMatchObject({
      code: 'ticket_userbuf_mangled',
      tencentErrorCode: null,
      hint: HINTS.ticket_userbuf_mangled,
    })
  })
})

describe('keys: refused under 32 characters, as the service refuses them', () => {
  const RULE =
    'secret must be a string of at least 32 characters without surrounding white space (the console key is 64)'

  test('the service refuses such a key in these words', () => {
    let problems: readonly string[] = []
    try {
      loadConfig({
        NODE_ENV: 'test',
        USERSIG_APPS: JSON.stringify({ [APP_A]: { keys: [{ id: 'k', secret: 'k'.repeat(31) }] } }),
        USERSIG_CLIENTS: JSON.stringify([
          { id: 'c', token: 't'.repeat(32), apps: [APP_A], scopes: ['usersig:issue'] },
        ]),
      })
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems = error.problems
    }
    expect(problems).toEqual([
      expect.stringMatching(/^USERSIG_APPS: app .*1400000000.*: key "k": /),
    ])
    expect(problems[0]?.endsWith(`: ${RULE}`)).toBe(true)
  })

  test.each([
    ['sign', SIGN],
    ['private-map-key', [...PMK, '--room', '1', '--privileges', '255']],
    ['verify', [...VERIFY, 'ticket']],
  ])(
    '%s: 31 characters refused, from USERSIG_KEY or --key-file; 32 accepted',
    async (command, argv) => {
      const short = 'k'.repeat(31)
      const fromEnv = await cli(argv, { env: { USERSIG_KEY: short }, stdin: '' })
      expectUsageError(fromEnv, command, `USERSIG_KEY: ${RULE}`)
      expect(fromEnv.stderr).not.toContain(short)
      const fromFile = await cli([...argv, '--key-file', '/k'], {
        env: {},
        files: { '/k': `${short}\n` },
      })
      expectUsageError(fromFile, command, `--key-file /k: ${RULE}`)
      const padded = await cli(argv, { env: { USERSIG_KEY: ` ${KEY}` } })
      expectUsageError(padded, command, `USERSIG_KEY: ${RULE}`)
      const enough = await cli(argv, { env: { USERSIG_KEY: 'k'.repeat(32) } })
      expect(enough.code).toBe(command === 'verify' ? 1 : 0) // "ticket" does not decode
      expect(enough.stderr).toBe('')
    },
  )
})

describe('help', () => {
  test.each([[['--help']], [['-h']]])('top level %j: usage on stdout, exit 0', async (argv) => {
    const run = await cli(argv)
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    expect(run.stdout).toMatch(/^Usage: usersig <command> \[options\]\n/)
    for (const command of ['sign', 'private-map-key', 'verify', 'decode', 'USERSIG_KEY']) {
      expect(run.stdout).toContain(command)
    }
  })

  test.each([
    ['sign', 'usersig sign --sdkappid N --user ID [--expire S] [--time T]'],
    ['private-map-key', 'usersig private-map-key --sdkappid N --user ID [--expire S] (--room N'],
    ['verify', 'usersig verify --sdkappid N --user ID [--now T] [TICKET | -]'],
    ['decode', 'usersig decode [TICKET | -]'],
  ])(
    '%s: --help and -h print its usage, exit 0, even beside bad options',
    async (command, usage) => {
      for (const argv of [
        [command, '--help'],
        [command, '-h'],
        [command, '--bogus', '-h'],
      ]) {
        const run = await cli(argv, { env: {} })
        expect(run).toEqual({
          code: 0,
          stdout: expect.stringContaining(`Usage: ${usage}`),
          stderr: '',
        })
      }
    },
  )
})

test('verify --help and decode --help list their exit codes, as the CLI uses them', async () => {
  for (const [command, meanings] of [
    ['verify', { [EXIT.ok]: 'the ticket is valid', [EXIT.invalid]: 'the ticket is not valid' }],
    ['decode', { [EXIT.ok]: 'the ticket decodes', [EXIT.invalid]: 'it does not' }],
  ] as const) {
    const { stdout } = await cli([command, '--help'])
    const listed = stdout.slice(stdout.indexOf('Exit status:\n'))
    expect(listed).toMatch(new RegExp(`\\n  ${EXIT.ok} +${meanings[EXIT.ok]}\\n`))
    expect(listed).toMatch(new RegExp(`\\n  ${EXIT.invalid} +${meanings[EXIT.invalid]}`))
    expect(listed).toMatch(new RegExp(`\\n  ${EXIT.usage} +a usage error`))
    expect(listed).toMatch(/\n {2}70 +an internal error/)
  }
})

describe('--version', () => {
  test('prints the package name and version from package.json, exit 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(await cli(['--version'], { env: {} })).toEqual({
      code: 0,
      stdout: `usersig-service ${pkg.version}\n`,
      stderr: '',
    })
  })
})

describe('usage errors: exit 2, one line on stderr naming the help to read', () => {
  test.each([
    ['no command', [], null, 'missing command'],
    ['an unknown command', ['issue'], null, `unknown command 'issue'`],
    ['an unknown top-level option', ['--verbose'], null, `unknown option '--verbose'`],
    ['a command name that could be a secret', [KEY], null, 'unknown command (not shown)'],
  ])('%s', async (_name, argv, command, fragment) => {
    expectUsageError(await cli(argv), command, fragment)
  })

  test.each([
    ['sign', [...SIGN, '--key', KEY]],
    ['sign', [...SIGN, `--key=${KEY}`]],
    ['private-map-key', [...PMK, '--room', '1', '--privileges', '255', '--key', KEY]],
    ['verify', [...VERIFY, '--key', KEY, 'ticket']],
    ['decode', ['decode', '--key', KEY]],
  ])('%s refuses --key and says why, without echoing it', async (command, argv) => {
    const run = await cli(argv)
    expectUsageError(run, command, '--key is refused')
    expect(run.stderr).toContain('USERSIG_KEY')
    expect(run.stderr).toContain('--key-file')
  })

  const badIntegers = [
    '86400.0',
    '1e5',
    ' 12',
    '12 ',
    '+5',
    '-1',
    '0x10',
    '',
    '99999999999999999999',
  ]
  test.each(badIntegers)('integers are digits only: --expire %j', async (value) => {
    const run = await cli([...SIGN, `--expire=${value}`])
    expectUsageError(run, 'sign', value === '' ? '--expire needs a value' : '--expire must be')
  })

  test.each([
    ['sign', [...SIGN.slice(1), '--expire', '-5'], 'expire'],
    ['sign', [...SIGN.slice(1), '--time', '-1'], 'time'],
    ['sign', ['--sdkappid', '-1400000000', '--user', USER], 'sdkappid'],
    ['verify', [...VERIFY.slice(1), '--now', '-3', 't'], 'now'],
    ['private-map-key', [...PMK.slice(1), '--room', '-7', '--privileges', '1'], 'room'],
  ])(
    "%s %j: a negative number gets our message, as --name=-5 does, never parseArgs's",
    async (command, args, name) => {
      const run = await cli([command, ...args], { stdin: '' })
      expectUsageError(
        run,
        command,
        `--${name} must be a whole number written with the digits 0-9 only`,
      )
      expect(run.stderr).not.toMatch(/ambiguous|Did you forget|argument missing/)
    },
  )

  test('a value that starts with a dash is refused in our words, and not echoed', async () => {
    const run = await cli([...PMK, '--str-room', '-secret-room', '--privileges', '1'])
    expectUsageError(
      run,
      'private-map-key',
      '--str-room needs a value (one that starts with a dash is written --str-room=VALUE)',
    )
    expect(run.stderr).not.toContain('secret-room')
    const written = await cli([...PMK, '--str-room=-room', '--privileges', '1'])
    expect(written).toMatchObject({ code: 0, stderr: '' })
  })

  test.each([
    ['sign', ['--sdkappid', '1.5', '--user', USER], '--sdkappid must be'],
    ['sign', [...SIGN.slice(1), '--time', '1700000000.0'], '--time must be'],
    ['verify', [...VERIFY.slice(1), '--now', '1e9', 't'], '--now must be'],
    ['private-map-key', [...PMK.slice(1), '--room', '10000.0', '--privileges', '1'], '--room must'],
    ['private-map-key', [...PMK.slice(1), '--room', '1', '--privileges', '2.0'], 'privilege'],
  ])('%s: strict integers everywhere (%j)', async (command, args, fragment) => {
    expectUsageError(await cli([command, ...args]), command, fragment)
  })

  test.each([
    ['sign', ['--user', USER], 'missing --sdkappid'],
    ['sign', ['--sdkappid', APP], 'missing --user'],
    ['sign', [...SIGN.slice(1), 'extra'], 'sign takes no positional arguments (got 1)'],
    ['sign', [...SIGN.slice(1), '--room', '1'], `unknown option '--room'`],
    [
      'sign',
      [...SIGN.slice(1), '--expire', '1', '--expire', '2'],
      '--expire is given more than once',
    ],
    ['sign', ['--sdkappid', APP, '--user'], '--user needs a value'],
    [
      'sign',
      ['--sdkappid', APP, '--user', '--expire', '5'],
      '--user needs a value (one that starts with a dash is written --user=VALUE)',
    ],
    ['sign', [...SIGN.slice(1), '--help=yes'], '--help takes no value'],
    ['sign', ['--sdkappid', APP, '--user', 'a/b'], 'policy "strict"'],
    ['sign', ['--sdkappid', APP, '--user', 'x'.repeat(33)], 'userId must be 1 to 32'],
    ['sign', [...SIGN.slice(1), '--user-id-policy', 'lax'], '--user-id-policy must be one of'],
    ['sign', ['--sdkappid', '0', '--user', USER], 'sdkAppId must be an integer from 1'],
    ['sign', ['--sdkappid', '4294967296', '--user', USER], 'sdkAppId must be an integer from 1'],
    ['private-map-key', [...PMK.slice(1), '--privileges', '255'], 'exactly one of --room'],
    [
      'private-map-key',
      [...PMK.slice(1), '--room', '1', '--str-room', 'a', '--privileges', '1'],
      'exactly one of --room',
    ],
    ['private-map-key', [...PMK.slice(1), '--room', '1'], 'missing --privileges'],
    ['private-map-key', [...PMK.slice(1), '--room', '0', '--privileges', '1'], 'roomId must be'],
    [
      'private-map-key',
      [...PMK.slice(1), '--room', '4294967296', '--privileges', '1'],
      'roomId must be',
    ],
    [
      'private-map-key',
      [...PMK.slice(1), '--str-room', 'r'.repeat(65), '--privileges', '1'],
      'strRoomId must be',
    ],
    ['private-map-key', [...PMK.slice(1), '--room', '1', '--privileges', '256'], 'privileges must'],
    [
      'private-map-key',
      [...PMK.slice(1), '--room', '1', '--privileges', 'enterRoom,fly'],
      "--privileges: unknown privilege 'fly'; known: createRoom, enterRoom, sendAudio, receiveAudio, sendVideo, receiveVideo, sendSubStream, receiveSubStream",
    ],
    [
      'private-map-key',
      [...PMK.slice(1), '--room', '1', '--privileges', 'enterRoom,'],
      '--privileges must be',
    ],
    [
      'private-map-key',
      [...PMK.slice(1), '--room', '1', '--privileges', '1', '--time', '4294967200'],
      'expiry (now + expire)',
    ],
    ['verify', ['--user', USER, 't'], 'missing --sdkappid'],
    ['verify', [...VERIFY.slice(1), '--kind', 'jwt', 't'], '--kind must be one of'],
    ['verify', [...VERIFY.slice(1), '--key-id=', 't'], '--key-id needs a value'],
    ['verify', [...VERIFY.slice(1), 'one', 'two'], 'verify takes at most one TICKET (got 2)'],
    ['verify', [...VERIFY.slice(1), '--user-id-policy', 'strict', 't'], `unknown option`],
    ['decode', ['--sdkappid', APP, 't'], `unknown option '--sdkappid'`],
    ['decode', ['one', 'two'], 'decode takes at most one TICKET (got 2)'],
  ])('%s %j', async (command, args, fragment) => {
    expectUsageError(await cli([command, ...args], { stdin: '' }), command, fragment)
  })

  test.each([
    ['sign', SIGN],
    ['private-map-key', [...PMK, '--room', '1', '--privileges', '255']],
    ['verify', [...VERIFY, 'ticket']],
  ])('%s needs a key: none, empty, unreadable or empty file', async (command, argv) => {
    expectUsageError(await cli(argv, { env: {} }), command, 'no key: set USERSIG_KEY')
    expectUsageError(await cli(argv, { env: { USERSIG_KEY: '' } }), command, 'no key')
    const missing = await cli([...argv, '--key-file', 'secrets/app.key'], { env: {} })
    expectUsageError(missing, command, 'cannot read --key-file secrets/app.key (ENOENT)')
    const blank = await cli([...argv, '--key-file', '/k'], { env: {}, files: { '/k': ' \n' } })
    expectUsageError(blank, command, '--key-file /k is empty')
    // A key typed where the path goes is not echoed.
    const keyAsPath = await cli([...argv, '--key-file', KEY], { env: {} })
    expectUsageError(
      keyAsPath,
      command,
      'cannot read --key-file (not shown: it looks like a key, not a path) (ENOENT)',
    )
  })

  test('argument errors are found before stdin is read', async () => {
    // The fake stdin throws when read: a usage error must come first.
    expectUsageError(await cli(['verify', '--user', USER]), 'verify', 'missing --sdkappid')
  })
})

describe("the real process: node dist/cli/main.js (the tests' build)", () => {
  const env = { PATH: process.env['PATH'] ?? '', USERSIG_KEY: KEY }
  function usersig(args: string[], input = ''): Run {
    const result = spawnSync(
      process.execPath,
      [join(builtService(), 'dist/cli/main.js'), ...args],
      {
        env,
        input,
        encoding: 'utf8',
        timeout: 20_000,
      },
    )
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr }
  }

  test('main.ts is an executable script; the bin points at its build output', () => {
    expect(readFileSync(new URL('../../src/cli/main.ts', import.meta.url), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    )
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(pkg.bin).toEqual({ usersig: 'dist/cli/main.js' })
  })

  test('a ticket from sign verifies with verify (through stdin), exit 0', () => {
    const signed = usersig(['sign', '--sdkappid', APP, '--user', 'alice_01'])
    expect(signed.stderr).toBe('')
    expect(signed.code).toBe(0)
    expect(signed.stdout).toMatch(/^eA[A-Za-z0-9*_-]+\n$/)
    const verified = usersig(['verify', '--sdkappid', APP, '--user', 'alice_01'], signed.stdout)
    expect(verified.code).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, keyId: 'cli' })
  })

  test('the pinned official vector decodes, and verifies at --now 1700000000', () => {
    const ticket = VECTORS.userSig.tickets.node
    const decoded = usersig(['decode', ticket])
    expect(decoded.code).toBe(0)
    expect(JSON.parse(decoded.stdout)).toEqual(decodedVector)
    const verified = usersig([...VERIFY, '--now', String(T0), ticket])
    expect(verified).toEqual({ code: 0, stdout: `${JSON.stringify(validVector)}\n`, stderr: '' })
    const expired = usersig([...VERIFY, '--now', String(T0 + VECTORS.expire + 1), ticket])
    expect(expired.code).toBe(1)
    expect(JSON.parse(expired.stdout)).toMatchObject({ code: 'ticket_expired' })
  })

  test('the PrivateMapKey vectors decode to room 10000 and "1000000040", privileges 255', () => {
    const room = usersig(['decode', VECTORS.privateMapKey.roomId.ticket])
    expect(room.code).toBe(0)
    expect(JSON.parse(room.stdout)).toEqual(decodedRoomVector)
    const str = usersig(['decode', '-'], VECTORS.privateMapKey.strRoomId.ticket)
    expect(str.code).toBe(0)
    expect(JSON.parse(str.stdout)).toEqual(decodedStrRoomVector)
  })

  test('--key-file reads a regular file of at most 1 MiB: /dev/zero is refused at once, by name', () => {
    expect(usersig(['sign', '--sdkappid', APP, '--user', USER, '--key-file', '/dev/zero'])).toEqual(
      {
        code: 2,
        stdout: '',
        stderr:
          "usersig: cannot read --key-file /dev/zero (ENOTFILE) (see 'usersig sign --help')\n",
      },
    )
  })

  test('a usage error exits 2 with one line; --key is refused', () => {
    expect(usersig(['sign', '--sdkappid', APP, '--user', USER, '--expire', '86400.0'])).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "usersig: --expire must be a whole number written with the digits 0-9 only (see 'usersig sign --help')\n",
    })
    const refused = usersig(['sign', '--key', 'hunter2'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^usersig: --key is refused[^\n]*\n$/)
    expect(refused.stderr).not.toContain('hunter2')
  })
})

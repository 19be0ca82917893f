// The usersig CLI as a function: arguments and io in, exit status out. A thin front on the codec.
import { parseArgs, type ParseArgsConfig } from 'node:util'
// Shared with the debug page, which tells a pasted ticket's mistakes apart the same way.
import { ALPHABET_TEXT, strayCharacter } from '../../public/debug/ticket-text.js'
import {
  checkSecret,
  checkUserId,
  createUserSigKey,
  decodeUserSig,
  HINTS,
  MAX_TICKET_LENGTH,
  PRIVILEGES,
  privilegeMap,
  signPrivateMapKey,
  signUserSig,
  TicketError,
  USER_ID_POLICIES,
  verifyUserSig,
  type DecodedTicket,
  type PrivilegeName,
  type Room,
  type UserIdPolicy,
  type UserSigKey,
  type VerifyOptions,
} from '../usersig/index.js'
import { DEFAULT_PRIVATE_MAP_KEY_EXPIRE, DEFAULT_USERSIG_EXPIRE, VERSION } from './installed.js'
import { COMMAND_HELP, TOP_HELP, type CommandName } from './usage.js'

/** Everything the CLI touches outside itself; main.ts wires it to the process, tests fake it. */
export interface CliIo {
  /** Reads all of standard input; called only when the ticket is to come from there. */
  readonly stdin: () => Promise<string>
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  /** The current unix time in whole seconds (the codec never reads a clock; the CLI may). */
  readonly now: () => number
  readonly readFile: (path: string) => string
}

/** Exit statuses: done (or the ticket is valid), the ticket is invalid, usage error. */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const

/** The key id verify reports when --key-id is not given. */
export const DEFAULT_KEY_ID = 'cli'
/** The environment variable holding the secret key. */
export const KEY_ENV = 'USERSIG_KEY'

/** A mistake in the command line: printed as one line on stderr, exit status 2. */
class UsageError extends Error {}

type Values = Readonly<Record<string, string | boolean | undefined>>
type Options = NonNullable<ParseArgsConfig['options']>

interface Command {
  readonly options: Options
  readonly takesTicket: boolean
  readonly run: (values: Values, ticketArg: string | undefined, io: CliIo) => Promise<number>
}

const HELP_OPTION: Options = { help: { type: 'boolean', short: 'h' } }
/** The options whose value is a whole number (`integer`, `parseInteger`). */
const INTEGER_OPTIONS = new Set(['sdkappid', 'expire', 'time', 'now', 'room'])
const SIGN_OPTIONS: Options = {
  ...HELP_OPTION,
  sdkappid: { type: 'string' },
  user: { type: 'string' },
  expire: { type: 'string' },
  time: { type: 'string' },
  'user-id-policy': { type: 'string' },
  'key-file': { type: 'string' },
}

const COMMANDS: Record<CommandName, Command> = {
  sign: { options: SIGN_OPTIONS, takesTicket: false, run: sign },
  'private-map-key': {
    options: {
      ...SIGN_OPTIONS,
      room: { type: 'string' },
      'str-room': { type: 'string' },
      privileges: { type: 'string' },
    },
    takesTicket: false,
    run: privateMapKey,
  },
  verify: {
    options: {
      ...HELP_OPTION,
      sdkappid: { type: 'string' },
      user: { type: 'string' },
      now: { type: 'string' },
      kind: { type: 'string' },
      'key-id': { type: 'string' },
      'key-file': { type: 'string' },
    },
    takesTicket: true,
    run: verify,
  },
  decode: { options: HELP_OPTION, takesTicket: true, run: decode },
}

/**
 * Runs one `usersig` command line (`argv` without the node and script paths).
 * Resolves to the exit status; usage errors are reported on stderr, never thrown.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv
  let hint = 'usersig --help'
  try {
    if (name === '--help' || name === '-h') {
      io.stdout(TOP_HELP)
      return EXIT.ok
    }
    if (name === '--version') {
      io.stdout(`${VERSION}\n`)
      return EXIT.ok
    }
    if (name === undefined) {
      throw new UsageError('missing command: sign, private-map-key, verify or decode')
    }
    if (!Object.hasOwn(COMMANDS, name)) {
      throw new UsageError(
        name.startsWith('-') ? `unknown option ${shown(name)}` : `unknown command ${shown(name)}`,
      )
    }
    const commandName = name as CommandName
    hint = `usersig ${commandName} --help`
    const beforeDashDash = args.indexOf('--') === -1 ? args : args.slice(0, args.indexOf('--'))
    if (beforeDashDash.some((arg) => arg === '--help' || arg === '-h')) {
      io.stdout(COMMAND_HELP[commandName])
      return EXIT.ok
    }
    if (beforeDashDash.some((arg) => arg === '--key' || arg.startsWith('--key='))) {
      throw new UsageError(
        `--key is refused: a key on the command line is visible in \`ps\` and kept in shell history; set ${KEY_ENV} or pass --key-file PATH`,
      )
    }
    const command = COMMANDS[commandName]
    const { values, positionals } = parseCommandLine(args, command.options)
    const limit = command.takesTicket ? 1 : 0
    if (positionals.length > limit) {
      // Never echo the extra arguments: one of them could be a key typed in the wrong place.
      throw new UsageError(
        limit === 0
          ? `${commandName} takes no positional arguments (got ${positionals.length})`
          : `${commandName} takes at most one TICKET (got ${positionals.length})`,
      )
    }
    return await command.run(values, positionals[0], io)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    const message = error.message.replace(/\s*\n\s*/g, ' ').replace(/\.$/, '')
    io.stderr(`usersig: ${message} (see '${hint}')\n`)
    return EXIT.usage
  }
}

async function sign(values: Values, _ticket: string | undefined, io: CliIo): Promise<number> {
  const claims = {
    sdkAppId: integer(values, 'sdkappid'),
    userId: policyCheckedUserId(values),
    expire: integer(values, 'expire', DEFAULT_USERSIG_EXPIRE),
    now: integer(values, 'time', io.now()),
  }
  const key = loadKey(values, io, DEFAULT_KEY_ID)
  io.stdout(`${codec(() => signUserSig(claims, key))}\n`)
  return EXIT.ok
}

async function privateMapKey(
  values: Values,
  _ticket: string | undefined,
  io: CliIo,
): Promise<number> {
  const claims = {
    sdkAppId: integer(values, 'sdkappid'),
    userId: policyCheckedUserId(values),
    expire: integer(values, 'expire', DEFAULT_PRIVATE_MAP_KEY_EXPIRE),
    now: integer(values, 'time', io.now()),
    ...room(values),
    privileges: privileges(values),
  }
  const key = loadKey(values, io, DEFAULT_KEY_ID)
  io.stdout(`${codec(() => signPrivateMapKey(claims, key))}\n`)
  return EXIT.ok
}

async function verify(values: Values, ticketArg: string | undefined, io: CliIo): Promise<number> {
  const options: VerifyOptions = {
    sdkAppId: integer(values, 'sdkappid'),
    userId: required(values, 'user'),
    now: integer(values, 'now', io.now()),
    kind: oneOf(values, 'kind', ['usersig', 'privatemapkey', 'any'] as const, 'usersig'),
  }
  const key = loadKey(values, io, optional(values, 'key-id') ?? DEFAULT_KEY_ID)
  const ticket = await readTicket(ticketArg, io)
  const result = codec(() => verifyUserSig(ticket, [key], options))
  io.stdout(
    `${JSON.stringify({
      valid: result.valid,
      code: result.code,
      tencentErrorCode: result.tencentErrorCode,
      message: result.message,
      keyId: result.keyId,
      ticket: result.ticket === null ? null : ticketView(result.ticket),
      // as the service answers: what to do about it, on a failure only
      ...(result.valid ? {} : { hint: HINTS[result.code] }),
    })}\n`,
  )
  return result.valid ? EXIT.ok : EXIT.invalid
}

async function decode(_values: Values, ticketArg: string | undefined, io: CliIo): Promise<number> {
  const ticket = await readTicket(ticketArg, io)
  let decoded: DecodedTicket
  try {
    decoded = decodeUserSig(ticket)
  } catch (error) {
    if (!(error instanceof TicketError)) throw error
    const { code, tencentErrorCode } = error
    // As the debug page says it: which character, where, and how it usually gets there.
    const stray = ticket.length > MAX_TICKET_LENGTH ? null : strayCharacter(ticket)
    const message =
      stray === null
        ? error.message
        : `The ticket has a character outside ${ALPHABET_TEXT}: ${stray}`
    io.stdout(`${JSON.stringify({ code, tencentErrorCode, message, hint: HINTS[code] })}\n`)
    return EXIT.invalid
  }
  io.stdout(`${JSON.stringify(ticketView(decoded))}\n`)
  return EXIT.ok
}

/** parseArgs, strict, with its errors as one-line usage errors; an option given twice is refused. */
function parseCommandLine(
  args: readonly string[],
  options: Options,
): { values: Values; positionals: string[] } {
  checkOptionValues(args, options)
  let parsed
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
      tokens: true,
    })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /Unknown option '([^']*)'/.exec((error as Error).message)?.[1] ?? ''
      throw new UsageError(`unknown option ${shown(option)}`)
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new UsageError((error as Error).message)
    throw error
  }
  const seen = new Set<string>()
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue
    // parseArgs keeps the last of repeated options silently; an ambiguous command line is refused.
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once`)
    seen.add(token.name)
  }
  // No option is `multiple`, so no value is an array.
  return { values: parsed.values as Values, positionals: parsed.positionals }
}

/**
 * What parseArgs would refuse in its own words (`Option '--expire' argument is ambiguous. Did you
 * forget...`), refused first in ours: a missing value, a value that starts with a dash (`--expire
 * -5` gets what `--expire=-5` gets), a value given to a flag.
 */
function checkOptionValues(args: readonly string[], options: Options): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') return
    if (!arg.startsWith('--')) continue
    const equals = arg.indexOf('=')
    const name = arg.slice(2, equals === -1 ? undefined : equals)
    const type = Object.hasOwn(options, name) ? options[name]?.type : undefined
    if (type === 'boolean' && equals !== -1) throw new UsageError(`--${name} takes no value`)
    if (type !== 'string' || equals !== -1) continue
    const value = args[i + 1]
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    if (value.startsWith('-') && value !== '-') {
      // A negative number is a bad value; anything else, most likely the next option.
      if (INTEGER_OPTIONS.has(name) && /^-[0-9]/.test(value)) parseInteger(name, value)
      throw new UsageError(
        `--${name} needs a value (one that starts with a dash is written --${name}=VALUE)`,
      )
    }
    i++
  }
}

/** Names an unknown command or option in a message only when it looks like one, not like a secret. */
function shown(word: string): string {
  return /^-{0,2}[A-Za-z][A-Za-z-]{0,31}$/.test(word) ? `'${word}'` : '(not shown)'
}

function optional(values: Values, name: string): string | undefined {
  const value = values[name]
  if (value === '') throw new UsageError(`--${name} needs a value`)
  return typeof value === 'string' ? value : undefined
}

function required(values: Values, name: string): string {
  const value = optional(values, name)
  if (value === undefined) throw new UsageError(`missing --${name}`)
  return value
}

/**
 * A decimal integer option, digits only: "86400.0", "1e5", " 12", "+5" and "0x10" are refused
 * rather than coerced (the official Node library signs the raw text and a coerced number,
 * producing tickets that never verify). Ranges are the codec's to check.
 */
function integer(values: Values, name: string, fallback?: number): number {
  const text = fallback === undefined ? required(values, name) : optional(values, name)
  if (text === undefined) return fallback as number
  return parseInteger(name, text)
}

function parseInteger(name: string, text: string): number {
  const value = Number(text)
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--${name} must be a whole number written with the digits 0-9 only`)
  }
  return value
}

function oneOf<const T extends string>(
  values: Values,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = optional(values, name) ?? fallback
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of: ${allowed.join(', ')}`)
  }
  return value as T
}

/** The UserID to sign, checked against --user-id-policy (the codec itself signs any string). */
function policyCheckedUserId(values: Values): string {
  const userId = required(values, 'user')
  const policy: UserIdPolicy = oneOf(values, 'user-id-policy', USER_ID_POLICIES, 'strict')
  const problem = checkUserId(userId, policy)
  if (problem !== null) {
    throw new UsageError(
      policy === 'strict' ? `${problem}; --user-id-policy printable allows more` : problem,
    )
  }
  return userId
}

function room(values: Values): Room {
  const roomId = optional(values, 'room')
  const strRoomId = optional(values, 'str-room')
  if ((roomId === undefined) === (strRoomId === undefined)) {
    throw new UsageError('give exactly one of --room N or --str-room S')
  }
  return roomId !== undefined
    ? { roomId: parseInteger('room', roomId) }
    : { strRoomId: strRoomId as string }
}

function privileges(values: Values): number {
  const text = required(values, 'privileges')
  if (/^[0-9]+$/.test(text)) return codec(() => privilegeMap(parseInteger('privileges', text)))
  const names = text.split(',').map((name) => name.trim())
  if (names.includes('')) {
    throw new UsageError('--privileges must be a number 0-255 or a comma list of privilege names')
  }
  const unknown = names.find((name) => !Object.hasOwn(PRIVILEGES, name))
  if (unknown !== undefined) {
    throw new UsageError(
      `--privileges: unknown privilege ${shown(unknown)}; known: ${Object.keys(PRIVILEGES).join(', ')}`,
    )
  }
  return codec(() => privilegeMap(names as PrivilegeName[]))
}

/**
 * The secret from --key-file (trailing whitespace trimmed: files end in a newline) or from
 * USERSIG_KEY, refused by the service's rule in the service's words (at least 32 characters).
 * Messages name the source and the file's path, never the value, nor a "path" that looks like a
 * key typed in the wrong place.
 */
function loadKey(values: Values, io: CliIo, id: string): UserSigKey {
  const path = optional(values, 'key-file')
  let secret: string | undefined
  const file = path === undefined ? '' : `--key-file ${shownPath(path)}`
  if (path !== undefined) {
    let content: string
    try {
      content = io.readFile(path)
    } catch (error) {
      const reason = (error as { code?: unknown }).code
      throw new UsageError(`cannot read ${file}${typeof reason === 'string' ? ` (${reason})` : ''}`)
    }
    secret = content.trimEnd()
    if (secret === '') throw new UsageError(`${file} is empty`)
  } else {
    secret = io.env[KEY_ENV]
    if (secret === undefined || secret === '') {
      throw new UsageError(`no key: set ${KEY_ENV} or pass --key-file PATH`)
    }
  }
  const problem = checkSecret(secret)
  if (problem !== null) throw new UsageError(`${path === undefined ? KEY_ENV : file}: ${problem}`)
  const text = secret
  return codec(() => createUserSigKey(id, text))
}

/**
 * A path as messages show it: as given, unless it looks like a key rather than a path (32 or more
 * characters with no `/` and no `.`), which is never echoed.
 */
function shownPath(path: string): string {
  return path.length >= 32 && !/[/.]/.test(path)
    ? '(not shown: it looks like a key, not a path)'
    : path
}

/** The ticket argument, or standard input for `-` or none; surrounding whitespace is dropped. */
async function readTicket(ticketArg: string | undefined, io: CliIo): Promise<string> {
  return (ticketArg === undefined || ticketArg === '-' ? await io.stdin() : ticketArg).trim()
}

/** Codec TypeErrors name a bad value (roomId 0, an expiry past 2106...): usage errors here. */
function codec<T>(call: () => T): T {
  try {
    return call()
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message)
    throw error
  }
}

/** The decoded ticket, field by field: an allow-list, never a spread of the codec's object. */
function ticketView(ticket: DecodedTicket) {
  const pmk = ticket.privateMapKey
  return {
    version: ticket.version,
    userId: ticket.userId,
    sdkAppId: ticket.sdkAppId,
    issuedAt: ticket.issuedAt,
    expire: ticket.expire,
    expiresAt: ticket.expiresAt,
    userBuf: ticket.userBuf,
    privateMapKey:
      pmk === null
        ? null
        : {
            userId: pmk.userId,
            sdkAppId: pmk.sdkAppId,
            roomId: pmk.roomId,
            strRoomId: pmk.strRoomId,
            expiresAt: pmk.expiresAt,
            privileges: pmk.privileges,
            privilegeNames: pmk.privilegeNames,
            accountType: pmk.accountType,
          },
  }
}

// The usersig CLI's help texts: what `--help` prints, one per command, kept beside each other.
import { MIN_SECRET_LENGTH } from '../usersig/index.js'
import { DEFAULT_PRIVATE_MAP_KEY_EXPIRE, DEFAULT_USERSIG_EXPIRE } from './installed.js'

const KEY_SOURCE = `The secret key comes from the USERSIG_KEY environment variable, or from --key-file PATH
(trailing whitespace trimmed; it wins over USERSIG_KEY). As the service does, a key under ${MIN_SECRET_LENGTH}
characters is refused (the console key is 64). There is no --key option: a key on the command
line is visible to every user through \`ps\` and stays in shell history.`

export const TOP_HELP = `Usage: usersig <command> [options]

Issue, verify and inspect Tencent Cloud IM / TRTC tickets (TLSSigAPIv2 UserSig and PrivateMapKey).

Commands:
  sign              issue a UserSig
  private-map-key   issue a TRTC PrivateMapKey (room permission ticket)
  verify            check a ticket for a UserID and SDKAppID with a key
  decode            show what a ticket says, without a key and without checking it

${KEY_SOURCE}

Exit status: 0 done (verify: the ticket is valid), 1 the ticket is invalid, 2 usage error.
Run 'usersig <command> --help' for a command's options, 'usersig --version' for the version.
`

const USER_ID_POLICY = `  --user-id-policy P    which UserIDs to sign: strict (default; 1-32 of A-Z a-z 0-9 _ -)
                        or printable (1-32 printable ASCII characters, what the IM docs allow)`
const KEY_FILE = `  --key-file PATH       read the secret key from PATH instead of USERSIG_KEY`
const HELP = `  -h, --help            show this help`
const INTERNAL_ERROR = `  70  an internal error (a bug in usersig): one line on standard error`

export const COMMAND_HELP = {
  sign: `Usage: usersig sign --sdkappid N --user ID [--expire S] [--time T]

Issue a UserSig and print it alone on one line.

Options:
  --sdkappid N          the SDKAppID (1 to 4294967295)
  --user ID             the UserID the ticket is for
  --expire S            seconds of validity (default ${DEFAULT_USERSIG_EXPIRE}: ${DEFAULT_USERSIG_EXPIRE / 86_400} days, the service's
                        default for an app; Tencent suggests at least 24 hours)
  --time T              issue time, unix seconds (default: now)
${USER_ID_POLICY}
${KEY_FILE}
${HELP}

${KEY_SOURCE}
`,
  'private-map-key': `Usage: usersig private-map-key --sdkappid N --user ID [--expire S] (--room N | --str-room S)
                              --privileges P [--time T]

Issue a TRTC PrivateMapKey (the room permission ticket) and print it alone on one line.

Options:
  --sdkappid N          the SDKAppID (1 to 4294967295)
  --user ID             the UserID the ticket is for
  --expire S            seconds of validity (default ${DEFAULT_PRIVATE_MAP_KEY_EXPIRE}: the service's default, as
                        Tencent suggests)
  --room N              numeric room id (1 to 4294967295)
  --str-room S          string room id (1 to 64 UTF-8 bytes)
  --privileges P        a number 0-255 (255 = all) or a comma list of: createRoom, enterRoom,
                        sendAudio, receiveAudio, sendVideo, receiveVideo, sendSubStream,
                        receiveSubStream
  --time T              issue time, unix seconds (default: now)
${USER_ID_POLICY}
${KEY_FILE}
${HELP}

${KEY_SOURCE}
`,
  verify: `Usage: usersig verify --sdkappid N --user ID [--now T] [TICKET | -]

Verify a ticket (read from standard input when TICKET is - or omitted) and print one JSON object,
as the service's POST /usersig/verify answers: {"valid", "code", "tencentErrorCode", "message",
"keyId", "ticket"}, plus "hint" (what to do about it) when the ticket is invalid.

Options:
  --sdkappid N          the SDKAppID the ticket must be for
  --user ID             the UserID the ticket must be for
  --now T               the time to check expiry at, unix seconds (default: now)
  --kind K              usersig (default: a plain UserSig), privatemapkey, or any
  --key-id ID           the key's name reported as keyId (default: cli)
${KEY_FILE}
${HELP}

Exit status:
  0   the ticket is valid
  1   the ticket is not valid: the JSON says why ("code", "message", "hint")
  2   a usage error: one line on standard error, nothing on standard output
${INTERNAL_ERROR}

${KEY_SOURCE}
`,
  decode: `Usage: usersig decode [TICKET | -]

Print what a ticket says as one JSON object, without a key and without checking its signature
or expiry. TICKET is read from standard input when it is - or omitted. A ticket that does not
decode prints {"code", "tencentErrorCode", "message", "hint"}; the message tells a line break or
space (a wrapped copy), standard base64 and URL-encoding apart, with the position.

Options:
${HELP}

Exit status:
  0   the ticket decodes
  1   it does not: the JSON says why
  2   a usage error: one line on standard error, nothing on standard output
${INTERNAL_ERROR}
`,
} as const

export type CommandName = keyof typeof COMMAND_HELP

// The structured logger: pino, JSON lines on stdout. Log records are built from allow-listed
// fields; redaction is the second line of defence should a request, a body or a key ever be
// logged. Its paths are explicit (pino compiles them once): a wildcard path (`*.secret`) costs a
// scan of every line, an audit line per ticket included, and measured ~3 % of the CPU per
// POST /usersig.
import { pino, type DestinationStream, type Logger } from 'pino'

export type { Logger }

/** Every place a secret, a caller token or a ticket could sit in something logged by mistake. */
export const REDACTED_PATHS = [
  'secret',
  'token',
  'authorization',
  'userSig',
  'privateMapKey',
  'headers.authorization',
  'req.headers.authorization',
  'body.secret',
  'body.token',
  'body.userSig',
  'body.privateMapKey',
  'key.secret',
  'policy.jwt.secret',
  'config.policy.jwt.secret',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'usersig-service' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  )
}

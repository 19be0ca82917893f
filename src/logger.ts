// The structured logger: pino, JSON lines on stdout. Log records are built from allow-listed
// fields; redaction is the second line of defence should a request object ever be logged.
import { pino, type DestinationStream, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'usersig-service' },
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.secret',
          '*.token',
          '*.userSig',
          '*.privateMapKey',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  )
}

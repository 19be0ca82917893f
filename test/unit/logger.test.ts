// Redaction, the logger's second line of defence: each listed path is censored, wherever the
// code might one day log a request, a body or a key by mistake.
import { createLogger, REDACTED_PATHS } from '../../src/logger.js'

test.each(REDACTED_PATHS)('%s is logged as [redacted]', (path) => {
  const lines: string[] = []
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) })
  const value = `leak-${path}`
  const record: Record<string, unknown> = {}
  let at = record
  const parts = path.split('.')
  parts.slice(0, -1).forEach((part) => {
    at[part] = {}
    at = at[part] as Record<string, unknown>
  })
  at[parts.at(-1) as string] = value
  logger.info(record, 'm')

  expect(lines[0]).not.toContain(value)
  expect(lines[0]).toContain('[redacted]')
})

// openapi.yaml, the error tables, the routes, the docs and .env.example must say the same thing.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { createApp } from '../../src/app.js'
import { CONFIG_VARIABLES, loadConfig, WARNINGS } from '../../src/config/index.js'
import { ERRORS } from '../../src/errors.js'
import { createLogger } from '../../src/logger.js'
import { PRIVILEGES, TICKET_ERRORS } from '../../src/usersig/index.js'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
const spec = parse(read('openapi.yaml')) as {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
  components: { schemas: Record<string, { enum?: string[] }> }
}
/** Rows of the table that follows `heading` on a docs page: first and second cells. */
function tableAfter(page: string, heading: string): [string, string][] {
  const text = read(page)
  expect(text).toContain(heading)
  const section = text.slice(text.indexOf(heading))
  const rows = section.split('\n').filter((line) => /^\| `/.test(line))
  const end = section.split('\n').findIndex((line, i) => i > 2 && line.startsWith('#'))
  const within = section.split('\n').slice(0, end === -1 ? undefined : end)
  return rows
    .filter((row) => within.includes(row))
    .map((row) => row.split('|').map((cell) => cell.trim().replace(/`/g, '')))
    .map((cells) => [cells[1] as string, cells[2] as string])
}

describe('contract', () => {
  test('the spec enumerates exactly the error codes, ticket codes and privileges of the code', () => {
    expect(spec.components.schemas.ErrorCode?.enum).toEqual(Object.keys(ERRORS))
    expect(spec.components.schemas.TicketErrorCode?.enum).toEqual(Object.keys(TICKET_ERRORS))
    expect(spec.components.schemas.Privilege?.enum).toEqual(Object.keys(PRIVILEGES))
  })

  test('every route the app serves is in the spec, and every spec operation is served', () => {
    const app = createApp({ config: loadConfig({}), logger: createLogger('silent') })
    // the page's own assets (/docs/*, /debug/*) are files, not API operations
    const served = app.routes.filter((r) => !r.includes('/docs') && !r.startsWith('GET /debug/'))
    const specified = Object.entries(spec.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort()
    expect(served).toEqual(specified)
  })

  test('every error status a route can answer is documented on it', () => {
    const ticketRoutes = ['/usersig', '/usersig/verify', '/privatemapkey']
    for (const path of ticketRoutes) {
      const documented = Object.keys(spec.paths[path]?.post?.responses ?? {})
      for (const code of [
        'malformed_json',
        'invalid_request',
        'unauthorized',
        'forbidden',
        'payload_too_large',
        'unsupported_media_type',
      ] as const) {
        expect(documented).toContain(String(ERRORS[code].status))
      }
    }
  })

  test("docs/api.md's error tables equal the code's tables", () => {
    expect(tableAfter('docs/api.md', '### Request errors')).toEqual(
      Object.entries(ERRORS).map(([code, { status }]) => [code, String(status)]),
    )
    expect(tableAfter('docs/api.md', '### Ticket verdicts')).toEqual(
      Object.entries(TICKET_ERRORS).map(([code, { tencentErrorCode }]) => [
        code,
        String(tencentErrorCode ?? '-'),
      ]),
    )
  })

  test("docs/operations.md's warnings table lists every warning code, in the code's order", () => {
    const documented = tableAfter('docs/operations.md', '## Warnings').map(([code]) => code)
    expect(documented).toEqual(Object.keys(WARNINGS))
  })

  test('docs/configuration.md and .env.example list every configuration variable', () => {
    const documented = tableAfter('docs/configuration.md', '## Variables').map(([name]) => name)
    expect(documented.sort()).toEqual([...CONFIG_VARIABLES].sort())
    const example = read('.env.example')
    for (const name of CONFIG_VARIABLES) expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'))
  })
})

// Drift guard: the committed src/contract/schema.ts must equal what `npm run generate:contract` makes from openapi.yaml.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'
import { format, resolveConfig } from 'prettier'

const SPEC = new URL('../../openapi.yaml', import.meta.url)
const SCHEMA = fileURLToPath(new URL('../../src/contract/schema.ts', import.meta.url))

/** The generate script's two steps: the openapi-typescript CLI's output, then prettier --write. */
async function generate(): Promise<string> {
  // The CLI writes COMMENT_HEADER + astToString(openapiTS(spec, flags)); the flags must match the script's.
  // defaultNonNullable: false, or a request field with a default (verify's `kind`) would be required.
  const ast = await openapiTS(SPEC, { defaultNonNullable: false, silent: true })
  const raw = COMMENT_HEADER + astToString(ast)
  return format(raw, { ...(await resolveConfig(SCHEMA)), filepath: SCHEMA })
}

test('src/contract/schema.ts is up to date with openapi.yaml (run `npm run generate:contract`)', async () => {
  const [expected, committed] = await Promise.all([generate(), readFile(SCHEMA, 'utf8')])
  expect(committed).toBe(expected)
})

// `node --import ./module-log.mjs`: appends the URL of every module the process resolves (the
// ESM loader's resolve hook, which also sees dynamic import()) to the file $MODULE_LOG. Proves
// which modules a real process loads, e.g. that the OpenTelemetry SDK stays out when tracing is off.
import { register } from 'node:module'

const hooks = `
import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  appendFileSync(process.env.MODULE_LOG, resolved.url + '\\n')
  return resolved
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)

// GET /debug: the ticket debugger page (no inline script, so the pages' CSP holds). Its script,
// styles and pako are files under /debug/, served by the static trees (src/http/static-trees.ts).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Handler } from './routes.js'

export const PAGE_DIR = fileURLToPath(new URL('../../public/debug/', import.meta.url))

export function debugPage(): Handler<'debugPage', null> {
  let page: string | undefined
  return () => ({
    status: 200,
    contentType: 'text/html; charset=utf-8',
    text: (page ??= readFileSync(`${PAGE_DIR}index.html`, 'utf8')),
  })
}

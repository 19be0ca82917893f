// The trees of static files, the one place Express still serves: swagger-ui at /docs (with its
// own assets) and the debug page's assets under /debug/. The front door (server.ts) has already
// done everything cross-cutting (request id, headers, debug gate, methods, metrics) before these run.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import express, { Router } from 'express'
import { PAGE_DIR } from './debug-page.js'
import type { Mount } from './server.js'

// pako decodes tickets in the browser; served from the installed package, not a CDN. Resolved, not
// assumed under ./node_modules: installed as a dependency, npm hoists pako beside this package.
const PAKO = createRequire(import.meta.url)
  .resolve('pako')
  .replace(/pako\.cjs\.js$/, 'pako.mjs')

export function createStaticTrees(): Mount[] {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  // Rendered docs: swagger-ui's own files, no inline script, so the pages' CSP holds. swagger-ui
  // (~5 MB resident) is loaded on the first /docs request, not at start.
  let docs: Promise<Router> | undefined
  app.use('/docs', function renderedDocs(req, res, next) {
    docs ??= import('swagger-ui-express').then(({ default: swaggerUi }) =>
      Router().use(
        swaggerUi.serve,
        swaggerUi.setup(undefined, {
          customSiteTitle: 'usersig-service API',
          // The page's own origin: openapi.yaml's server is `/`, so "Try it out" calls whatever
          // host and port served the page.
          swaggerOptions: { url: '/openapi.yaml' },
        }),
      ),
    )
    docs.then((served) => served(req, res, next), next)
  })
  // The page is /debug; /debug/ (a tree's own spelling) is sent there, as /docs is sent to /docs/.
  app.get('/debug/', function debugPageWithSlash(_req, res) {
    res.redirect(301, '/debug')
  })
  app.get('/debug/pako.mjs', function pako(_req, res) {
    res.type('text/javascript').sendFile(PAKO)
  })
  app.use('/debug', express.static(PAGE_DIR, { index: false }))
  const handle = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) =>
    app(req as express.Request, res as express.Response, next)
  return [
    { prefix: '/docs', debugOnly: false, handle },
    { prefix: '/debug', debugOnly: true, handle },
  ]
}

// GET /debug: the ticket debugger page (static files, no inline script, so helmet's CSP holds).
import { fileURLToPath } from 'node:url'
import express, { Router, type RequestHandler } from 'express'
import type { Config } from '../config.js'
import { ServiceError } from '../errors.js'

const PAGE_DIR = fileURLToPath(new URL('../../public/debug/', import.meta.url))
// pako decodes tickets in the browser; served from the installed package, not a CDN.
const PAKO = fileURLToPath(new URL('../../node_modules/pako/dist/pako.mjs', import.meta.url))

/** 404 unless USERSIG_DEBUG_ENDPOINTS is on (POST /usersig/verify checks the same flag). */
const debugEndpointsGate: RequestHandler = function debugEndpointsGate(_req, res, next) {
  next((res.locals.config as Config).debugEndpoints ? undefined : new ServiceError('not_found'))
}

/** Served only while USERSIG_DEBUG_ENDPOINTS is on, like POST /usersig/verify. */
export function debugPageRouter(): Router {
  const router = Router()
  router.use('/debug', debugEndpointsGate)
  router.get('/debug', function debugPage(_req, res) {
    res.sendFile('index.html', { root: PAGE_DIR })
  })
  router.get('/debug/pako.mjs', function pako(_req, res) {
    res.type('text/javascript').sendFile(PAKO)
  })
  router.use('/debug', express.static(PAGE_DIR, { index: false, fallthrough: true }))
  return router
}

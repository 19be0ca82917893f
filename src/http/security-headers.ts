// The security headers, in two sets: one for the API's answers (JSON, problem+json, text), one
// for the HTML pages and their assets (/debug, /docs). Why each header is in its set:
// docs/architecture.md.
import helmet from 'helmet'

/**
 * On every API answer, written with the answer's head (no per-request work). A JSON API needs few:
 * what stops a browser that opens an answer from sniffing it into a page, running or framing it,
 * or handing it to another origin; and no cache anywhere keeping a ticket.
 */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
})

/**
 * helmet's defaults for the pages, run on the real response: scripts and styles from this origin
 * only, never framed (the debug page holds a caller token while it is open). No
 * `upgrade-insecure-requests`: on a plain-http address other than localhost it would send the
 * page's own scripts to an https:// origin that does not exist.
 */
export const pageHeaders = helmet({
  contentSecurityPolicy: {
    directives: { 'frame-ancestors': ["'none'"], 'upgrade-insecure-requests': null },
  },
  frameguard: { action: 'deny' },
})

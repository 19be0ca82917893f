import request from 'supertest'
import { buildApp } from '../helpers/http.js'

describe('GET /debug', () => {
  const { app } = buildApp()

  test('serves the page and its own script, styles and pako, under the strict CSP', async () => {
    const page = await request(app).get('/debug')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.text).toContain('<script type="module" src="/debug/app.js"></script>')
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/) // no inline script
    for (const [path, type] of [
      ['/debug/app.js', 'text/javascript'],
      ['/debug/decode.js', 'text/javascript'],
      ['/debug/api.js', 'text/javascript'],
      ['/debug/time.js', 'text/javascript'],
      ['/debug/style.css', 'text/css'],
      ['/debug/pako.mjs', 'text/javascript'],
    ] as const) {
      const res = await request(app).get(path)
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toContain(type)
    }
    expect((await request(app).get('/debug/../package.json')).status).toBe(404)
  })

  test('every module the page imports is its own, under /debug/, and served', async () => {
    const seen = new Set<string>()
    const queue = ['/debug/app.js']
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      if (seen.has(path)) continue
      seen.add(path)
      const res = await request(app).get(path)
      expect({ path, status: res.status }).toEqual({ path, status: 200 })
      if (path === '/debug/pako.mjs') continue // the installed package: it imports nothing
      for (const [, specifier] of res.text.matchAll(/^import [^'"]*['"]([^'"]+)['"]/gm)) {
        expect(specifier).toMatch(/^\/debug\/[\w-]+\.m?js$/)
        queue.push(specifier as string)
      }
    }
    expect([...seen].sort()).toEqual([
      '/debug/api.js',
      '/debug/app.js',
      '/debug/decode.js',
      '/debug/pako.mjs',
      '/debug/ticket-text.js',
      '/debug/time.js',
    ])
  })

  test('/debug/ (and /DEBUG/) is sent to the page, as /docs is sent to /docs/', async () => {
    for (const path of ['/debug/', '/DEBUG/', '/debug/?x=1']) {
      const res = await request(app).get(path)
      expect({ path, status: res.status, location: res.headers['location'] }).toEqual({
        path,
        status: 301,
        location: '/debug',
      })
    }
    const followed = await request(app).get('/debug/').redirects(1)
    expect(followed.status).toBe(200)
    expect(followed.text).toContain('<title>usersig-service: ticket debugger</title>')
  })

  test('the page links to the API reference, and the reference to the page', async () => {
    const page = await request(app).get('/debug')
    expect(page.text).toContain('<a id="docs-link" href="/docs/">API reference</a>')
    expect((await request(app).get('/docs/')).status).toBe(200)
    const contract = await request(app).get('/openapi.yaml')
    expect(contract.text).toContain('[ticket debugger page](/debug)')
  })

  test('answers 404 when the debug endpoints are off', async () => {
    const off = buildApp({ env: { USERSIG_DEBUG_ENDPOINTS: 'false' } })
    for (const path of ['/debug', '/debug/', '/debug/app.js', '/debug/pako.mjs']) {
      const res = await request(off.app).get(path)
      expect(res.status).toBe(404)
      expect(res.body.code).toBe('not_found')
    }
  })
})

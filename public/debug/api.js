// Calls the service with the caller token, and explains a refusal: what happened, where a token
// comes from, which scope and grant the action needs, and the request id to find it in the log.

/** Where a caller token comes from, for every 401 and for a missing token. */
export const TOKEN_SOURCES =
  'With nothing configured (the development default), the service prints a demo token on its ' +
  "terminal when it starts. In production, use your caller's token from its USERSIG_CLIENTS " +
  'entry, or a JWT from the identity provider the service trusts (USERSIG_JWT_*).'

/**
 * POSTs JSON with the bearer token. Resolves to `{ ok: true, body }`, or to `{ ok: false,
 * lines }`: sentences that say what went wrong and what to do, for the page to show.
 *
 * @param action `{ name, scope, sdkAppId }`: what the caller was doing, for the explanation.
 */
export async function post(path, token, body, action) {
  if (token === '') {
    return refused([
      'No caller token: paste one above.',
      `${capitalise(action.name)} needs the scope ${action.scope}.`,
      TOKEN_SOURCES,
    ])
  }
  let res
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  } catch {
    return refused([
      'The service could not be reached: is it still running, and is this page served by it?',
    ])
  }
  let answer = null
  try {
    answer = await res.json()
  } catch {
    // A proxy's HTML error page, or an empty body: said below by status alone.
  }
  if (res.ok && answer !== null) return { ok: true, body: answer }
  return refused(explain(res.status, answer, action))
}

const refused = (lines) => ({ ok: false, lines })
const capitalise = (text) => text[0].toUpperCase() + text.slice(1)

function explain(status, problem, action) {
  const code = typeof problem?.code === 'string' ? problem.code : null
  const said = problem?.detail ?? problem?.title
  const lines = []
  switch (status) {
    case 401:
      lines.push(
        '401: the service did not accept this caller token.',
        `${capitalise(action.name)} needs a token with the scope ${action.scope}.`,
        TOKEN_SOURCES,
      )
      break
    case 403:
      lines.push(
        `403: ${said ?? 'this caller may not do this.'}`,
        `${capitalise(action.name)} needs the scope ${action.scope} and a grant for SDKAppID ${action.sdkAppId}: ` +
          "add them to the caller's USERSIG_CLIENTS entry (scopes, apps), or to its JWT (scope, sdkappids).",
      )
      break
    case 404:
      lines.push(
        action.debugOnly
          ? `404: the debug endpoints are off on this service (USERSIG_DEBUG_ENDPOINTS), so ${action.name} is not available. ` +
              'Decoding still works in this page; to verify here, turn the debug endpoints on.'
          : `404: the service has no ${action.name} endpoint here. Is this page served by usersig-service?`,
      )
      break
    case 400:
      lines.push(`400: ${said ?? 'the request was refused.'}`)
      for (const error of Array.isArray(problem?.errors) ? problem.errors : []) {
        lines.push(`${error.field}: ${error.message}`)
      }
      break
    case 429:
      lines.push(
        `429: ${said ?? 'too many requests.'} This caller's per-minute limit is used up; retry in a minute.`,
      )
      break
    default:
      lines.push(
        said === undefined
          ? `${status}: the service answered without problem details (a proxy in between?).`
          : `${status}: ${said}`,
      )
  }
  if (code !== null && problem?.requestId) {
    lines.push(`Code ${code}, request id ${problem.requestId} (the service's log has it).`)
  }
  return lines
}

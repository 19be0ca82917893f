// openapi.yaml compiled with Ajv: what the ticket routes and the 405 answers are checked against.
import { compileContract } from '../../src/http/contract.js'

const contract = compileContract()
const issue = contract.operation('/usersig', 'POST')

test('every path and method of openapi.yaml is compiled, and nothing else', () => {
  expect(contract.methods('/usersig')).toEqual(['POST'])
  expect(contract.methods('/healthz')).toEqual(['GET'])
  expect(contract.methods('/nope')).toBeUndefined()
  expect(contract.operation('/usersig', 'GET')).toBeUndefined()
  expect(contract.operation('/readyz', 'GET')).toBeDefined()
})

test('a request body is checked strictly, naming each field as a JSON pointer', () => {
  expect(issue?.checkBody({ sdkAppId: 1_400_000_000, userId: 'alice' })).toBeNull()
  expect(issue?.checkBody({ sdkAppId: 1_400_000_000 })).toEqual([
    { field: '/userId', message: "must have required property 'userId'" },
  ])
  expect(issue?.checkBody({ sdkAppId: 1_400_000_000, userId: 'a', role: 'admin' })).toEqual([
    { field: '/role', message: 'must NOT have additional properties' },
  ])
  // no coercion: a numeric string stays a string
  expect(issue?.checkBody({ sdkAppId: '1400000000', userId: 'a' })).toEqual([
    { field: '/sdkAppId', message: 'must be integer' },
  ])
  expect(issue?.checkBody([])).toEqual([{ field: '/', message: 'must be object' }])
})

test('responses are checked against their status, and an undocumented status is named', () => {
  const ok = {
    userSig: 'eAE',
    sdkAppId: 1_400_000_000,
    userId: 'alice',
    expire: 86_400,
    issuedAt: 1_700_000_000,
    expiresAt: 1_700_086_400,
    keyId: 'k',
  }
  expect(issue?.checkResponse(200, 'application/json', ok)).toBeNull()
  expect(issue?.checkResponse(200, 'application/json', { ...ok, secret: 'x' })).toMatch(
    /additional properties/,
  )
  expect(issue?.checkResponse(200, 'application/json', { ...ok, keyId: undefined })).toMatch(
    /keyId/,
  )
  expect(issue?.checkResponse(418, 'application/json', ok)).toBe('status 418 is not documented')
  expect(issue?.checkResponse(200, 'text/html', '')).toBe(
    'text/html is not documented for status 200',
  )
  const problem = {
    type: 'urn:usersig-service:problem:unauthorized',
    title: 'A valid bearer token is required.',
    status: 401,
    code: 'unauthorized',
  }
  expect(issue?.checkResponse(401, 'application/problem+json', problem)).toBeNull()
  expect(issue?.checkResponse(401, 'application/problem+json', {})).toMatch(/required/)
})

test('problem+json bodies are checked against the Problem schema', () => {
  const problem = {
    type: 'urn:usersig-service:problem:not_found',
    title: 'No such resource.',
    status: 404,
    code: 'not_found',
  }
  expect(contract.checkProblem(problem)).toBeNull()
  expect(contract.checkProblem({ ...problem, code: 'teapot' })).toMatch(/allowed values/)
  expect(contract.checkProblem({ ...problem, type: 'not a uri' })).toMatch(/format "uri"/)
})

import { checkUserId } from '../../../src/usersig/index.js'

const STRICT = 'userId must be 1 to 32 characters of A-Z a-z 0-9 _ - (policy "strict")'
const PRINTABLE = 'userId must be 1 to 32 printable ASCII characters (policy "printable")'

describe('checkUserId', () => {
  test.each(['alice', 'A-Z_0-9', 'x', 'a'.repeat(32)])('strict accepts %p', (id) => {
    expect(checkUserId(id)).toBeNull()
    expect(checkUserId(id, 'printable')).toBeNull()
  })

  test.each(['a'.repeat(33), 'a b', 'a.b', 'a@b', 'é', '用户', 'a\n', 'a\u0000'])(
    'strict refuses %p',
    (id) => {
      expect(checkUserId(id)).toBe(STRICT)
    },
  )

  test.each(['a b', 'a.b@c!', '~ "quoted" ~', ' '])('printable accepts %p', (id) => {
    expect(checkUserId(id, 'printable')).toBeNull()
  })

  test.each(['a'.repeat(33), 'é', 'a\tb', 'a\u007f', '\u00a0'])('printable refuses %p', (id) => {
    expect(checkUserId(id, 'printable')).toBe(PRINTABLE)
  })

  test.each(['', 42, null, undefined])('both refuse a non-string or empty %p', (id) => {
    expect(checkUserId(id)).toBe('userId must be a non-empty string')
    expect(checkUserId(id, 'printable')).toBe('userId must be a non-empty string')
  })
})

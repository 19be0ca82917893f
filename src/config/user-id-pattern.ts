// A caller's user-id pattern: which UserIDs it may mint tickets for. A regular expression source,
// implicitly anchored (the whole UserID must match), matched by RE2JS, a port of RE2's engine:
// matching takes time linear in the UserID whatever the pattern, so no pattern can make a request
// slow. RE2 refuses what it cannot match in linear time (backreferences, lookaround), and what is
// not a regular expression at all: such a pattern is refused when it is loaded, with RE2's reason.
import { RE2JS, RE2JSException } from 're2js'

/** A longer pattern is refused: a grant should be readable at a glance. */
export const MAX_USER_ID_PATTERN_LENGTH = 200

export interface UserIdPattern {
  /** As configured (not anchored). */
  readonly source: string
  /** Whether the whole UserID matches. */
  matches(userId: string): boolean
}

/** The compiled pattern, or why `source` is refused (in words fit for a configuration message). */
export function compileUserIdPattern(
  source: unknown,
): { readonly pattern: UserIdPattern } | { readonly problem: string } {
  if (typeof source !== 'string' || source.length === 0)
    return { problem: 'must be a non-empty string (a regular expression)' }
  if (source.length > MAX_USER_ID_PATTERN_LENGTH)
    return { problem: `must be at most ${MAX_USER_ID_PATTERN_LENGTH} characters` }
  let compiled: RE2JS
  try {
    // Compiled as written, and anchored by matching the whole UserID (`matches`). Wrapped in
    // `(?:...)` first, an unbalanced `a)|(.*` compiled as `(?:a)|(.*)` and matched every UserID.
    compiled = RE2JS.compile(source)
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error
    return { problem: `does not compile: ${error.message}` }
  }
  return {
    pattern: Object.freeze({ source, matches: (userId: string) => compiled.matches(userId) }),
  }
}

// Which UserIDs an app accepts: a policy, separate from the codec that signs any string.

/**
 * `strict` (default): 1-32 bytes of `A-Z a-z 0-9 _ -`, as Tencent's IM and TRTC docs recommend.
 * `printable`: 1-32 bytes of printable ASCII (0x20-0x7e), what the IM docs allow at most.
 */
export type UserIdPolicy = 'strict' | 'printable'

export const USER_ID_POLICIES: readonly UserIdPolicy[] = ['strict', 'printable']

/** Tencent's limit on a UserID, in bytes. */
export const MAX_USER_ID_BYTES = 32

const PATTERNS: Record<UserIdPolicy, RegExp> = {
  strict: /^[A-Za-z0-9_-]{1,32}$/,
  printable: /^[\x20-\x7e]{1,32}$/,
}

/** Returns why `userId` breaks the policy, or null when it complies. Both policies are ASCII, so characters are bytes. */
export function checkUserId(userId: unknown, policy: UserIdPolicy = 'strict'): string | null {
  if (typeof userId !== 'string' || userId.length === 0) return 'userId must be a non-empty string'
  if (PATTERNS[policy].test(userId)) return null
  return policy === 'strict'
    ? `userId must be 1 to ${MAX_USER_ID_BYTES} characters of A-Z a-z 0-9 _ - (policy "strict")`
    : `userId must be 1 to ${MAX_USER_ID_BYTES} printable ASCII characters (policy "printable")`
}

// Why a ticket fails: stable codes, the Tencent error code a client would see, one message each.

/**
 * Every reason a ticket can fail, in the order verify reports them (docs/verdicts.md).
 * `tencentErrorCode` is what an IM/TRTC client would be told by Tencent's servers for the same
 * ticket, or `null` where Tencent would not reject it (checks this service makes on top of
 * Tencent's rules) or where what Tencent answers is not documented (`ticket_userbuf_mangled`).
 */
export const TICKET_ERRORS = {
  ticket_empty: { tencentErrorCode: 70002, message: 'The ticket is empty.' },
  ticket_malformed: {
    tencentErrorCode: 70003,
    message: 'The ticket could not be decoded (base64, zlib or JSON), or is truncated.',
  },
  ticket_version_unsupported: {
    tencentErrorCode: 70003,
    message: 'The ticket is not a TLSSigAPIv2 ("TLS.ver": "2.0") ticket.',
  },
  ticket_identifier_mismatch: {
    tencentErrorCode: 70013,
    message: 'The ticket was issued for another UserID.',
  },
  ticket_sdkappid_mismatch: {
    tencentErrorCode: 70014,
    message: 'The ticket was issued for another SDKAppID.',
  },
  ticket_expired: { tencentErrorCode: 70001, message: 'The ticket has expired.' },
  ticket_kind_mismatch: {
    tencentErrorCode: null,
    message:
      'The ticket is a PrivateMapKey where a plain UserSig was expected, or the other way round.',
  },
  ticket_signature_invalid: {
    tencentErrorCode: 70009,
    message: 'The ticket signature does not match any key of this SDKAppID.',
  },
  ticket_issued_in_future: {
    tencentErrorCode: null,
    message:
      'The ticket was issued further in the future than the allowed clock skew; check the issuer clock.',
  },
  ticket_userbuf_mangled: {
    tencentErrorCode: null,
    message:
      'The PrivateMapKey userbuf holds a non-ASCII UserID or string room as the low byte of each UTF-16 unit, not as UTF-8.',
  },
} as const satisfies Record<string, { tencentErrorCode: number | null; message: string }>

export type TicketErrorCode = keyof typeof TICKET_ERRORS

/** A ticket failed to decode or verify. `message` is safe to show: it never contains the ticket. */
export class TicketError extends Error {
  override readonly name = 'TicketError'
  readonly code: TicketErrorCode
  readonly tencentErrorCode: number | null

  constructor(code: TicketErrorCode, message: string = TICKET_ERRORS[code].message) {
    super(message)
    this.code = code
    this.tencentErrorCode = TICKET_ERRORS[code].tencentErrorCode
  }
}

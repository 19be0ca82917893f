// POST /usersig/verify: the codec's verdict on a ticket, with a hint; never the expected signature.
import { verifyUserSig, type TicketErrorCode } from '../usersig/index.js'
import { authorizedApp, type Caller } from './authenticate.js'
import type { Handler } from './routes.js'
import type { TicketDeps } from './tickets.js'

/** What a developer should do about each failure. */
export const HINTS: Record<TicketErrorCode, string> = {
  ticket_empty: 'Pass the userSig your server issued to login(userID, userSig).',
  ticket_malformed:
    'The ticket was cut, re-encoded or mangled on its way (URL-encoding, trimming, a copy that lost characters). Pass it byte for byte.',
  ticket_version_unsupported:
    "Issue a TLSSigAPIv2 ticket with the app's HMAC secret key; v1 (ECDSA, private key) tickets are no longer accepted.",
  ticket_identifier_mismatch:
    'Log in with the same UserID the ticket was issued for (IDs are case-sensitive).',
  ticket_sdkappid_mismatch: 'Initialise the SDK with the SDKAppID the ticket was issued for.',
  ticket_expired: 'Issue a fresh ticket; on onUserSigExpired, fetch a new one and log in again.',
  ticket_kind_mismatch: 'Use a UserSig for login(); a PrivateMapKey only goes with TRTC enterRoom.',
  ticket_signature_invalid:
    "The ticket was signed with another key: another SDKAppID's key, an old key removed by rotation, or a tampered ticket.",
  ticket_issued_in_future: "The issuer's clock is ahead; sync it with NTP.",
}

export function verifyTicket(deps: TicketDeps): Handler<'verifyUserSig', Caller> {
  return function verifyTicketHandler({ body, config, caller, requestId }) {
    const app = authorizedApp(caller, 'usersig:verify', body.sdkAppId, config)
    const verdict = verifyUserSig(body.userSig, app.keys, {
      sdkAppId: body.sdkAppId,
      userId: body.userId,
      now: deps.clock(),
      maxClockSkew: config.maxClockSkew,
      kind: body.kind ?? 'usersig',
    })
    deps.metrics.verified.inc({ sdkappid: String(app.sdkAppId), outcome: verdict.code ?? 'valid' })
    deps.logger.info(
      {
        requestId,
        client: caller.id,
        sdkAppId: app.sdkAppId,
        valid: verdict.valid,
        code: verdict.code,
        keyId: verdict.keyId,
      },
      'ticket verified',
    )
    return {
      status: 200,
      json: verdict.valid ? verdict : { ...verdict, hint: HINTS[verdict.code] },
    }
  }
}

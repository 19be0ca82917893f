// What a developer should do about each verdict: shown by POST /usersig/verify and `usersig verify`.
import type { TicketErrorCode } from './errors.js'

/** One hint per failure code, written for the developer whose client was refused. */
export const HINTS: Readonly<Record<TicketErrorCode, string>> = Object.freeze({
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
  ticket_userbuf_mangled:
    "The official Java and Node TLSSigAPIv2 libraries count a UserID's or room's characters and keep one byte of each, so non-ASCII ids come out wrong. Issue PrivateMapKeys with something that writes UTF-8 (this service's POST /privatemapkey, `usersig private-map-key`, signPrivateMapKey, or Tencent's Go or PHP library), or keep UserIDs and string rooms ASCII (A-Z a-z 0-9 _ -), as Tencent recommends.",
})

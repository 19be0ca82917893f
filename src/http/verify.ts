// POST /usersig/verify: the codec's verdict on a ticket, with a hint; never the expected signature.
import { HINTS, verifyUserSig } from '../usersig/index.js'
import { authorizedApp } from './authenticate.js'
import type { TicketDeps, TicketHandler } from './tickets.js'

interface VerifyBody {
  sdkAppId: number
  userId: string
  userSig: string
  kind?: 'usersig' | 'privatemapkey' | 'any'
}

export function verifyTicket(deps: TicketDeps): TicketHandler<VerifyBody> {
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
    return verdict.valid ? verdict : { ...verdict, hint: HINTS[verdict.code] }
  }
}

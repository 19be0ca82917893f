// POST /usersig/verify: the codec's verdict on a ticket, with a hint; never the expected signature.
import { HINTS, verifyUserSig } from '../usersig/index.js'
import { authorizedApp, type Caller } from './authenticate.js'
import type { Handler } from './routes.js'
import { auditedCaller, type TicketDeps } from './tickets.js'

export function verifyTicket(deps: TicketDeps): Handler<'verifyUserSig', Caller> {
  return function verifyTicketHandler(request) {
    const { body, config, caller } = request
    const app = authorizedApp(caller, 'usersig:verify', body.sdkAppId, config)
    const verdict = verifyUserSig(body.userSig, app.keys, {
      sdkAppId: body.sdkAppId,
      userId: body.userId,
      now: deps.clock(),
      maxClockSkew: config.process.maxClockSkew,
      kind: body.kind ?? 'usersig',
    })
    deps.metrics.verified.inc({ sdkappid: String(app.sdkAppId), outcome: verdict.code ?? 'valid' })
    deps.logger.info(
      {
        audit: 'ticket.verified',
        ...auditedCaller(request),
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

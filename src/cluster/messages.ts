// What the primary and its workers say to each other over node:cluster's IPC channel. Every
// message is an object with a `type` from here; anything else is ignored (rate-limiter-flexible's
// cluster counts share the channel with their own `channel` field).

/** worker -> primary: "the policy to serve, please" (a worker starting); answered with POLICY. */
export const POLICY_REQUEST = 'usersig:policy-request'
/** primary -> worker: the policy files to serve (the last good read), and its generation. */
export const POLICY = 'usersig:policy'
/** primary -> worker: "read your TLS pair again" (the primary got SIGHUP). */
export const RELOAD_TLS = 'usersig:reload-tls'
/** worker -> primary: "reload, please" (the worker got SIGHUP itself). */
export const RELOAD_REQUEST = 'usersig:reload-request'
/** worker -> primary: "the cluster's metrics, please"; primary -> worker: the text (or null). */
export const CLUSTER_METRICS_REQUEST = 'usersig:cluster-metrics-request'
export const CLUSTER_METRICS_REPLY = 'usersig:cluster-metrics-reply'
/** primary -> each worker: "your own metrics, please"; worker -> primary: its registry as JSON. */
export const OWN_METRICS_REQUEST = 'usersig:worker-metrics-request'
export const OWN_METRICS_REPLY = 'usersig:worker-metrics-reply'
/**
 * worker -> primary: "I listen now". node:cluster's own 'listening' event does not come for a
 * worker that listens on a socket of its own (reusePort), so the workers say it themselves.
 */
export const LISTENING = 'usersig:listening'
/** worker -> primary: "I cannot listen" (the port is taken, say), with the one line to print. */
export const LISTEN_FAILED = 'usersig:listen-failed'

/** A message as received: checked field by field before use. */
export interface Message {
  readonly type?: unknown
  readonly id?: unknown
  readonly text?: unknown
  readonly metrics?: unknown
  readonly files?: unknown
  readonly generation?: unknown
}

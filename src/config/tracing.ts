// Traces: OpenTelemetry's standard variables, checked here like every other variable (a malformed
// one refuses the start, naming it, never quoting it: a header may hold a collector's API key).
// The SDK then reads them itself, as the specification says; it loads only when an OTLP endpoint
// is set (src/tracing.ts).
import { makeExactValidator } from 'envalid'
import type { Findings } from './findings.js'
import type { Env } from './sources.js'
import { integer, readVariables } from './variables.js'

/** Where the spans go and how: what the start line says. The SDK reads the rest from the environment. */
export interface TracingSettings {
  /** OTLP over HTTP, as protobuf (the specification's default) or JSON. */
  readonly protocol: 'http/protobuf' | 'http/json'
  /** The collector's origin (scheme, host and port; never a path, user or password). */
  readonly collector: string
  readonly sampler: string
}

const SAMPLERS = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const

// Exact values, as the SDK reads them (OTEL_TRACES_SAMPLER=ALWAYS_ON would make it fall back).
const choice = <T extends string>(choices: readonly T[], hint = '') =>
  makeExactValidator<T>((input) => {
    if (!(choices as readonly string[]).includes(input))
      throw new Error(`must be one of ${choices.join(', ')}${hint}`)
    return input as T
  })

const ENDPOINT = makeExactValidator<URL>((input) => {
  const url = URL.canParse(input) ? new URL(input) : null
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new Error('must be an http:// or https:// URL, e.g. http://otel-collector:4318')
  return url
})

const PROTOCOL = choice(
  ['http/protobuf', 'http/json'],
  ' (grpc is not supported: use the collector port 4318 with one of these)',
)

/** W3C-baggage-like `key=value,key=value` lists, `,` and `=` percent-encoded, as the SDK parses them. */
const keyValues = (what: string, exactlyOneEquals: boolean) =>
  makeExactValidator<string>((input) => {
    for (const member of input.split(',')) {
      if (member.trim() === '') continue
      const equals = member.indexOf('=')
      const ok =
        equals > 0 &&
        member.slice(0, equals).trim() !== '' &&
        (!exactlyOneEquals || member.indexOf('=', equals + 1) === -1) &&
        decodes(member)
      if (!ok)
        throw new Error(
          `must be a comma-separated list of ${what}=value, with "," and "=" inside them percent-encoded`,
        )
    }
    return input
  })

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text)
    return true
  } catch {
    return false
  }
}

const RATIO = makeExactValidator<number>((input) => {
  const value = Number(input)
  if (!/^[0-9]*\.?[0-9]+$/.test(input) || value > 1)
    throw new Error('must be a probability from 0 to 1, e.g. 0.1')
  return value
})

const MILLISECONDS = integer(1, 600_000, 'must be a whole number of milliseconds from 1 to 600000')
const SPANS = integer(1, 1_000_000, 'must be a whole number of spans from 1 to 1000000')

const SPECS = {
  // Read by this service alone; the specification compares it ignoring case.
  OTEL_SDK_DISABLED: makeExactValidator<boolean>((input) => {
    if (!/^(true|false)$/i.test(input)) throw new Error('must be true or false')
    return input.toLowerCase() === 'true'
  })({ default: false }),
  OTEL_SERVICE_NAME: makeExactValidator<string>((input) => {
    if (input.length > 255) throw new Error('must be at most 255 characters')
    return input
  })({ default: undefined }),
  OTEL_RESOURCE_ATTRIBUTES: keyValues('key', true)({ default: undefined }),
  OTEL_TRACES_EXPORTER: choice(['otlp', 'none'], ' (otlp by default)')({ default: 'otlp' }),
  OTEL_TRACES_SAMPLER: choice(SAMPLERS)({ default: 'parentbased_always_on' }),
  OTEL_TRACES_SAMPLER_ARG: RATIO({ default: undefined }),
  OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT({ default: undefined }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ENDPOINT({ default: undefined }),
  OTEL_EXPORTER_OTLP_PROTOCOL: PROTOCOL({ default: undefined }),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: PROTOCOL({ default: undefined }),
  OTEL_EXPORTER_OTLP_HEADERS: keyValues('name', false)({ default: undefined }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValues('name', false)({ default: undefined }),
  OTEL_EXPORTER_OTLP_TIMEOUT: MILLISECONDS({ default: undefined }),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: MILLISECONDS({ default: undefined }),
  OTEL_EXPORTER_OTLP_COMPRESSION: choice(['gzip', 'none'])({ default: undefined }),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: choice(['gzip', 'none'])({ default: undefined }),
  OTEL_BSP_SCHEDULE_DELAY: integer(
    0,
    600_000,
    'must be a whole number of milliseconds from 0 to 600000',
  )({ default: undefined }),
  OTEL_BSP_EXPORT_TIMEOUT: MILLISECONDS({ default: undefined }),
  OTEL_BSP_MAX_QUEUE_SIZE: SPANS({ default: 2048 }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: SPANS({ default: 512 }),
}

/** The OpenTelemetry variables this service checks (docs/configuration.md lists them). */
export const TRACING_VARIABLES = Object.keys(SPECS)

/**
 * The trace export settings: null when no OTLP endpoint is set, or OTEL_SDK_DISABLED=true, or
 * OTEL_TRACES_EXPORTER=none (the SDK then never loads), or when a variable is wrong (recorded).
 */
export function readTracingSettings(env: Env, findings: Findings): TracingSettings | null {
  // The specification reads an empty value as unset; so does the SDK.
  const set: Record<string, string> = {}
  for (const name of TRACING_VARIABLES) {
    const value = env[name]?.trim()
    if (value) set[name] = value
  }
  const vars = readVariables(set, SPECS, findings)
  if (vars === null) return null
  if (vars.OTEL_BSP_MAX_EXPORT_BATCH_SIZE > vars.OTEL_BSP_MAX_QUEUE_SIZE) {
    findings.problem(
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must be at most OTEL_BSP_MAX_QUEUE_SIZE (2048 by default)',
    )
    return null
  }
  const endpoint = vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? vars.OTEL_EXPORTER_OTLP_ENDPOINT
  if (endpoint === undefined || vars.OTEL_SDK_DISABLED || vars.OTEL_TRACES_EXPORTER === 'none')
    return null
  return Object.freeze({
    protocol:
      vars.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
      vars.OTEL_EXPORTER_OTLP_PROTOCOL ??
      'http/protobuf',
    collector: endpoint.origin,
    sampler: vars.OTEL_TRACES_SAMPLER,
  })
}

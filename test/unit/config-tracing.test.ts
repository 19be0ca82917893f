// The OpenTelemetry variables: export is on only with an OTLP endpoint, and a malformed variable
// refuses the start, naming it and never quoting its value (a header may hold an API key).
import { randomBytes } from 'node:crypto'
import { ConfigError, loadConfig } from '../../src/config/index.js'

const devDefault = { NODE_ENV: 'development' }

function tracing(env: Record<string, string>) {
  return loadConfig({ ...devDefault, ...env }).process.tracing
}

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...devDefault, ...env })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    for (const value of Object.values(env)) {
      // A value is never quoted (short, fixed words such as "grpc" aside).
      if (value.length > 8) expect(error.message).not.toContain(value)
    }
    return [...error.problems]
  }
  return []
}

describe('tracing settings', () => {
  test('off without an OTLP endpoint, whatever else is set', () => {
    expect(tracing({})).toBeNull()
    expect(
      tracing({
        OTEL_SERVICE_NAME: 'tickets',
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      }),
    ).toBeNull()
    // The specification reads an empty value as unset.
    expect(
      tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ' ' }),
    ).toBeNull()
  })

  test('on with an endpoint: protobuf by default, the collector by its origin only', () => {
    expect(
      tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:pass@collector.example:4318/base' }),
    ).toEqual({
      protocol: 'http/protobuf',
      collector: 'https://collector.example:4318',
      sampler: 'parentbased_always_on',
    })
    expect(
      tracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).toEqual({
      protocol: 'http/json',
      collector: 'http://b:4318',
      sampler: 'parentbased_traceidratio',
    })
  })

  test('OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn export off', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }
    expect(tracing({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' })).toBeNull()
    expect(tracing({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBeNull()
    expect(tracing({ ...endpoint, OTEL_SDK_DISABLED: 'false' })).not.toBeNull()
  })

  test('a malformed endpoint refuses the start, naming the variable', () => {
    for (const value of [
      'tracing-host:4318',
      'not a url at all',
      'ftp://collector.example/traces',
    ]) {
      expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: value })).toEqual([
        'OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL, e.g. http://otel-collector:4318',
      ])
    }
    expect(problems({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '//collector/v1/traces' })).toEqual([
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must be an http:// or https:// URL, e.g. http://otel-collector:4318',
    ])
  })

  test('every other variable is checked, and every problem reported at once', () => {
    const key = randomBytes(24).toString('base64url')
    expect(
      problems({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_TRACES_SAMPLER: 'jaeger_remote',
        OTEL_TRACES_SAMPLER_ARG: '1.5',
        OTEL_EXPORTER_OTLP_HEADERS: `${key}`,
        OTEL_RESOURCE_ATTRIBUTES: `deployment=prod=eu,owner=${key}%zz`,
        OTEL_EXPORTER_OTLP_TIMEOUT: '10s',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli',
        OTEL_SDK_DISABLED: 'yes',
        OTEL_TRACES_EXPORTER: 'zipkin',
        OTEL_BSP_MAX_QUEUE_SIZE: '0',
      }),
    ).toEqual([
      'OTEL_SDK_DISABLED: must be true or false',
      'OTEL_RESOURCE_ATTRIBUTES: must be a comma-separated list of key=value, with "," and "=" inside them percent-encoded',
      'OTEL_TRACES_EXPORTER: must be one of otlp, none (otlp by default)',
      'OTEL_TRACES_SAMPLER: must be one of parentbased_always_on, parentbased_always_off, parentbased_traceidratio, always_on, always_off, traceidratio',
      'OTEL_TRACES_SAMPLER_ARG: must be a probability from 0 to 1, e.g. 0.1',
      'OTEL_EXPORTER_OTLP_PROTOCOL: must be one of http/protobuf, http/json (grpc is not supported: use the collector port 4318 with one of these)',
      'OTEL_EXPORTER_OTLP_HEADERS: must be a comma-separated list of name=value, with "," and "=" inside them percent-encoded',
      'OTEL_EXPORTER_OTLP_TIMEOUT: must be a whole number of milliseconds from 1 to 600000',
      'OTEL_EXPORTER_OTLP_COMPRESSION: must be one of gzip, none',
      'OTEL_BSP_MAX_QUEUE_SIZE: must be a whole number of spans from 1 to 1000000',
    ])
    expect(
      problems({ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512' }),
    ).toEqual([
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must be at most OTEL_BSP_MAX_QUEUE_SIZE (2048 by default)',
    ])
  })

  test('header and attribute lists as the SDK reads them: a value may hold "=" in a header', () => {
    expect(
      problems({
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Basic dXNlcjpwYXNz==,x-tenant=a%2Cb',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=ops%3Dblue',
      }),
    ).toEqual([])
  })
})

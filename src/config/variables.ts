// Scalar environment variables, checked with envalid: one report of every bad variable, in our
// words (never quoting a value), into the same findings as the documents'.
import { cleanEnv, makeExactValidator, type CleanedEnv } from 'envalid'
import type { Findings } from './findings.js'
import type { Env } from './sources.js'

/** Checks `specs` against `env`; null when any is wrong (each problem recorded by its variable). */
export function readVariables<S>(env: Env, specs: S, findings: Findings): CleanedEnv<S> | null {
  let failed = false
  const values = cleanEnv(env, specs, {
    reporter: ({ errors }) => {
      for (const [name, error] of Object.entries(errors)) {
        failed = true
        findings.problem(`${name}: ${error instanceof Error ? error.message : 'invalid'}`)
      }
    },
  })
  return failed ? null : values
}

/** An integer from `min` to `max`, written in decimal digits only; `message` says what is allowed. */
export function integer(min: number, max: number, message: string) {
  return makeExactValidator<number>((input) => {
    const value = Number(input)
    if (!/^[0-9]{1,16}$/.test(input) || !Number.isSafeInteger(value) || value < min || value > max)
      throw new Error(message)
    return value
  })
}

// The configuration in force. The process settings never change while the process runs; the
// policy is swapped atomically on reload, and each request reads one snapshot.
import type { Config, Policy, ProcessSettings } from './config/index.js'

/**
 * Holds the current Config and its generation (1 at start, +1 per successful reload). A request
 * takes `current` once, at its start, so it sees one whole policy even if a reload lands while it
 * runs. Only the policy can be swapped: the types keep the process settings as they started.
 */
export class LiveConfig {
  readonly process: ProcessSettings
  #current: Config
  #generation = 1
  readonly #listeners: ((config: Config, generation: number) => void)[] = []

  /** `generation`: where a worker starts, the one its cluster primary serves (1 otherwise). */
  constructor(initial: Config, generation = 1) {
    this.process = initial.process
    this.#current = initial
    this.#generation = generation
  }

  get current(): Config {
    return this.#current
  }

  get generation(): number {
    return this.#generation
  }

  /**
   * Puts `policy` in force for every request that starts from now on, as the next generation (or
   * as `generation`, the one a cluster primary gives its workers).
   */
  swap(policy: Policy, generation = this.#generation + 1): void {
    this.#current = Object.freeze({ process: this.process, policy })
    this.#generation = generation
    for (const listener of this.#listeners) listener(this.#current, this.#generation)
  }

  onSwap(listener: (config: Config, generation: number) => void): void {
    this.#listeners.push(listener)
  }
}

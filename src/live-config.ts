// The configuration in force, swapped atomically on reload; each request reads one snapshot.
import type { Config } from './config.js'

/**
 * Holds the current Config and its generation (1 at start, +1 per successful reload). A request
 * takes `current` once, at its start, so it sees one whole configuration even if a reload lands
 * while it runs.
 */
export class LiveConfig {
  #current: Config
  #generation = 1
  readonly #listeners: ((config: Config, generation: number) => void)[] = []

  constructor(initial: Config) {
    this.#current = initial
  }

  get current(): Config {
    return this.#current
  }

  get generation(): number {
    return this.#generation
  }

  /** Puts `next` in force for every request that starts from now on. */
  swap(next: Config): void {
    this.#current = next
    this.#generation += 1
    for (const listener of this.#listeners) listener(next, this.#generation)
  }

  onSwap(listener: (config: Config, generation: number) => void): void {
    this.#listeners.push(listener)
  }
}

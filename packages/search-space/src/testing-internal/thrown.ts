import { NasError } from '@nasjs/core'

/** Runs `fn` and returns the NasError it throws; throws if it returns or throws something else. */
export function thrown(fn: () => unknown): NasError {
  try {
    fn()
  } catch (e) {
    if (e instanceof NasError) return e
    throw new Error(`expected a NasError, got ${String(e)}`, { cause: e })
  }
  throw new Error('expected a NasError, but nothing was thrown')
}

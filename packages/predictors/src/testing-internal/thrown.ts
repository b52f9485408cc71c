/** Runs `fn` and returns what it throws, or `undefined` when it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}

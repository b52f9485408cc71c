import { NasError, formatAllowed } from '@nasjs/core'
import type { EncodingKind, SearchSpace } from '@nasjs/search-space'

/**
 * How architectures become feature rows: one or more encodings of the space, concatenated, followed
 * by optional extra features (params, FLOPs, zero-cost proxy scores, ...).
 * @since 0.1.0
 * @category models
 */
export interface FeaturizerOptions<A> {
  /**
   * Encoding(s) of the space; default `'onehot'`. Several are concatenated in the given order; none
   * (`[]`) when the rows are the `extra` features alone.
   */
  readonly encoding?: EncodingKind | readonly EncodingKind[]
  /** Extra numeric features of an architecture (a fixed number of finite values per architecture). */
  readonly extra?: (arch: A) => readonly number[]
}

/**
 * Turns architectures of a space into feature rows for the predictors.
 *
 * @example
 * ```ts
 * const toRow = createFeaturizer(nb201, { encoding: 'path', extra: (a) => [bench.query(a, 'cifar10').params] })
 * const X = archs.map(toRow)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function createFeaturizer<A>(
  space: SearchSpace<A>,
  opts: FeaturizerOptions<A> = {},
): (arch: A) => Float32Array {
  const kinds: readonly EncodingKind[] =
    opts.encoding === undefined
      ? ['onehot']
      : typeof opts.encoding === 'string'
        ? [opts.encoding]
        : opts.encoding
  if (kinds.length === 0 && opts.extra === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `at least one encoding is needed; ${space.id} supports ${formatAllowed(space.encodings)}`,
      value: kinds,
      allowed: space.encodings,
    })
  }
  for (const k of kinds) {
    if (!space.encodings.includes(k)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `space ${space.id} has no '${String(k)}' encoding; expected ${formatAllowed(space.encodings)}`,
        value: k,
        allowed: space.encodings,
      })
    }
  }
  const base = kinds.reduce((s, k) => s + space.encodingLength(k), 0)
  let extraLen: number | undefined
  return (arch: A) => {
    const extra = opts.extra ? opts.extra(arch) : []
    if (extraLen === undefined) extraLen = extra.length
    if (extra.length !== extraLen) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `extra features of ${space.format(arch)} have ${extra.length} values; earlier architectures had ${extraLen}`,
        value: extra.length,
        allowed: [extraLen],
      })
    }
    const out = new Float32Array(base + extra.length)
    let o = 0
    for (const k of kinds) {
      const e = space.encode(arch, k)
      out.set(e, o)
      o += e.length
    }
    for (let i = 0; i < extra.length; i++) {
      const v = extra[i]!
      if (!Number.isFinite(v)) {
        throw new NasError({
          code: 'INPUT_INVALID',
          message: `extra feature ${i} of ${space.format(arch)} is ${v}; extra features must be finite (impute missing values first)`,
          value: v,
          path: [i],
        })
      }
      out[o + i] = v
    }
    return out
  }
}

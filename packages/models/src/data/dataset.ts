import { NasError, Rng } from '@nasjs/core'

/**
 * A labelled dataset in memory: `n` examples of `shape` (images NHWC, e.g. `[28, 28, 1]`; feature
 * vectors `[F]`) in one flat `Float32Array`, and their class labels.
 * @since 0.1.0
 * @category data
 */
export interface Dataset {
  readonly name: string
  /** The shape of one example. */
  readonly shape: readonly number[]
  readonly classes: number
  /** `n * prod(shape)` values, example after example. */
  readonly x: Float32Array
  /** `n` labels in `[0, classes)`. */
  readonly y: Int32Array
  /** Names of the classes, when the source has them. */
  readonly classNames?: readonly string[]
  /** Where the examples came from (a file, a package), for results to record. */
  readonly source?: string
}

/** Values per example. */
export const exampleSize = (d: Pick<Dataset, 'shape'>): number => d.shape.reduce((p, s) => p * s, 1)

/**
 * The examples of `d` at `indices`, in that order.
 * @since 0.1.0
 * @category data
 */
export function subset(d: Dataset, indices: readonly number[], name = d.name): Dataset {
  const size = exampleSize(d)
  const x = new Float32Array(indices.length * size)
  const y = new Int32Array(indices.length)
  indices.forEach((i, k) => {
    x.set(d.x.subarray(i * size, (i + 1) * size), k * size)
    y[k] = d.y[i]!
  })
  return { ...d, name, x, y }
}

/** How many examples a split takes: a count, or a fraction of the dataset. */
export type SplitSize = number

/**
 * Options of {@link splitDataset}.
 * @since 0.1.0
 */
export interface SplitOptions {
  /** Validation examples: a count (integer >= 1) or a fraction in (0, 1). */
  readonly valid: SplitSize
  /** Test examples, as `valid` (default 0: no test split). */
  readonly test?: SplitSize
  /** At most this many training examples (default: all the rest). */
  readonly train?: number
  readonly seed: number
}

function countOf(what: string, s: SplitSize | undefined, n: number): number {
  if (s === undefined || s === 0) return 0
  if (s > 0 && s < 1) return Math.round(s * n)
  if (Number.isInteger(s) && s >= 1) return s
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `the ${what} split is a count (an integer >= 1) or a fraction in (0, 1), got ${s}`,
    value: s,
  })
}

/**
 * A seeded, stratified split into train, validation and test: each class is shuffled with the seed
 * and dealt out in proportion, so every split has the class balance of the whole. Same seed, same
 * split.
 * @since 0.1.0
 * @category data
 */
export function splitDataset(
  d: Dataset,
  opts: SplitOptions,
): { train: Dataset; valid: Dataset; test: Dataset } {
  const n = d.y.length
  const nValid = countOf('valid', opts.valid, n)
  const nTest = countOf('test', opts.test, n)
  if (nValid + nTest >= n) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `a split of ${nValid} validation and ${nTest} test examples leaves no training examples in the ${n} of '${d.name}'`,
      value: { valid: opts.valid, test: opts.test },
    })
  }
  const rng = new Rng(opts.seed)
  const byClass: number[][] = Array.from({ length: d.classes }, () => [])
  for (let i = 0; i < n; i++) byClass[d.y[i]!]!.push(i)
  // interleave the shuffled classes, so that any prefix keeps the class balance
  const queues = byClass.map((ids) => rng.shuffle(ids))
  const order: number[] = []
  const taken = queues.map(() => 0)
  for (let k = 0; k < n; k++) {
    // the class furthest behind its share goes next
    let best = -1
    let bestLag = -Infinity
    queues.forEach((q, c) => {
      if (taken[c]! >= q.length) return
      const lag = (k + 1) * (q.length / n) - taken[c]!
      if (lag > bestLag) {
        bestLag = lag
        best = c
      }
    })
    order.push(queues[best]![taken[best]!]!)
    taken[best]!++
  }
  const valid = order.slice(0, nValid)
  const test = order.slice(nValid, nValid + nTest)
  let train = order.slice(nValid + nTest)
  if (opts.train !== undefined) train = train.slice(0, countOf('train', opts.train, train.length))
  return {
    train: subset(d, train, `${d.name}/train`),
    valid: subset(d, valid, `${d.name}/valid`),
    test: subset(d, test, `${d.name}/test`),
  }
}

/**
 * Per-channel mean and standard deviation (the last axis of the example shape).
 * @since 0.1.0
 */
export interface ChannelStats {
  readonly mean: readonly number[]
  readonly std: readonly number[]
}

/**
 * Mean and standard deviation of each channel over `d` (compute them on the training split and
 * apply them to every split).
 * @since 0.1.0
 * @category data
 */
export function channelStats(d: Dataset): ChannelStats {
  const c = d.shape.at(-1) ?? 1
  const sum = new Float64Array(c)
  const sq = new Float64Array(c)
  for (let i = 0; i < d.x.length; i++) {
    const v = d.x[i]!
    sum[i % c]! += v
    sq[i % c]! += v * v
  }
  const count = d.x.length / c
  const mean = Array.from(sum, (s) => s / count)
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(s / count - mean[k]! ** 2, 0)) || 1)
  return { mean, std }
}

/**
 * `d` with every channel standardised by `stats`.
 * @since 0.1.0
 * @category data
 */
export function normalize(d: Dataset, stats: ChannelStats): Dataset {
  const c = stats.mean.length
  const x = new Float32Array(d.x.length)
  for (let i = 0; i < x.length; i++) x[i] = (d.x[i]! - stats.mean[i % c]!) / stats.std[i % c]!
  return { ...d, x }
}

/**
 * Options of {@link batches}.
 * @since 0.1.0
 */
export interface BatchOptions {
  readonly batchSize: number
  /** Shuffle the order with this seed (absent: the dataset's order). */
  readonly shuffleSeed?: number
  /** Augmentation of images (`[H, W, C]` examples), drawn from `shuffleSeed`'s generator. */
  readonly augment?: {
    /** Random crop: pad by this many zero pixels on each side, then crop back at a random offset. */
    readonly cropPadding?: number
    /** Flip left-right with probability 1/2. */
    readonly flip?: boolean
  }
}

/**
 * One batch as typed arrays (`xs`: `n * prod(shape)` values, `ys`: `n` labels). No tensors are made
 * here, so nothing can leak: the caller turns a batch into tensors inside `tf.tidy`.
 * @since 0.1.0
 */
export interface Batch {
  readonly n: number
  readonly xs: Float32Array
  readonly ys: Int32Array
}

function augmentInto(
  src: Float32Array,
  dst: Float32Array,
  [h, w, c]: readonly number[],
  pad: number,
  flip: boolean,
  rng: Rng,
): void {
  const dy = pad > 0 ? rng.int(2 * pad + 1) - pad : 0
  const dx = pad > 0 ? rng.int(2 * pad + 1) - pad : 0
  const mirror = flip && rng.bernoulli(0.5)
  for (let y = 0; y < h!; y++) {
    const sy = y + dy
    for (let x = 0; x < w!; x++) {
      const sx0 = x + dx
      const sx = mirror ? w! - 1 - sx0 : sx0
      for (let k = 0; k < c!; k++) {
        const inside = sy >= 0 && sy < h! && sx >= 0 && sx < w!
        dst[(y * w! + x) * c! + k] = inside ? src[(sy * w! + sx) * c! + k]! : 0
      }
    }
  }
}

/**
 * The dataset in batches of `batchSize` (the last one smaller), optionally shuffled and augmented
 * with a seed: same seed, same batches.
 * @since 0.1.0
 * @category data
 */
export function* batches(d: Dataset, opts: BatchOptions): Generator<Batch> {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `batchSize must be an integer >= 1, got ${String(opts.batchSize)}`,
      value: opts.batchSize,
    })
  }
  const aug = opts.augment
  const augmenting = aug !== undefined && ((aug.cropPadding ?? 0) > 0 || aug.flip === true)
  if (augmenting && d.shape.length !== 3) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `augmentation needs image examples [H, W, C]; '${d.name}' has examples of shape [${d.shape.join(', ')}]`,
      value: d.shape,
    })
  }
  const n = d.y.length
  const rng = new Rng(opts.shuffleSeed ?? 0)
  const order = Array.from({ length: n }, (_, i) => i)
  const ids = opts.shuffleSeed === undefined ? order : rng.shuffle(order)
  const size = exampleSize(d)
  for (let start = 0; start < n; start += opts.batchSize) {
    const part = ids.slice(start, start + opts.batchSize)
    const xs = new Float32Array(part.length * size)
    const ys = new Int32Array(part.length)
    part.forEach((i, k) => {
      const src = d.x.subarray(i * size, (i + 1) * size)
      if (augmenting)
        augmentInto(
          src,
          xs.subarray(k * size, (k + 1) * size),
          d.shape,
          aug.cropPadding ?? 0,
          aug.flip === true,
          rng,
        )
      else xs.set(src, k * size)
      ys[k] = d.y[i]!
    })
    yield { n: part.length, xs, ys }
  }
}

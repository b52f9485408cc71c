import { NasError } from '@nasjs/core'
import type { Dataset } from './dataset.js'

/**
 * The file types a folder of images may hold (case-insensitive); other files are ignored.
 * @since 0.1.0
 */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const

/**
 * One decoded image: its RGBA bytes, row after row.
 * @since 0.1.0
 */
export interface RgbaImage {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array | Uint8ClampedArray
}

/** Whether a file name has one of {@link IMAGE_EXTENSIONS}. */
export const isImageFile = (name: string): boolean => {
  const dot = name.lastIndexOf('.')
  return dot > 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(dot).toLowerCase())
}

/**
 * A dataset from labelled image files: the classes are the sorted distinct `className`s, files are
 * taken in the order given. Pixels are scaled to [0, 1]; the images are grey (1 channel) when every
 * pixel of every image has equal red, green and blue, else RGB (3 channels); alpha is dropped. Every
 * image must have the size of the first. `decode` turns a file into pixels (and throws a `NasError`
 * for one it cannot read). Errors name the file: no images is `DATA_MISSING`, an image of another
 * size `DATA_CORRUPT`, fewer than two classes with images `INPUT_INVALID`.
 * @internal shared by `datasetFromFolder` (Node) and {@link datasetFromImageFiles} (browser)
 */
export function datasetFromDecoded(
  where: string,
  classes: readonly string[],
  files: readonly { readonly file: string; readonly label: number }[],
  decode: (file: string, i: number) => RgbaImage,
  name: string,
): Dataset {
  if (files.length === 0) {
    throw new NasError({
      code: 'DATA_MISSING',
      message: `${where} has no images: expected one subfolder per class holding ${IMAGE_EXTENSIONS.join(', ')} files${classes.length > 0 ? ` (subfolders: ${classes.join(', ')})` : ''}`,
      value: where,
    })
  }
  const used = new Set(files.map((f) => f.label))
  if (used.size < 2) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${where} has images of ${used.size} class (${classes.filter((_, i) => used.has(i)).join(', ')}); a classifier needs at least two subfolders with images`,
      value: where,
    })
  }
  const images = files.map((f, i) => decode(f.file, i))
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
  // class names of the labels used: classes without images are left out, labels renumbered
  const kept = classes.filter((_, i) => used.has(i))
  const remap = new Map([...used].sort((a, b) => a - b).map((l, i) => [l, i]))
  return {
    name,
    shape: [height, width, channels],
    classes: kept.length,
    x,
    y: Int32Array.from(files.map((f) => remap.get(f.label)!)),
    classNames: kept,
    source: where,
  }
}

/**
 * An image file picked in a browser: its path relative to the chosen folder (a `File`'s
 * `webkitRelativePath`, e.g. `pets/cats/1.png`, or `cats/1.png`) and its bytes.
 * @since 0.1.0
 */
export interface ImageFileLike {
  readonly path: string
  readonly data: Blob
}

/** Decodes an image file with the browser's own decoder and a canvas, without colour management. */
async function canvasDecode(file: ImageFileLike): Promise<RgbaImage> {
  const g = globalThis as unknown as {
    createImageBitmap?: (b: Blob, o?: object) => Promise<{ width: number; height: number; close(): void }>
    OffscreenCanvas?: new (
      w: number,
      h: number,
    ) => {
      getContext(t: '2d'): {
        drawImage(i: unknown, x: number, y: number): void
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray }
      } | null
    }
  }
  if (g.createImageBitmap === undefined || g.OffscreenCanvas === undefined) {
    throw new NasError({
      code: 'BACKEND',
      message:
        'decoding images needs a browser (createImageBitmap and OffscreenCanvas); in Node use datasetFromFolder of @nasjs/models/node',
    })
  }
  let bitmap
  try {
    bitmap = await g.createImageBitmap(file.data, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' })
  } catch (e) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${file.path} is not a readable image: ${(e as Error).message}`,
      value: file.path,
    })
  }
  const { width, height } = bitmap
  const ctx = new g.OffscreenCanvas(width, height).getContext('2d')!
  ctx.drawImage(bitmap, 0, 0)
  bitmap.close()
  return { width, height, data: ctx.getImageData(0, 0, width, height).data }
}

/**
 * A dataset from image files a user picked in a browser (`<input type="file" webkitdirectory>` or a
 * dropped folder): one class per subfolder, as {@link ImageFileLike.path}s show them (with or without
 * the picked folder as their first part), PNG and JPEG decoded by the browser through a canvas.
 * Otherwise as `datasetFromFolder` of `@nasjs/models/node`: classes sorted by name, files sorted by
 * path, pixels in [0, 1], grey when every pixel is, one size for all, the same errors naming the file.
 *
 * @example
 * ```ts
 * const input = document.querySelector<HTMLInputElement>('input[webkitdirectory]')!
 * const data = await datasetFromImageFiles([...input.files!].map((f) => ({ path: f.webkitRelativePath, data: f })))
 * ```
 * @since 0.1.0
 * @category data
 */
export async function datasetFromImageFiles(
  files: readonly ImageFileLike[],
  options: { readonly name?: string; readonly decode?: (file: ImageFileLike) => Promise<RgbaImage> } = {},
): Promise<Dataset> {
  const parts = files
    .filter((f) => isImageFile(f.path) && !f.path.split('/').some((p) => p.startsWith('.')))
    .map((f) => ({ f, segments: f.path.split('/').filter(Boolean) }))
  // the picked folder's name, when every path starts with the same one above the class folders
  const first = parts[0]?.segments[0]
  const rooted = parts.length > 0 && parts.every((p) => p.segments.length >= 3 && p.segments[0] === first)
  const root = rooted ? first! : 'the chosen folder'
  const inClass = parts
    .map(({ f, segments }) => ({ f, segments: rooted ? segments.slice(1) : segments }))
    .filter((p) => p.segments.length === 2) // files directly in a class folder
    .sort((a, b) => (a.f.path < b.f.path ? -1 : a.f.path > b.f.path ? 1 : 0))
  const classes = [...new Set(inClass.map((p) => p.segments[0]!))].sort()
  const labelled = inClass.map((p) => ({ file: p.f.path, label: classes.indexOf(p.segments[0]!), data: p.f }))
  const decode = options.decode ?? canvasDecode
  const decoded = await Promise.all(labelled.map((l) => decode(l.data)))
  return datasetFromDecoded(
    root,
    classes,
    labelled,
    (_, i) => decoded[i]!,
    options.name ?? (rooted ? root : 'images'),
  )
}

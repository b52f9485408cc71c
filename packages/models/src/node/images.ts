import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { NasError } from '@nasjs/core'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import type { Dataset } from '../data/dataset.js'
import { IMAGE_EXTENSIONS, datasetFromDecoded, type RgbaImage } from '../data/images.js'

export { IMAGE_EXTENSIONS }

function decode(file: string): RgbaImage {
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
  return datasetFromDecoded(dir, classes, files, (file) => decode(file), name)
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { afterAll, describe, expect, it } from 'vitest'
import { loadDataset } from './datasets.js'
import { datasetFromImageFiles, type ImageFileLike, type RgbaImage } from '../data/images.js'
import { datasetFromFolder } from './images.js'

const root = mkdtempSync(join(tmpdir(), 'nas-images-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** An RGBA image whose pixel (x, y) is `f(x, y)` as [r, g, b]. */
function rgba(w: number, h: number, f: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = f(x, y)
      data.set([r, g, b, 255], (y * w + x) * 4)
    }
  return data
}
const png = (w: number, h: number, f: (x: number, y: number) => [number, number, number]) => {
  const p = new PNG({ width: w, height: h })
  p.data = rgba(w, h, f)
  return PNG.sync.write(p)
}
const jpg = (w: number, h: number, f: (x: number, y: number) => [number, number, number]) =>
  jpeg.encode({ width: w, height: h, data: rgba(w, h, f) }, 100).data

function folder(name: string, files: Record<string, Buffer | string>): string {
  const dir = join(root, name)
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), bytes)
  }
  return dir
}
const codeOf = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return e instanceof NasError ? `${e.code}: ${e.message}` : `not a NasError: ${String(e)}`
  }
  return 'no error'
}

describe('datasetFromFolder: one subfolder per class, PNG and JPEG', () => {
  it('reads grey PNGs as one channel in [0, 1], classes by sorted subfolder name', () => {
    const dir = folder('grey', {
      'b-cats/1.png': png(4, 4, (x) => [x * 60, x * 60, x * 60]),
      'b-cats/2.PNG': png(4, 4, () => [255, 255, 255]),
      'a-dogs/1.png': png(4, 4, () => [0, 0, 0]),
      'a-dogs/notes.txt': 'ignored',
      '.hidden/1.png': png(4, 4, () => [9, 9, 9]),
    })
    const d = datasetFromFolder(dir)
    expect(d.shape).toEqual([4, 4, 1])
    expect(d.classNames).toEqual(['a-dogs', 'b-cats'])
    expect(Array.from(d.y)).toEqual([0, 1, 1])
    expect(Array.from(d.x.subarray(16, 20))).toEqual([0, 60, 120, 180].map((v) => Math.fround(v / 255)))
    expect(Array.from(d.x.subarray(32))).toEqual(new Array(16).fill(1))
  })

  it('reads colour JPEGs (and PNGs) as three channels', () => {
    const dir = folder('colour', {
      'red/1.jpg': jpg(8, 8, () => [250, 10, 10]),
      'blue/1.jpeg': jpg(8, 8, () => [10, 10, 250]),
      'blue/2.png': png(8, 8, () => [0, 0, 255]),
    })
    const d = datasetFromFolder(dir)
    expect(d.shape).toEqual([8, 8, 3])
    expect(d.classNames).toEqual(['blue', 'red'])
    const red = d.x.subarray(2 * 192, 2 * 192 + 3)
    expect(red[0]!).toBeGreaterThan(0.9) // JPEG is lossy: close, not equal
    expect(red[2]!).toBeLessThan(0.1)
  })

  it('loadDataset({ folder }) splits and standardises it', async () => {
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 10; i++) {
      files[`dark/${i}.png`] = png(4, 4, () => [i, i, i])
      files[`light/${i}.png`] = png(4, 4, () => [200 + i, 200 + i, 200 + i])
    }
    const d = await loadDataset({ folder: folder('split', files) }, { valid: 4, test: 4, seed: 1 })
    expect([d.train.y.length, d.valid.y.length, d.test.y.length]).toEqual([12, 4, 4])
    expect(d.train.classNames).toEqual(['dark', 'light'])
  })

  it('bad folders: one NasError naming the file', () => {
    expect(codeOf(() => datasetFromFolder(join(root, 'nope')))).toMatch(
      /^DATA_MISSING: .*nope is not a folder/,
    )
    const empty = folder('empty', { 'cats/readme.txt': 'no images' })
    expect(codeOf(() => datasetFromFolder(empty))).toMatch(/^DATA_MISSING: .*has no images.*subfolders: cats/)
    const one = folder('one', { 'cats/1.png': png(2, 2, () => [1, 1, 1]) })
    expect(codeOf(() => datasetFromFolder(one))).toMatch(/^INPUT_INVALID: .*1 class \(cats\)/)
    const mixed = folder('mixed', {
      'a/1.png': png(4, 4, () => [1, 1, 1]),
      'b/2.png': png(5, 4, () => [1, 1, 1]),
    })
    expect(codeOf(() => datasetFromFolder(mixed))).toMatch(
      /^DATA_CORRUPT: .*b\/2\.png is 5x4, but the images are 4x4/,
    )
    const corrupt = folder('corrupt', {
      'a/1.png': png(4, 4, () => [1, 1, 1]),
      'b/2.png': Buffer.from('\x89PNG\r\n\x1a\nnot really a png'),
    })
    expect(codeOf(() => datasetFromFolder(corrupt))).toMatch(
      /^DATA_CORRUPT: .*b\/2\.png is not a readable PNG image/,
    )
  })
})

describe('datasetFromImageFiles (the browser form): picked files, one class per subfolder', () => {
  // the browser decodes with a canvas; here the same bytes go through pngjs, so the grouping,
  // ordering and errors can be checked against datasetFromFolder
  const decodePng = (f: ImageFileLike): Promise<RgbaImage> =>
    f.data.arrayBuffer().then((b) => {
      const p = PNG.sync.read(Buffer.from(b))
      return { width: p.width, height: p.height, data: p.data }
    })
  const files = {
    'b-cats/1.png': png(4, 4, (x) => [x * 60, 10, 200]),
    'b-cats/2.png': png(4, 4, () => [255, 255, 255]),
    'a-dogs/1.png': png(4, 4, (x, y) => [x * 50, y * 50, 7]),
    'a-dogs/notes.txt': 'ignored',
  }
  const picked = (prefix: string, fs: Record<string, Buffer | string>): ImageFileLike[] =>
    Object.entries(fs)
      .reverse() // the browser's order is not sorted
      .map(([rel, bytes]) => ({ path: `${prefix}${rel}`, data: new Blob([bytes]) }))

  it('gives the dataset datasetFromFolder gives for the same files, with or without the picked folder in the paths', async () => {
    const fromFolder = datasetFromFolder(folder('picked', files))
    for (const prefix of ['pets/', '']) {
      const d = await datasetFromImageFiles(picked(prefix, files), { decode: decodePng })
      expect(d.shape).toEqual(fromFolder.shape)
      expect(d.classNames).toEqual(fromFolder.classNames)
      expect([...d.y]).toEqual([...fromFolder.y])
      expect([...d.x]).toEqual([...fromFolder.x])
      expect(d.name).toBe(prefix === '' ? 'images' : 'pets')
    }
  })

  it('the same errors: no images, one class, mixed sizes, naming the file', async () => {
    const err = (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: unknown) => (e instanceof NasError ? `${e.code}: ${e.message}` : String(e)),
      )
    expect(await err(datasetFromImageFiles(picked('x/', { 'a/n.txt': 'x' }), { decode: decodePng }))).toMatch(
      /^DATA_MISSING/,
    )
    expect(
      await err(
        datasetFromImageFiles(picked('x/', { 'a/1.png': png(2, 2, () => [1, 1, 1]) }), { decode: decodePng }),
      ),
    ).toMatch(/^INPUT_INVALID: .*1 class \(a\)/)
    const mixed = { 'a/1.png': png(2, 2, () => [1, 1, 1]), 'b/2.png': png(3, 2, () => [1, 1, 1]) }
    expect(await err(datasetFromImageFiles(picked('x/', mixed), { decode: decodePng }))).toMatch(
      /^DATA_CORRUPT: x\/b\/2.png is 3x2/,
    )
    // without a browser the default decoder says what it needs
    expect(await err(datasetFromImageFiles(picked('x/', files)))).toMatch(/^BACKEND: .*createImageBitmap/)
  })
})

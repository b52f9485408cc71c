import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { chromium as chromiumBrowser } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'

/**
 * `datasetFromImageFiles` of `@nasjs/models` decodes images with the browser's canvas; this runs it
 * in Debian's Chromium (headless; `.ci/run` installs it) on PNG and JPEG files and compares the
 * dataset with `datasetFromFolder`'s pure-JavaScript decoding of the same files in Node.
 */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const models = join(repo, 'packages', 'models')
const work = mkdtempSync(join(tmpdir(), 'nas-browser-images-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const chromium = ['chromium', 'chromium-browser', 'google-chrome']
  .map((c) => spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim())
  .find((path) => path !== '')

describe('image folders in the browser', () => {
  it('Chromium decodes picked PNG and JPEG files to the dataset datasetFromFolder reads in Node', async () => {
    expect(chromium, 'Chromium is needed (apt-get install chromium; .ci/run installs it)').toBeDefined()
    // the images, written as a folder for Node and embedded in the page for the browser
    const { PNG } = (await import(
      pathToFileURL(join(models, 'node_modules', 'pngjs', 'lib', 'png.js')).href
    )) as {
      PNG: {
        new (o: { width: number; height: number }): { data: Buffer }
        sync: { write(p: unknown): Buffer }
      }
    }
    const image = (w: number, h: number, f: (x: number, y: number) => [number, number, number]) => {
      const p = new PNG({ width: w, height: h })
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) p.data.set([...f(x, y), 255], (y * w + x) * 4)
      return PNG.sync.write(p)
    }
    const { default: jpeg } = (await import(
      pathToFileURL(join(models, 'node_modules', 'jpeg-js', 'index.js')).href
    )) as {
      default: { encode(i: { width: number; height: number; data: Buffer }, q: number): { data: Buffer } }
    }
    const rgba = Buffer.alloc(5 * 4 * 4)
    for (let i = 0; i < 20; i++) rgba.set([i * 12, 100, 255 - i * 12, 255], i * 4)
    const files: Record<string, Buffer> = {
      'birds/1.jpg': jpeg.encode({ width: 5, height: 4, data: rgba }, 100).data,
      'cats/1.png': image(5, 4, (x, y) => [x * 50, y * 60, 200]),
      'cats/2.png': image(5, 4, () => [255, 0, 17]),
      'dogs/1.png': image(5, 4, (x, y) => [(x * y * 13) % 256, 3, 90]),
      'dogs/2.png': image(5, 4, (x) => [0, x * 40, 255 - x * 40]),
    }
    for (const [rel, bytes] of Object.entries(files)) {
      const [cls] = rel.split('/')
      spawnSync('mkdir', ['-p', join(work, 'pets', cls!)])
      writeFileSync(join(work, 'pets', rel), bytes)
    }
    const { datasetFromFolder } = await import('@nasjs/models/node')
    const expected = datasetFromFolder(join(work, 'pets'))

    const entry = `
      import { datasetFromImageFiles } from '@nasjs/models'
      const files = ${JSON.stringify(Object.entries(files).map(([rel, b]) => [rel, b.toString('base64')]))}
      const picked = files.map(([rel, b64]) => ({
        path: 'pets/' + rel,
        data: new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: rel.endsWith('.jpg') ? 'image/jpeg' : 'image/png' }),
      }))
      datasetFromImageFiles(picked).then(
        (d) => { document.getElementById('out').textContent = JSON.stringify({ shape: d.shape, classNames: d.classNames, y: [...d.y], x: [...d.x], name: d.name }) },
        (e) => { document.getElementById('out').textContent = JSON.stringify({ error: String(e && e.message || e) }) },
      )`
    const bundle = await build({
      stdin: { contents: entry, resolveDir: models, loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      conditions: ['@nasjs/source'],
      write: false,
      logLevel: 'silent',
    })
    const page = join(work, 'page.html')
    writeFileSync(
      page,
      `<!doctype html><html><body><pre id="out">pending</pre><script>${bundle.outputFiles[0]!.text}</script></body></html>`,
    )
    // Playwright drives the browser and waits for the page's answer: a DOM dump after a fixed
    // virtual-time budget raced the browser's image decoding, which runs on real time
    const browser = await chromiumBrowser.launch({
      executablePath: chromium!,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    })
    let text: string
    try {
      const tab = await browser.newPage()
      await tab.goto(pathToFileURL(page).href)
      await tab.waitForFunction("document.getElementById('out').textContent !== 'pending'", undefined, {
        timeout: 120_000,
      })
      text = (await tab.textContent('#out')) ?? ''
    } finally {
      await browser.close()
    }
    const got = JSON.parse(text) as {
      shape: number[]
      classNames: string[]
      y: number[]
      x: number[]
      name: string
      error?: string
    }
    expect(got.error).toBeUndefined()
    expect(got.shape).toEqual(expected.shape)
    expect(got.classNames).toEqual(expected.classNames)
    expect(got.y).toEqual([...expected.y])
    expect(got.name).toBe('pets')
    // the canvas gives a PNG's bytes exactly (no colour management, no premultiplied alpha); JPEG
    // decoders may round differently (Chromium's libjpeg against jpeg-js), by a few levels at most
    const size = expected.shape.reduce((p, d) => p * d, 1)
    const names = Object.keys(files).sort()
    names.forEach((name, i) => {
      const ours = got.x.slice(i * size, (i + 1) * size)
      const theirs = [...expected.x.slice(i * size, (i + 1) * size)]
      const diff = Math.max(...ours.map((v, k) => Math.abs(v - theirs[k]!)))
      expect(diff, name).toBeLessThanOrEqual(name.endsWith('.png') ? 0 : 4 / 255)
    })
  }, 180_000)
})

import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { dataDir, dataFiles, dataUrl, verifyData } from './node.js'

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort()
}

// The workspace's reference copy of the tables (present in the repository's CI, absent for users).
const shared = fileURLToPath(new URL('../../../../shared/data/', import.meta.url))

describe('@nasjs/benchmark-data', () => {
  it('ships exactly the files of the manifest, each with its size and SHA-256', () => {
    expect(filesBelow(dataDir())).toEqual(dataFiles.map((f) => f.path).sort())
    for (const f of dataFiles) {
      const file = join(dataDir(), f.path)
      expect(readFileSync(file).length, f.path).toBe(f.bytes)
      expect(sha256(file), f.path).toBe(f.sha256)
    }
    expect(verifyData()).toEqual([])
  })

  it('SHA256SUMS lists the same sums as the manifest', () => {
    const sums = readFileSync(fileURLToPath(new URL('../SHA256SUMS', import.meta.url)), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [sum, path] = l.split(/\s+/)
        return { path, sha256: sum }
      })
    expect(sums).toEqual(dataFiles.map((f) => ({ path: f.path, sha256: f.sha256 })))
  })

  it('equals the reference tables byte for byte, and holds every one of them', () => {
    // only the repository's CI (and its developers) have ../shared beside the checkout; CI must find it
    const present = existsSync(shared)
    expect(present || process.env.CI !== 'true', `${shared} is missing in CI`).toBe(true)
    if (!present) return
    const reference = ['nb201', 'fbnet', 'quantization', 'images'].flatMap((d) =>
      filesBelow(join(shared, d)).map((f) => `${d}/${f}`),
    )
    expect(dataFiles.map((f) => f.path).sort()).toEqual(reference.sort())
    for (const f of dataFiles) expect(sha256(join(shared, f.path)), f.path).toBe(f.sha256)
  })

  it('names a changed or missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nasjs-data-'))
    try {
      cpSync(dataDir(), dir, { recursive: true })
      const [changed, removed] = [dataFiles[1]!, dataFiles[2]!]
      const bytes = readFileSync(join(dir, changed.path))
      bytes[100] = bytes[100]! ^ 1
      writeFileSync(join(dir, changed.path), bytes)
      rmSync(join(dir, removed.path))
      expect(verifyData(dir)).toEqual([
        { path: changed.path, found: sha256(join(dir, changed.path)), expected: changed.sha256 },
        { path: removed.path, found: 'missing', expected: removed.sha256 },
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the data URL points at the data folder, and every table has a credit and a licence', () => {
    expect(fileURLToPath(dataUrl())).toBe(dataDir())
    for (const f of dataFiles) {
      expect(f.credit.length).toBeGreaterThan(5)
      expect(f.licence.length).toBeGreaterThan(2)
    }
  })
})

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'

import { isNasError, type NasError } from '@nasjs/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { locateDataFile } from '../data/data-dir.js'
import { NB201_FILES, loadNb201, tryLoadNb201 } from './nb201.js'

const ALL = [NB201_FILES.master, ...Object.values(NB201_FILES.hw), NB201_FILES.help]

let root: string
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nasjs-nb201-'))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

/** A temp data dir with every NB201 file copied, then `mutate` applied to one of them. */
function dataDirWith(name: string, file: string, mutate: (csv: Buffer) => Buffer): string {
  const dir = join(root, name)
  mkdirSync(join(dir, 'nb201'), { recursive: true })
  for (const rel of ALL) {
    const src = locateDataFile(rel)
    if (rel === file) writeFileSync(join(dir, rel), mutate(readFileSync(src)))
    else copyFileSync(src, join(dir, rel))
  }
  return dir
}

const editCsv = (edit: (text: string) => string) => (gz: Buffer) =>
  gzipSync(Buffer.from(edit(gunzipSync(gz).toString('utf8')), 'utf8'))

function loadError(dataDir: string): NasError {
  try {
    loadNb201({ dataDir, cache: false, binaryCache: false })
  } catch (e) {
    if (isNasError(e)) return e
    throw e
  }
  throw new Error('loadNb201 did not fail')
}

describe('loadNb201 with missing or corrupt files', () => {
  it('names the file and every path tried when a file is missing', () => {
    const dir = join(root, 'empty')
    mkdirSync(dir, { recursive: true })
    const e = loadError(dir)
    expect(e.code).toBe('DATA_MISSING')
    expect(e.message).toContain('nb201/nb201_master.csv.gz')
    expect(e.message).toContain(join(dir, 'nb201/nb201_master.csv.gz'))
    expect(e.path).toEqual([join(dir, 'nb201/nb201_master.csv.gz')])
  })

  it('returns the error as a Left from tryLoadNb201', () => {
    const r = tryLoadNb201({ dataDir: join(root, 'nothing-here'), cache: false })
    expect(r._tag).toBe('Left')
    expect(r._tag === 'Left' && r.left.code).toBe('DATA_MISSING')
    expect(tryLoadNb201()._tag).toBe('Right')
  })

  it('tries NASJS_DATA_DIR, then ../shared/data beside the workspace root', () => {
    const before = process.env['NASJS_DATA_DIR']
    process.env['NASJS_DATA_DIR'] = join(root, 'nowhere')
    try {
      const path = locateDataFile(NB201_FILES.master)
      expect(path).toMatch(/shared[/\\]data[/\\]nb201[/\\]nb201_master\.csv\.gz$/)
      expect(() => locateDataFile('nb201/absent.csv.gz')).toThrow(
        /nowhere[/\\]nb201[/\\]absent\.csv\.gz.*shared[/\\]data/s,
      )
    } finally {
      if (before === undefined) delete process.env['NASJS_DATA_DIR']
      else process.env['NASJS_DATA_DIR'] = before
    }
  })

  it('rejects a bad gzip stream', () => {
    const dir = dataDirWith('badgz', NB201_FILES.hw.cifar100, (gz) => gz.subarray(0, gz.length >> 1))
    const e = loadError(dir)
    expect(e.code).toBe('DATA_CORRUPT')
    expect(e.message).toContain(join(dir, NB201_FILES.hw.cifar100))
    expect(e.message).toMatch(/not a valid gzip stream/)
  })

  it('rejects a missing column', () => {
    const dir = dataDirWith(
      'nocol',
      NB201_FILES.master,
      editCsv((t) => t.replace('test_acc_cifar100', 'test_acc_c100')),
    )
    const e = loadError(dir)
    expect(e.code).toBe('DATA_CORRUPT')
    expect(e.message).toMatch(/missing column 'test_acc_cifar100'/)
    expect(e.message).toContain(join(dir, NB201_FILES.master))
  })

  it('rejects a wrong row count', () => {
    const dir = dataDirWith(
      'rows',
      NB201_FILES.help,
      editCsv((t) => t.trimEnd().split('\n').slice(0, -1).join('\n') + '\n'),
    )
    const e = loadError(dir)
    expect(e.code).toBe('DATA_CORRUPT')
    expect(e.message).toMatch(/15624 data rows; expected 15625 \(wrong row count\)/)
    expect(e.message).toContain(join(dir, NB201_FILES.help))
  })

  it('rejects a non-numeric value and rows of HW-NAS-Bench that do not match the master table', () => {
    const dir = dataDirWith(
      'nan',
      NB201_FILES.hw.cifar10,
      editCsv((t) => t.replace(/\n("\([^"]*\)"),[^,]*,/, '\n$1,abc,')),
    )
    expect(loadError(dir).message).toMatch(/row 1, column 'edgegpu_latency': 'abc' is not a number/)
    const dir2 = dataDirWith(
      'swap',
      NB201_FILES.hw['imagenet16-120'],
      editCsv((t) => t.replace('"(4, 3, 3, 0, 0, 0)"', '"(4, 3, 3, 0, 0, 1)"')),
    )
    expect(loadError(dir2).message).toMatch(/row 1: net \(4, 3, 3, 0, 0, 1\) is not NB201 index 0/)
  })
})

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'

import { isNasError, type NasError } from '@nasjs/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { NB201_FILES } from '../nb201/nb201.js'
import { locateDataFile } from './data-dir.js'
import { loadNb201 } from './nb201.js'

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
  it('names the directory and the file when a file is missing', () => {
    const dir = join(root, 'empty')
    mkdirSync(dir, { recursive: true })
    const e = loadError(dir)
    expect(e.code).toBe('DATA_MISSING')
    expect(e.message).toContain(
      `'nb201/nb201_master.csv.gz' not found; tried ${join(dir, 'nb201/nb201_master.csv.gz')}`,
    )
    expect(e.message).toContain(`it is missing from the data directory '${dir}'`)
    expect(e.path).toEqual([join(dir, 'nb201/nb201_master.csv.gz')])
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

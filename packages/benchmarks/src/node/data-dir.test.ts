import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import { isNasError, type NasError } from '@nasjs/core'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

import { FBNET_FILE } from '../fbnet/fbnet.js'
import { NB201_FILES } from '../nb201/nb201.js'
import { NB201_ZC_FILES } from '../nb201/zero-cost.js'
import { thrown } from '../testing-internal/thrown.js'
import { defaultDataDirCandidates, findWorkspaceRoot, locateDataFile, resolveDataDir } from './data-dir.js'
import { loadFbnet } from './fbnet.js'
import { loadNb201 } from './nb201.js'
import { loadNb201ZeroCost } from './zero-cost.js'

// The future @nasjs/benchmark-data package: absent unless a test says where it is.
const pkg = vi.hoisted(() => ({ dir: undefined as string | undefined }))
vi.mock('./benchmark-data-package.js', () => ({ benchmarkDataPackageDir: () => pkg.dir }))

const NB201 = [NB201_FILES.master, ...Object.values(NB201_FILES.hw), NB201_FILES.help]
const SHARED = resolve(findWorkspaceRoot(process.cwd())!, '..', 'shared', 'data')

let root: string
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nasjs-datadir-'))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})
afterEach(() => {
  vi.unstubAllEnvs()
  pkg.dir = undefined
})

/** A fresh directory under the temp root holding copies of `files` (paths relative to the data dir). */
function dirWith(name: string, files: readonly string[]): string {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  for (const rel of files) {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    copyFileSync(join(SHARED, rel), join(dir, rel))
  }
  return dir
}

const load =
  (opts: { dataDir?: string } = {}) =>
  () =>
    loadNb201({ ...opts, cache: false, binaryCache: false })

function missing(fn: () => unknown): NasError {
  const e = thrown(fn)
  if (!isNasError(e)) throw new Error(`expected a NasError, got ${String(e)}`)
  expect(e.code).toBe('DATA_MISSING')
  return e
}

describe('an explicit data directory is used alone', () => {
  it('an empty dataDir is DATA_MISSING naming the directory and the file', () => {
    const dir = dirWith('empty-option', [])
    const e = missing(load({ dataDir: dir }))
    expect(e.message).toContain(
      `benchmark file '${NB201_FILES.master}' not found; tried ${join(dir, NB201_FILES.master)} (it is missing from the data directory '${dir}' given by the dataDir option / --data)`,
    )
    expect(e.value).toBe(NB201_FILES.master)
    expect(e.path).toEqual([join(dir, NB201_FILES.master)])
    expect(e.message).not.toContain(SHARED)
  })

  it('an empty NASJS_DATA_DIR is DATA_MISSING naming the directory, not a fallback to ../shared/data', () => {
    const dir = dirWith('empty-env', [])
    vi.stubEnv('NASJS_DATA_DIR', dir)
    const e = missing(load())
    expect(e.message).toContain(`missing from the data directory '${dir}' given by NASJS_DATA_DIR`)
    expect(e.message).toContain('is used alone, never completed from another')
    expect(e.message).not.toContain(SHARED)
    expect(missing(() => loadFbnet()).path).toEqual([join(dir, FBNET_FILE)])
  })

  it('a partial directory is DATA_MISSING for the missing file, never completed from ../shared/data', () => {
    // the master table and CIFAR-10's HW-NAS-Bench table are there; CIFAR-100's is not
    const dir = dirWith('partial', [NB201_FILES.master, NB201_FILES.hw.cifar10])
    const e = missing(load({ dataDir: dir }))
    expect(e.message).toContain(
      `'${NB201_FILES.hw.cifar100}' not found; tried ${join(dir, NB201_FILES.hw.cifar100)} (it is missing from the data directory '${dir}'`,
    )
    expect(e.path).toEqual([join(dir, NB201_FILES.hw.cifar100)])
    vi.stubEnv('NASJS_DATA_DIR', dir)
    expect(missing(load()).path).toEqual([join(dir, NB201_FILES.hw.cifar100)])
    expect(missing(() => loadFbnet()).path).toEqual([join(dir, FBNET_FILE)])
  })

  it('reads the zero-cost tables from the directory the benchmark came from, alone', () => {
    const dir = dirWith('nb201-only', NB201)
    const bench = loadNb201({ dataDir: dir, cache: false, binaryCache: false })
    expect(bench.files).toEqual(NB201.map((rel) => join(dir, rel)))
    const e = missing(() => loadNb201ZeroCost(bench, 'cifar10'))
    expect(e.path).toEqual([join(dir, NB201_ZC_FILES.cifar10)])
    // an explicit dataDir still wins for the zero-cost table
    expect(loadNb201ZeroCost(bench, 'cifar10', { dataDir: SHARED }).file).toBe(
      join(SHARED, NB201_ZC_FILES.cifar10),
    )
  })

  it('says when the directory itself does not exist', () => {
    const dir = join(root, 'not-there')
    vi.stubEnv('NASJS_DATA_DIR', dir)
    expect(missing(load()).message).toContain(
      `the data directory '${dir}' given by NASJS_DATA_DIR does not exist`,
    )
  })

  it('takes the dataDir option before NASJS_DATA_DIR', () => {
    vi.stubEnv('NASJS_DATA_DIR', dirWith('env-loses', []))
    expect(resolveDataDir({ dataDir: SHARED })).toEqual({ dir: SHARED, source: 'option' })
    expect(load({ dataDir: SHARED })().files[0]).toBe(join(SHARED, NB201_FILES.master))
  })
})

describe('with no explicit data directory, the default order', () => {
  it('finds ../shared/data beside the workspace root', () => {
    vi.stubEnv('NASJS_DATA_DIR', '') // empty counts as unset
    expect(defaultDataDirCandidates()).toEqual([{ dir: SHARED, source: 'workspace' }])
    expect(resolveDataDir()).toEqual({ dir: SHARED, source: 'workspace' })
    expect(locateDataFile(NB201_FILES.master)).toBe(join(SHARED, NB201_FILES.master))
  })

  it('puts the @nasjs/benchmark-data package after NASJS_DATA_DIR and before ../shared/data', () => {
    vi.stubEnv('NASJS_DATA_DIR', '')
    const installed = dirWith('benchmark-data', NB201)
    pkg.dir = installed
    expect(defaultDataDirCandidates().map((c) => c.source)).toEqual(['package', 'workspace'])
    expect(resolveDataDir()).toEqual({ dir: installed, source: 'package' })
    expect(load()().files[0]).toBe(join(installed, NB201_FILES.master))
    // the found directory is used alone too: its missing files are not taken from ../shared/data
    expect(missing(() => loadFbnet()).path).toEqual([join(installed, FBNET_FILE)])
    // an explicit directory beats the package
    vi.stubEnv('NASJS_DATA_DIR', SHARED)
    expect(resolveDataDir()).toEqual({ dir: SHARED, source: 'env' })
  })

  it('skips a candidate directory that does not exist', () => {
    vi.stubEnv('NASJS_DATA_DIR', '')
    pkg.dir = join(root, 'no-package-here')
    expect(defaultDataDirCandidates()[0]).toEqual({ dir: pkg.dir, source: 'package' })
    expect(resolveDataDir()).toEqual({ dir: SHARED, source: 'workspace' })
  })
})

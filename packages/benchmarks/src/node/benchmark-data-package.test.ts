import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dataDir } from '@nasjs/benchmark-data/node'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { benchmarkDataPackageDir } from './benchmark-data-package.js'
import { resolveDataDir } from './data-dir.js'
import { loadNb201 } from './nb201.js'

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('the installed @nasjs/benchmark-data package', () => {
  it('is found by package resolution and is the default data directory', () => {
    vi.stubEnv('NASJS_DATA_DIR', '')
    const found = benchmarkDataPackageDir()
    expect(found).toBeDefined()
    expect(realpathSync(found!)).toBe(realpathSync(dataDir()))
    expect(realpathSync(found!)).toBe(
      realpathSync(fileURLToPath(new URL('../../../benchmark-data/data', import.meta.url))),
    )
    expect(resolveDataDir().source).toBe('package')
    expect(loadNb201().size).toBe(15625)
  })
})

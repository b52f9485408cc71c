import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { checkBrowserBundle } from './browser-bundle.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

interface Entry {
  readonly pkg: string
  readonly dir: string
  readonly subpath: string
  readonly file: string
}

/**
 * Every export of every package under packages/ that is meant to run anywhere: all but `./node`
 * (and other `*\/node` subpaths, the Node-only halves) and `./package.json`, at its source file.
 */
function browserEntries(): Entry[] {
  const out: Entry[] = []
  for (const name of readdirSync(join(repo, 'packages')).sort()) {
    const dir = join(repo, 'packages', name)
    const manifest = join(dir, 'package.json')
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      name: string
      exports?: Record<string, string | Record<string, string>>
    }
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      if (subpath === './package.json' || subpath === './node' || subpath.endsWith('/node')) continue
      const file = typeof target === 'string' ? undefined : target['@nasjs/source']
      if (file !== undefined) out.push({ pkg: pkg.name, dir, subpath, file })
    }
  }
  return out
}

const entries = browserEntries()

describe('every package bundles for the browser (esbuild, platform browser)', () => {
  it('finds the packages', () => {
    expect(entries.map((e) => e.pkg)).toEqual(
      expect.arrayContaining(['@nasjs/core', '@nasjs/strategies', '@nasjs/benchmarks']),
    )
  })

  for (const e of entries) {
    it(`${e.pkg}${e.subpath === '.' ? '' : e.subpath.slice(1)} has no node: import and no unresolved import`, async () => {
      const { offenders, inputs } = await checkBrowserBundle({ file: e.file }, e.dir)
      expect(offenders, `imports that break ${e.pkg} in a browser`).toEqual([])
      // Node globals bundle without an import but fail in a browser at run time: none in our own code
      // (third-party code, such as the wasm backend's glue, guards them by environment)
      const ours = inputs.filter((f) => !f.includes('node_modules') && !f.includes(':'))
      const globals = ours.filter((f) =>
        /\b(__dirname|__filename|require\()|\bprocess\.(cwd|pid|on|exit)\b/.test(
          readFileSync(resolve(e.dir, f), 'utf8'),
        ),
      )
      expect(globals, 'files of ours that use Node globals').toEqual([])
    })
  }
})

describe('the check itself', () => {
  const benchmarks = join(repo, 'packages', 'benchmarks')
  it('finds node: imports, with the chain that leads to them', async () => {
    const { offenders } = await checkBrowserBundle({ file: 'src/node/index.ts' }, benchmarks)
    expect(offenders).toContain('src/node/index.ts > src/node/data-dir.ts > node:fs (a Node built-in)')
    expect(offenders.every((o) => o.startsWith('src/node/index.ts > src/node/'))).toBe(true)
  })

  it('finds unresolved imports and bare Node built-ins, with their importer', async () => {
    const { offenders } = await checkBrowserBundle(
      {
        contents:
          "import { loadNb201 } from './src/node/nb201.js'\nimport 'fs'\nimport 'no-such-package-xyz'\nexport { loadNb201 }",
      },
      benchmarks,
    )
    expect(offenders).toContainEqual(
      expect.stringMatching(/^stdin.ts > no-such-package-xyz \(Could not resolve/),
    )
    expect(offenders).toContainEqual(expect.stringMatching(/^stdin.ts > fs \(.*built into node/))
    expect(offenders).toContain(
      'stdin.ts > src/node/nb201.ts > src/node/column-cache.ts > node:fs (a Node built-in)',
    )
  })
})

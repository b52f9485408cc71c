import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { build, type Metafile, type Plugin } from 'esbuild'
import { describe, expect, it } from 'vitest'

const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

interface BundleCheck {
  /** One line per offending import: `entry > ... > importer > import (why)`. */
  readonly offenders: string[]
  /** The bundled code. */
  readonly output: string
}

const SKIP = Symbol('resolving')

/**
 * Bundles `entry` for the browser (conditions `@nasjs/source`) and lists every `node:` import and
 * every import esbuild cannot resolve, each with the chain of files that leads to it from the entry
 * (read off esbuild's metafile). The offenders are kept external so that one run finds them all.
 */
async function checkBrowserBundle(entry: { file: string } | { contents: string }): Promise<BundleCheck> {
  const unresolved = new Map<string, string>() // import path -> esbuild's reason
  const flagImports: Plugin = {
    name: 'flag-node-and-unresolved-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined
        if (args.path.startsWith('node:')) return { path: args.path, external: true }
        const r = await b.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: SKIP,
        })
        if (r.errors.length === 0) return r
        const reason = r.errors.map((e) => [e.text, ...e.notes.map((n) => n.text)].join(': ')).join('; ')
        unresolved.set(args.path, reason)
        return { path: args.path, external: true }
      })
    },
  }
  const result = await build({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents, resolveDir: pkgRoot, sourcefile: 'stdin.ts', loader: 'ts' } }),
    absWorkingDir: pkgRoot,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    conditions: ['@nasjs/source'],
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [flagImports],
  })
  const meta: Metafile = result.metafile
  const root = 'file' in entry ? entry.file : 'stdin.ts'
  // breadth-first from the entry: the first importer of each file gives the shortest chain
  const parent = new Map<string, string | undefined>([[root, undefined]])
  const queue = [root]
  const offenders: string[] = []
  while (queue.length > 0) {
    const file = queue.shift()!
    const chain = (): string[] => {
      const out: string[] = []
      for (let f: string | undefined = file; f !== undefined; f = parent.get(f)) out.unshift(f)
      return out
    }
    for (const imp of meta.inputs[file]?.imports ?? []) {
      const original = imp.original ?? imp.path
      const why = imp.path.startsWith('node:') ? 'a Node built-in' : unresolved.get(original)
      if (imp.external) {
        offenders.push(`${[...chain(), original].join(' > ')} (${why ?? 'external'})`)
      } else if (!parent.has(imp.path)) {
        parent.set(imp.path, file)
        queue.push(imp.path)
      }
    }
  }
  return { offenders, output: result.outputFiles.map((f) => f.text).join('\n') }
}

describe('the main entry bundles for the browser', () => {
  it('src/index.ts has no node: import and no unresolved import', async () => {
    const { offenders, output } = await checkBrowserBundle({ file: 'src/index.ts' })
    expect(offenders).toEqual([])
    expect(output).toContain('nb201FromTables')
    // Node globals bundle without an import but fail in a browser at run time
    expect(output).not.toMatch(/\b(process\.(env|cwd|pid)|Buffer\.|__dirname|require\()/)
  })

  it('the check finds node: imports, with the chain that leads to them (src/node/index.ts)', async () => {
    const { offenders } = await checkBrowserBundle({ file: 'src/node/index.ts' })
    expect(offenders).toContain('src/node/index.ts > src/node/data-dir.ts > node:fs (a Node built-in)')
    expect(offenders.every((o) => o.startsWith('src/node/index.ts > src/node/'))).toBe(true)
  })

  it('the check finds unresolved imports, with their importer', async () => {
    const { offenders } = await checkBrowserBundle({
      contents:
        "import { loadNb201 } from './src/node/nb201.js'\nimport 'fs'\nimport 'no-such-package-xyz'\nexport { loadNb201 }",
    })
    expect(offenders).toContainEqual(
      expect.stringMatching(/^stdin.ts > no-such-package-xyz \(Could not resolve/),
    )
    expect(offenders).toContainEqual(expect.stringMatching(/^stdin.ts > fs \(.*built into node/))
    expect(offenders).toContain(
      'stdin.ts > src/node/nb201.ts > src/node/column-cache.ts > node:fs (a Node built-in)',
    )
  })
})

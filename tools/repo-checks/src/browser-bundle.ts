import { isAbsolute } from 'node:path'
import { build, type Metafile, type Plugin } from 'esbuild'

/**
 * Bundling for the browser, with a report of what breaks it. Used by the repository checks; see
 * docs/architecture.md ("The platform split").
 */

export interface BundleCheck {
  /** One line per offending import: `entry > ... > importer > import (why)`. */
  readonly offenders: string[]
  /** The bundled code. */
  readonly output: string
  /** Every input file of the bundle (paths relative to the working directory). */
  readonly inputs: string[]
}

const SKIP = Symbol('resolving')

/**
 * Bundles `entry` for the browser (conditions `@nasjs/source`) and lists every `node:` import and
 * every import esbuild cannot resolve, each with the chain of files that leads to it from the entry
 * (read off esbuild's metafile). The offenders are kept external so that one run finds them all.
 */
export async function checkBrowserBundle(
  entry: { file: string } | { contents: string },
  cwd: string,
): Promise<BundleCheck> {
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
        // a module a package's `browser` field disables resolves to no file: leave it to esbuild
        if (r.errors.length === 0) return r.external || isAbsolute(r.path) ? r : undefined
        const reason = r.errors.map((e) => [e.text, ...e.notes.map((n) => n.text)].join(': ')).join('; ')
        unresolved.set(args.path, reason)
        return { path: args.path, external: true }
      })
    },
  }
  const result = await build({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents, resolveDir: cwd, sourcefile: 'stdin.ts', loader: 'ts' } }),
    absWorkingDir: cwd,
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
  return {
    offenders,
    output: result.outputFiles.map((f) => f.text).join('\n'),
    inputs: Object.keys(meta.inputs),
  }
}

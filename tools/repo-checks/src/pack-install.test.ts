/**
 * The published packages work once installed, the way a user gets them (issue 17, "Ready for npm"):
 *
 * 1. `pnpm pack` the CLI and every workspace package it depends on, directly or not (the
 *    `@nasjs/benchmark-data` tables included), into a temporary directory outside the workspace, and
 *    check each tarball: no tests, type tests, benches, snapshots, fixtures or `testing-internal/`,
 *    every source map's sources shipped, every relative README link shipped, no `workspace:` or
 *    `catalog:` left in its package.json.
 * 2. `npm install -g --prefix <tmp>/global <every tarball>`, third-party dependencies from the
 *    registry. The `@nasjs/*` dependencies between the tarballs (exact `0.0.0` versions) are
 *    satisfied by the tarballs installed beside them: npm places each tarball at the top of the global
 *    tree and a dependency edge that a placed package already satisfies is never fetched (npm may
 *    look the name up in the registry while it builds the tree, a 404 today, and ignores the answer).
 *    The test checks it: each `@nasjs/*` package is installed once, at the top, with the tarball's
 *    own package.json. `@tensorflow/tfjs-node` is optional: its native download fails where that host
 *    is unreachable, and npm drops it without failing the install.
 * 3. With `NASJS_DATA_DIR` unset, in a fresh directory with no `../shared`, the installed `nas`
 *    prints its version and help (without TF.js's "Platform node has already been set" warning) and
 *    `nas search` finds the same Pareto front as the built CLI of the repository.
 *
 * Needs the packages built (`pnpm test` builds them through turbo's `^build`: the CLI is a
 * devDependency of this package) and the npm registry reachable. Takes about half a minute with a
 * warm npm cache, a few minutes with a cold one.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const repoCli = join(repo, 'apps', 'cli', 'dist', 'bin.js')

const INSTALL_TIMEOUT_MS = 8 * 60_000
const COMMAND_TIMEOUT_MS = 2 * 60_000
const PLATFORM_WARNING = 'Platform node has already been set'

/** The acceptance command of issue 17, run by both CLIs. */
const SEARCH = [
  'search',
  '--strategy',
  'nsga2',
  '--budget',
  '300',
  '--objective',
  'valid_acc:max',
  '--objective',
  'latency.pixel3:min',
  '--seed',
  '1',
]

// ---------------------------------------------------------------------------------------------
// The workspace packages to pack

interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
}

interface WorkspacePackage {
  readonly dir: string
  readonly manifest: Manifest
}

function workspacePackages(): Map<string, WorkspacePackage> {
  const out = new Map<string, WorkspacePackage>()
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(repo, group)).sort()) {
      const file = join(repo, group, name, 'package.json')
      if (!existsSync(file)) continue
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
      out.set(manifest.name, { dir: join(repo, group, name), manifest })
    }
  }
  return out
}

/** `root` and every workspace package it reaches through dependencies, optional and peer ones. */
function workspaceClosure(root: string, all: Map<string, WorkspacePackage>): string[] {
  const seen = new Set<string>()
  const visit = (name: string): void => {
    if (seen.has(name)) return
    const pkg = all.get(name)
    if (pkg === undefined) throw new Error(`${name} is not a package under packages/ or apps/`)
    seen.add(name)
    const { dependencies, optionalDependencies, peerDependencies } = pkg.manifest
    for (const deps of [dependencies, optionalDependencies, peerDependencies]) {
      for (const [dep, spec] of Object.entries(deps ?? {})) if (spec.startsWith('workspace:')) visit(dep)
    }
  }
  visit(root)
  return [...seen].sort()
}

// ---------------------------------------------------------------------------------------------
// Running commands

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeout: number,
): Run {
  const t0 = performance.now()
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    cwd,
    env,
    encoding: 'utf8',
    timeout,
    maxBuffer: 256 << 20,
  })
  const err = r.error === undefined ? '' : `\n${r.error.message}`
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + err,
    ms: performance.now() - t0,
  }
}

function ok(what: string, r: Run): Run {
  if (r.status !== 0) {
    const tail = (s: string) => s.trim().split('\n').slice(-30).join('\n')
    throw new Error(
      `${what} exited with ${r.status ?? 'a signal'}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`,
    )
  }
  return r
}

/** npm settings that may pass through: where the registry is and how to reach it. */
const NPM_ENV_KEPT =
  /^npm_config_(registry|cache|userconfig|globalconfig|proxy|https_proxy|noproxy|no_proxy|cafile|ca|strict_ssl)$/i

/**
 * A user's shell: no NASJS_DATA_DIR, none of the npm_* variables pnpm sets for its scripts (they
 * would steer `npm install`), no NODE_OPTIONS (a `--conditions=@nasjs/source` there would load the
 * shipped TypeScript sources), no colours.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !NPM_ENV_KEPT.test(k)) continue
    if (k === 'NASJS_DATA_DIR' || k === 'NODE_OPTIONS' || k === 'FORCE_COLOR') continue
    env[k] = v
  }
  env.NO_COLOR = '1'
  return env
}

// ---------------------------------------------------------------------------------------------
// Looking into the tarballs

/** Paths that are for this repository's tests only. */
const NOT_SHIPPED = /(^|\/)(testing-internal|__snapshots__|__fixtures__)\/|\.(test|test-d|bench)\.[^/]*$/

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort()
}

/** Problems of one unpacked tarball (its `package/` directory). */
function tarballProblems(name: string, root: string): string[] {
  const problems: string[] = []
  const files = filesUnder(root)
  const shipped = new Set(files)
  for (const f of files) if (NOT_SHIPPED.test(f)) problems.push(`${name} ships ${f}`)

  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(root, f), 'utf8')) as { sources?: string[]; sourceRoot?: string }
    for (const s of map.sources ?? []) {
      const target = relative(root, resolve(root, dirname(f), map.sourceRoot ?? '', s))
        .split(sep)
        .join('/')
      if (!shipped.has(target)) problems.push(`${name}: ${f} points to ${s}, which is not shipped`)
    }
  }

  // Relative README links within the package (npm resolves ../ links against `repository`).
  if (shipped.has('README.md')) {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    for (const m of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1]!.split('#')[0]!
      if (link === '' || /^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('../') || link.startsWith('/'))
        continue
      const target = relative(root, resolve(root, link)).split(sep).join('/')
      if (!shipped.has(target) && !files.some((x) => x.startsWith(`${target}/`)))
        problems.push(`${name}: README.md links ${m[1]}, which is not shipped`)
    }
  }

  const manifest = readFileSync(join(root, 'package.json'), 'utf8')
  for (const m of manifest.matchAll(/"([^"]+)":\s*"((?:workspace|catalog):[^"]*)"/g))
    problems.push(`${name}: package.json keeps ${m[1]}: ${m[2]}`)
  return problems
}

// ---------------------------------------------------------------------------------------------
// The search result

interface FrontPoint {
  readonly trial: number
  readonly arch: string
  readonly index: number
  readonly metrics: Record<string, number>
}

interface SearchResult {
  readonly ok: boolean
  readonly trials: number
  readonly front: readonly FrontPoint[]
}

/** The `--json` result: the last line of stdout (events go to stderr). */
function searchResult(r: Run): SearchResult {
  const last = r.stdout.trim().split('\n').at(-1) ?? ''
  return JSON.parse(last) as SearchResult
}

// ---------------------------------------------------------------------------------------------
// The test

const all = workspacePackages()
const cliManifest = all.get('@nasjs/cli')!.manifest
const names = workspaceClosure('@nasjs/cli', all)

const timings: string[] = []
let tmp: string | undefined
let tarballs: { name: string; file: string; root: string }[] = []
let globalPrefix = ''
let nas = ''
let workDir = ''

describe('the tarball checks themselves', () => {
  it('flag test files, unshipped map sources and README links, and workspace specs', () => {
    const root = mkdtempSync(join(tmpdir(), 'nasjs-pack-rules-'))
    try {
      const put = (f: string, text: string) => {
        mkdirSync(dirname(join(root, f)), { recursive: true })
        writeFileSync(join(root, f), text)
      }
      put('package.json', '{ "name": "x", "dependencies": { "@nasjs/core": "workspace:*" } }')
      put('README.md', '[ok](./dist/a.js) [bench](./BENCHMARKS.md) [up](../../x.md) [web](https://x.org/a)')
      put('dist/a.js', '')
      put('dist/a.js.map', JSON.stringify({ sources: ['../src/a.ts'] }))
      put('src/testing-internal/t.ts', '')
      put('src/a.test.ts', '')
      put('src/types.test-d.ts', '')
      expect(tarballProblems('x', root)).toEqual([
        'x ships src/a.test.ts',
        'x ships src/testing-internal/t.ts',
        'x ships src/types.test-d.ts',
        'x: dist/a.js.map points to ../src/a.ts, which is not shipped',
        'x: README.md links ./BENCHMARKS.md, which is not shipped',
        'x: package.json keeps @nasjs/core: workspace:*',
      ])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe('the packed CLI, installed globally from its tarballs', () => {
  beforeAll(
    () => {
      const missing = names.filter((n) => !existsSync(join(all.get(n)!.dir, 'dist')))
      if (missing.length > 0 || !existsSync(repoCli))
        throw new Error(
          `not built: ${missing.join(', ') || 'apps/cli/dist/bin.js'}; run pnpm --filter "@nasjs/cli..." build (pnpm test does it through turbo)`,
        )

      tmp = realpathSync(mkdtempSync(join(tmpdir(), 'nasjs-pack-install-')))
      if (!relative(repo, tmp).startsWith('..'))
        throw new Error(`the temporary directory ${tmp} is inside the workspace: set TMPDIR elsewhere`)
      const packDir = join(tmp, 'tarballs')
      const unpackDir = join(tmp, 'unpacked')
      globalPrefix = join(tmp, 'global')
      workDir = join(tmp, 'work')
      for (const d of [packDir, unpackDir, workDir]) mkdirSync(d)

      let t0 = performance.now()
      for (const name of names) {
        const before = new Set(readdirSync(packDir))
        ok(
          `pnpm pack (${name})`,
          run(
            'pnpm',
            ['pack', '--pack-destination', packDir],
            all.get(name)!.dir,
            process.env,
            COMMAND_TIMEOUT_MS,
          ),
        )
        const made = readdirSync(packDir).filter((f) => !before.has(f))
        if (made.length !== 1) throw new Error(`pnpm pack (${name}) made ${made.join(', ') || 'no tarball'}`)
        const file = join(packDir, made[0]!)
        const into = join(unpackDir, made[0]!.replace(/\.tgz$/, ''))
        mkdirSync(into)
        ok(
          `tar -xzf ${made[0]}`,
          run('tar', ['-xzf', file, '-C', into], tmp, process.env, COMMAND_TIMEOUT_MS),
        )
        tarballs.push({ name, file, root: join(into, 'package') })
      }
      timings.push(`packed ${names.length} packages in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

      t0 = performance.now()
      const install = run(
        'npm',
        [
          'install',
          '--global',
          '--prefix',
          globalPrefix,
          '--no-audit',
          '--no-fund',
          '--no-update-notifier',
          ...tarballs.map((t) => t.file),
        ],
        workDir,
        userEnv(),
        INSTALL_TIMEOUT_MS,
      )
      ok('npm install --global <tarballs>', install)
      timings.push(`installed globally in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      nas = join(globalPrefix, 'bin', 'nas')
    },
    INSTALL_TIMEOUT_MS + names.length * COMMAND_TIMEOUT_MS,
  )

  afterAll(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
    tmp = undefined
    tarballs = []
    if (timings.length > 0) console.log(`pack and install: ${timings.join(', ')}`)
  })

  it('packs the CLI and every workspace package it depends on, the benchmark tables included', () => {
    expect(names).toEqual(
      expect.arrayContaining(['@nasjs/cli', '@nasjs/benchmark-data', '@nasjs/benchmarks']),
    )
    for (const n of names) expect(all.get(n)!.manifest.private, `${n} is private`).not.toBe(true)
    expect(tarballs.map((t) => t.name)).toEqual(names)
  })

  it('ships no tests, fixtures or test helpers, every source map source, every README link', () => {
    expect(tarballs.flatMap((t) => tarballProblems(t.name, t.root))).toEqual([])
    const data = tarballs.find((t) => t.name === '@nasjs/benchmark-data')!
    expect(filesUnder(data.root).filter((f) => f.startsWith('data/')).length).toBeGreaterThan(0)
  })

  it('installs each @nasjs package once, from its tarball, not from the registry', () => {
    const lib = join(globalPrefix, 'lib', 'node_modules')
    const scopes = readdirSync(lib, { withFileTypes: true, recursive: true })
      .filter((e) => e.isDirectory() && e.name === '@nasjs')
      .map((e) => relative(lib, join(e.parentPath, e.name)))
    expect(scopes, 'only the top-level @nasjs scope, no nested copies').toEqual(['@nasjs'])
    expect(readdirSync(join(lib, '@nasjs')).sort()).toEqual(names.map((n) => n.replace('@nasjs/', '')))
    for (const t of tarballs) {
      const installed = readFileSync(join(lib, t.name, 'package.json'), 'utf8')
      expect(installed, `${t.name}/package.json`).toBe(readFileSync(join(t.root, 'package.json'), 'utf8'))
    }
    expect(existsSync(nas)).toBe(true)
  })

  it('prints its version and help, without the TF.js platform warning', () => {
    const version = ok('nas --version', run(nas, ['--version'], workDir, userEnv(), COMMAND_TIMEOUT_MS))
    expect(version.stdout.trim()).toBe(cliManifest.version)
    const help = ok('nas --help', run(nas, ['--help'], workDir, userEnv(), COMMAND_TIMEOUT_MS))
    expect(help.stdout).toContain('Usage: nas')
    expect(help.stdout + help.stderr).not.toContain(PLATFORM_WARNING)
  })

  it(
    'searches outside the workspace, without NASJS_DATA_DIR, and finds the repository’s front',
    () => {
      expect(existsSync(join(workDir, '..', 'shared'))).toBe(false)
      const t0 = performance.now()
      const installed = ok(
        `${nas} ${SEARCH.join(' ')}`,
        run(nas, [...SEARCH, '--out', 'run', '--json'], workDir, userEnv(), COMMAND_TIMEOUT_MS),
      )
      timings.push(`installed nas search in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      const repoOut = join(tmp!, 'repo-run')
      const inRepo = ok(
        `node apps/cli/dist/bin.js ${SEARCH.join(' ')}`,
        run(
          process.execPath,
          [repoCli, ...SEARCH, '--out', repoOut, '--json'],
          repo,
          userEnv(),
          COMMAND_TIMEOUT_MS,
        ),
      )

      const got = searchResult(installed)
      const want = searchResult(inRepo)
      expect(got.ok).toBe(true)
      expect(got.trials).toBe(300)
      expect(want.front.length).toBeGreaterThan(0)
      expect(got.front).toEqual(want.front)
      const summary = JSON.parse(readFileSync(join(workDir, 'run', 'summary.json'), 'utf8')) as SearchResult
      expect(summary.front).toEqual(want.front)
    },
    2 * COMMAND_TIMEOUT_MS,
  )

  it(
    'runs a predictor-guided search on TF.js from the installed packages',
    () => {
      const args = ['search', '--strategy', 'bananas', '--objective', 'valid_acc:max', '--budget', '20']
      const r = ok(
        `${nas} ${args.join(' ')}`,
        run(
          nas,
          [...args, '--seed', '1', '--out', 'bananas', '--json'],
          workDir,
          userEnv(),
          COMMAND_TIMEOUT_MS,
        ),
      )
      expect(searchResult(r)).toMatchObject({ ok: true, trials: 20 })
    },
    COMMAND_TIMEOUT_MS,
  )
})

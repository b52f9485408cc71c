/**
 * README examples are tests: every code block of every README (the root one, `packages/*`, `apps/*`,
 * `tools/*`) and of CONTRIBUTING.md runs here, so the docs cannot drift from the code. The rules:
 *
 * - ```ts blocks are complete programs. Each is written to `node_modules/.cache/readme-examples/` of
 *   this package (which has every public workspace package as a devDependency, like a user's project
 *   that installed them) and run with `node --conditions=@nasjs/source --import tsx` in a fresh
 *   temporary directory, without `NASJS_DATA_DIR` (benchmark tables come from the installed
 *   `@nasjs/benchmark-data`). It must exit 0 within the timeout; keep examples fast (a few seconds).
 * - ```sh / ```bash blocks, and unlabelled blocks whose first line starts with `$ ` (a terminal
 *   transcript: only the `$ ` lines are commands, the rest is their output), run line by line, in
 *   order, in one fresh temporary directory per README. `#` comments and blank lines are ignored and
 *   `a && b` is read as two commands:
 *   - `nas …` runs the built CLI (`apps/cli/dist/bin.js`; `pnpm test` builds it first through turbo's
 *     `^build`) and must exit 0, or, in a transcript whose output shows `nas: error [CODE]`, must
 *     fail with that error;
 *   - `echo`, `printf`, `cat`, `ls`, `mkdir`, `cp`, `mv`, `rm` run with `sh` in the same directory
 *     (to write a config file for the next `nas` line);
 *   - `npm install|i|add …` and `pnpm add …` are not run (no installs in tests); every package they
 *     name must be a public package of this workspace, a dependency (of any kind) of a workspace
 *     package named with it, or the repository's package manager at its major version;
 *   - other `pnpm …`, `npx …`, `cd …` and `git …` lines are commands of this repository: not run,
 *     listed as such;
 *   - anything else fails the test: make it one of the above, or mark the block as not run.
 * - `<!-- example: not run (why) -->` before a fence (Prettier puts a blank line between) excludes
 *   that block, for one that cannot run stand-alone (a browser, a native build, a signature rather
 *   than a program). The test lists every exclusion with its reason; keep them few.
 * - `<!-- example: slow (why) -->` before a fence gives each of its processes 240 s instead of 60 s,
 *   for a command that is short on a quiet machine but waits out a busy one by design (latency
 *   measured behind the quiet-machine gate, which repeats a measurement while other work runs).
 * - Other blocks (json, md, unlabelled text and command output) are not code; they are listed.
 */
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '..', '..', '..')
const cacheDir = resolve(here, '..', 'node_modules', '.cache', 'readme-examples')
const cliBin = join(repo, 'apps', 'cli', 'dist', 'bin.js')
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/** Per process (one TypeScript example, one shell command). */
const TIMEOUT_MS = 60_000
/** Per process of a block marked slow. */
const SLOW_TIMEOUT_MS = 240_000
const NOT_RUN_MARKER = /^<!--\s*example:\s*not run\s*\((.+)\)\s*-->$/
const SLOW_MARKER = /^<!--\s*example:\s*slow\s*\((.+)\)\s*-->$/

// ---------------------------------------------------------------------------------------------
// Finding the blocks

interface Block {
  /** Path relative to the repository root. */
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly lang: string
  readonly lines: readonly string[]
  /** The reason of a `<!-- example: not run (…) -->` marker on the line before the fence. */
  readonly notRun?: string
  /** The reason of a `<!-- example: slow (…) -->` marker on the line before the fence. */
  readonly slow?: string
}

function docFiles(): string[] {
  const out = ['README.md', 'CONTRIBUTING.md']
  for (const group of ['packages', 'apps', 'tools']) {
    for (const name of readdirSync(join(repo, group)).sort()) {
      if (existsSync(join(repo, group, name, 'README.md'))) out.push(`${group}/${name}/README.md`)
    }
  }
  return out.filter((f) => existsSync(join(repo, f)))
}

/** Fenced blocks (``` … ```) of a Markdown text, plus markers that stand before no fence. */
function parseBlocks(file: string, text: string): { blocks: Block[]; strayMarkers: number[] } {
  const lines = text.split('\n')
  const blocks: Block[] = []
  const strayMarkers: number[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,})\s*([^\s`]*)/.exec(lines[i]!)
    if (open === null) {
      const t = lines[i]!.trim()
      if ((NOT_RUN_MARKER.test(t) || SLOW_MARKER.test(t)) && !/^ {0,3}```/.test(nextNonBlank(lines, i))) {
        strayMarkers.push(i + 1)
      }
      continue
    }
    const fence = open[1]!
    const body: string[] = []
    let j = i + 1
    while (j < lines.length && !new RegExp(`^ {0,3}${fence}\`*\\s*$`).test(lines[j]!)) {
      body.push(lines[j]!)
      j++
    }
    const marker = NOT_RUN_MARKER.exec(previousNonBlank(lines, i).trim())
    const slow = SLOW_MARKER.exec(previousNonBlank(lines, i).trim())
    blocks.push({
      file,
      line: i + 1,
      lang: open[2]!.toLowerCase(),
      lines: body,
      ...(marker === null ? {} : { notRun: marker[1]!.trim() }),
      ...(slow === null ? {} : { slow: slow[1]!.trim() }),
    })
    i = j
  }
  return { blocks, strayMarkers }
}

function nextNonBlank(lines: readonly string[], i: number): string {
  let j = i + 1
  while (j < lines.length && lines[j]!.trim() === '') j++
  return lines[j] ?? ''
}

function previousNonBlank(lines: readonly string[], i: number): string {
  let j = i - 1
  while (j >= 0 && lines[j]!.trim() === '') j--
  return lines[j] ?? ''
}

type Kind = 'ts' | 'shell' | 'other'

function kindOf(b: Block): Kind {
  if (['ts', 'typescript'].includes(b.lang)) return 'ts'
  if (['sh', 'bash', 'shell', 'console'].includes(b.lang)) return 'shell'
  const first = b.lines.find((l) => l.trim() !== '')
  if (b.lang === '' && first?.startsWith('$ ') === true) return 'shell'
  return 'other'
}

// ---------------------------------------------------------------------------------------------
// Shell lines

interface Command {
  /** 1-based line in the README. */
  readonly line: number
  readonly text: string
  /** For a transcript: the error its output shows (`nas: error [CODE]`), if any. */
  readonly expectedError?: string
}

type PartKind = 'nas' | 'file' | 'install' | 'repository' | 'unknown'

/** The commands of a shell block: every line, or in a transcript only the `$ ` lines. */
function commandsOf(b: Block): Command[] {
  const transcript = b.lines.some((l) => l.startsWith('$ '))
  const out: Command[] = []
  for (let i = 0; i < b.lines.length; i++) {
    let text = b.lines[i]!
    if (transcript) {
      if (!text.startsWith('$ ')) continue
      text = text.slice(2)
    }
    const start = i
    while (text.endsWith('\\') && i + 1 < b.lines.length) text = `${text.slice(0, -1)} ${b.lines[++i]}`
    text = stripComment(text).trim()
    if (text === '') continue
    let expectedError: string | undefined
    if (transcript) {
      for (let k = i + 1; k < b.lines.length && !b.lines[k]!.startsWith('$ '); k++) {
        const m = /^nas: error \[[A-Z_]+\]/.exec(b.lines[k]!)
        if (m !== null) {
          expectedError = m[0]
          break
        }
      }
    }
    out.push({
      line: b.line + 1 + start,
      text,
      ...(expectedError === undefined ? {} : { expectedError }),
    })
  }
  return out
}

/** Cuts a `#` comment (one after whitespace, outside quotes). */
function stripComment(line: string): string {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
    } else if (c === "'" || c === '"') quote = c
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i)
  }
  return line
}

/** Splits on `&&` outside quotes. */
function splitAnd(line: string): string[] {
  const parts: string[] = []
  let quote: string | undefined
  let start = 0
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
    } else if (c === "'" || c === '"') quote = c
    else if (c === '&' && line[i + 1] === '&') {
      parts.push(line.slice(start, i).trim())
      start = i + 2
      i++
    }
  }
  parts.push(line.slice(start).trim())
  return parts.filter((p) => p !== '')
}

const INSTALL = /^(?:npm\s+(?:install|i|add)|pnpm\s+add)\s/

function partKind(part: string): PartKind {
  const word = part.split(/\s+/)[0]!
  if (word === 'nas') return 'nas'
  if (INSTALL.test(part) && installedNames(part).length > 0) return 'install'
  if (['pnpm', 'npx', 'cd', 'git'].includes(word)) return 'repository'
  if (['echo', 'printf', 'cat', 'ls', 'mkdir', 'cp', 'mv', 'rm'].includes(word)) return 'file'
  return 'unknown'
}

/** The package specs an install command names (its arguments that are not flags). */
function installedNames(part: string): string[] {
  return part
    .replace(INSTALL, '')
    .split(/\s+/)
    .filter((a) => a !== '' && !a.startsWith('-'))
}

interface Manifest {
  readonly name: string
  readonly private?: boolean
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
}

function workspaceManifests(): Map<string, Manifest> {
  const out = new Map<string, Manifest>()
  for (const group of ['packages', 'apps', 'tools']) {
    for (const name of readdirSync(join(repo, group))) {
      const file = join(repo, group, name, 'package.json')
      if (!existsSync(file)) continue
      const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest
      out.set(m.name, m)
    }
  }
  return out
}

const workspace = workspaceManifests()
const packageManager = (
  JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { packageManager: string }
).packageManager

/** What is wrong with an install command's packages (empty when every name is fine). */
function checkInstall(part: string): string[] {
  const specs = installedNames(part).map((spec) => {
    const at = spec.lastIndexOf('@')
    return at > 0 ? { name: spec.slice(0, at), version: spec.slice(at + 1) } : { name: spec, version: '' }
  })
  const ours = specs.flatMap((s) => {
    const m = workspace.get(s.name)
    return m === undefined ? [] : [m]
  })
  const problems: string[] = []
  for (const { name, version } of specs) {
    const m = workspace.get(name)
    if (m !== undefined) {
      if (m.private === true) problems.push(`${name} is a private workspace package: users cannot install it`)
      continue
    }
    const [pmName, pmVersion] = packageManager.split('@') as [string, string]
    if (name === pmName) {
      if (version !== '' && pmVersion !== version && !pmVersion.startsWith(`${version}.`))
        problems.push(`${name}@${version}, but the repository's packageManager is ${packageManager}`)
      continue
    }
    const declaredBy = ours.filter((o) =>
      [o.dependencies, o.devDependencies, o.peerDependencies, o.optionalDependencies].some(
        (deps) => deps?.[name] !== undefined,
      ),
    )
    if (declaredBy.length === 0) {
      problems.push(
        `${name} is neither a workspace package nor a dependency of ${ours.map((o) => o.name).join(', ') || 'a workspace package named with it'}`,
      )
    }
  }
  return problems
}

// ---------------------------------------------------------------------------------------------
// Running

const tempDirs: string[] = []
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nasjs-readme-${prefix}-`))
  tempDirs.push(dir)
  return dir
}

/** The environment of every example: no NASJS_DATA_DIR (data comes from the installed package). */
function exampleEnv(extraPath?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.NASJS_DATA_DIR
  delete env.FORCE_COLOR
  if (extraPath !== undefined) env.PATH = `${extraPath}:${env.PATH ?? ''}`
  return env
}

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
  readonly timedOut: boolean
  /** The time limit it ran under (ms). */
  readonly timeoutMs: number
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = TIMEOUT_MS): Run {
  const t0 = performance.now()
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 })
  const err = r.error as (Error & { code?: string }) | undefined
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (err !== undefined && err.code !== 'ETIMEDOUT' ? `\n${err.message}` : ''),
    ms: performance.now() - t0,
    timedOut: err?.code === 'ETIMEDOUT',
    timeoutMs,
  }
}

/** Throws (a plain Error: the message is the report) when a run went wrong. */
function assertRun(ok: boolean, what: string, r: Run): void {
  if (!ok) throw new Error(`${what} ${describeRun(r)}`)
}

function describeRun(r: Run): string {
  const how = r.timedOut ? `timed out after ${r.timeoutMs / 1000} s` : `exited with ${r.status ?? 'a signal'}`
  const tail = r.stdout.trim().split('\n').slice(-15).join('\n')
  return `${how}\n--- stderr ---\n${r.stderr.trim()}\n--- stdout (last lines) ---\n${tail}`
}

/** A `nas` on PATH that runs the built CLI. */
function nasShim(): string {
  const dir = tempDir('bin')
  const shim = join(dir, 'nas')
  writeFileSync(shim, `#!/bin/sh\nexec '${process.execPath}' '${cliBin}' "$@"\n`)
  chmodSync(shim, 0o755)
  return dir
}

/** Packages whose `dist` is older than their sources (the CLI runs from `dist`). */
function staleBuilds(): string[] {
  const newest = (dir: string, skip: RegExp): number => {
    if (!existsSync(dir)) return 0
    let t = 0
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || skip.test(e.name)) continue
      t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs)
    }
    return t
  }
  const stale: string[] = []
  for (const dir of [
    join(repo, 'apps', 'cli'),
    ...readdirSync(join(repo, 'packages')).map((p) => join(repo, 'packages', p)),
  ]) {
    const src = newest(join(dir, 'src'), /\.(test|bench)\.ts$|\.md$/)
    if (src > 0 && newest(join(dir, 'dist'), /^$/) < src) stale.push(relative(repo, dir))
  }
  return stale
}

// ---------------------------------------------------------------------------------------------
// The tests

const files = docFiles()
const parsed = files.map((f) => ({ file: f, ...parseBlocks(f, readFileSync(join(repo, f), 'utf8')) }))
const blocks = parsed.flatMap((p) => p.blocks)
const at = (file: string, line: number) => `${file}:${line}`

const notRun: string[] = []
const notCode: string[] = []
let ranTs = 0
let ranCommands = 0
let shellMs = 0
let tsMs = 0

rmSync(cacheDir, { recursive: true, force: true })
mkdirSync(cacheDir, { recursive: true })
// node_modules stops the lookup of a package scope: mark the examples as ES modules here
writeFileSync(join(cacheDir, 'package.json'), '{ "private": true, "type": "module" }\n')

afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
  const lines = [
    `README examples: ${ranTs} TypeScript blocks (${(tsMs / 1000).toFixed(1)} s) and ${ranCommands} shell commands (${(shellMs / 1000).toFixed(1)} s) run.`,
    `Not run (${notRun.length}):`,
    ...notRun.map((l) => `  ${l}`),
    `Not code (${notCode.length} blocks: json, md, text, command output): ${notCode.join(', ')}`,
  ]
  console.log(lines.join('\n'))
})

describe('README examples', () => {
  it('finds the READMEs, CONTRIBUTING.md and their blocks', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'CONTRIBUTING.md',
        'packages/core/README.md',
        'apps/cli/README.md',
      ]),
    )
    expect(blocks.filter((b) => kindOf(b) === 'ts').length).toBeGreaterThan(5)
    expect(blocks.filter((b) => kindOf(b) === 'shell').length).toBeGreaterThan(5)
  })

  it('has no not-run marker that stands before no code block', () => {
    expect(parsed.flatMap((p) => p.strayMarkers.map((l) => `${p.file}:${l}`))).toEqual([])
  })

  for (const b of blocks) {
    const kind = kindOf(b)
    if (b.notRun !== undefined) {
      notRun.push(`${at(b.file, b.line)} (${b.lang || 'text'} block): ${b.notRun}`)
      continue
    }
    if (kind === 'other') {
      notCode.push(`${at(b.file, b.line)}${b.lang === '' ? '' : ` (${b.lang})`}`)
      continue
    }

    if (kind === 'ts') {
      it(
        `${at(b.file, b.line)} (ts)`,
        () => {
          const name = `${b.file.replace(/\.md$/, '').replaceAll('/', '-')}-L${b.line}.ts`
          const file = join(cacheDir, name)
          writeFileSync(file, `${b.lines.join('\n')}\n`)
          const r = run(
            process.execPath,
            ['--conditions=@nasjs/source', '--import', tsxLoader, file],
            tempDir('ts'),
            exampleEnv(),
            b.slow === undefined ? TIMEOUT_MS : SLOW_TIMEOUT_MS,
          )
          tsMs += r.ms
          ranTs++
          assertRun(
            r.status === 0 && !r.timedOut,
            `${at(b.file, b.line)} (the ts block, run as ${relative(repo, file)})`,
            r,
          )
        },
        (b.slow === undefined ? TIMEOUT_MS : SLOW_TIMEOUT_MS) + 10_000,
      )
      continue
    }

    // a shell block: classify every line before running any
    const commands = commandsOf(b)
    const limit = b.slow === undefined ? TIMEOUT_MS : SLOW_TIMEOUT_MS
    it(
      `${at(b.file, b.line)} (${b.lang || 'transcript'})`,
      () => {
        const problems: string[] = []
        const toRun: Command[] = []
        for (const c of commands) {
          const parts = splitAnd(c.text)
          const kinds = parts.map(partKind)
          parts.forEach((p, i) => {
            if (kinds[i] === 'install')
              problems.push(...checkInstall(p).map((m) => `${at(b.file, c.line)} \`${p}\`: ${m}`))
            if (kinds[i] === 'unknown')
              problems.push(
                `${at(b.file, c.line)} \`${p}\` is neither a nas command, a file command, an install nor a command of this repository: make it one, or put <!-- example: not run (why) --> before the block`,
              )
          })
          const checked = kinds.includes('install') ? ' (its install checked)' : ''
          if (kinds.includes('repository'))
            notRun.push(`${at(b.file, c.line)} \`${c.text}\`: repository command${checked}`)
          else if (kinds.every((k) => k === 'install'))
            notRun.push(`${at(b.file, c.line)} \`${c.text}\`: install (packages checked)`)
          else if (kinds.every((k) => k === 'nas' || k === 'file')) toRun.push(c)
          else if (!kinds.includes('unknown'))
            notRun.push(`${at(b.file, c.line)} \`${c.text}\`: install mixed with commands`)
        }
        expect(problems, `${at(b.file, b.line)}: lines the README-examples rules do not allow`).toEqual([])
        if (toRun.length === 0) return

        if (!existsSync(cliBin))
          throw new Error(
            `${relative(repo, cliBin)} is missing: build the CLI first (pnpm --filter "@nasjs/cli..." build; pnpm test does it through turbo)`,
          )
        const cwd = shellDirFor(b.file)
        for (const c of toRun) {
          const r = run('sh', ['-c', c.text], cwd, exampleEnv(shimDir()), limit)
          shellMs += r.ms
          ranCommands++
          const what = `${at(b.file, c.line)} \`${c.text}\` (in ${cwd})`
          if (c.expectedError === undefined) {
            assertRun(r.status === 0 && !r.timedOut, what, r)
          } else {
            const failed = r.status !== 0 && !r.timedOut && r.stderr.includes(c.expectedError)
            assertRun(failed, `${what} should fail with '${c.expectedError}', as its output shows; it`, r)
          }
        }
      },
      (limit + 5_000) * Math.max(1, commands.length),
    )
  }
})

describe('the rules themselves', () => {
  it('reads transcripts: only $ lines are commands, and an error in the output is expected', () => {
    const block: Block = {
      file: 'X.md',
      line: 10,
      lang: '',
      lines: [
        '$ nas spaces   # list them',
        'nb201 ...',
        '$ nas search --budget -1',
        'nas: error [BUDGET_INVALID]: --budget must be ...',
      ],
    }
    expect(kindOf(block)).toBe('shell')
    expect(commandsOf(block)).toEqual([
      { line: 11, text: 'nas spaces' },
      { line: 13, text: 'nas search --budget -1', expectedError: 'nas: error [BUDGET_INVALID]' },
    ])
  })

  it('reads the markers before a fence, and finds one that stands before no fence', () => {
    const text = [
      '<!-- example: slow (waits for a quiet machine) -->',
      '',
      '```sh',
      'nas spaces',
      '```',
      '<!-- example: not run (a browser) -->',
      '```ts',
      'x()',
      '```',
      '<!-- example: slow (stray) -->',
      'prose',
    ].join('\n')
    const { blocks, strayMarkers } = parseBlocks('X.md', text)
    expect(blocks.map((b) => [b.line, b.slow, b.notRun])).toEqual([
      [3, 'waits for a quiet machine', undefined],
      [7, undefined, 'a browser'],
    ])
    expect(strayMarkers).toEqual([10])
  })

  it('sorts commands into run, checked, repository and unknown', () => {
    expect(splitAnd("npm i -g pnpm@10 && pnpm install && nas arch nb201 '|a&&b|'").map(partKind)).toEqual([
      'install',
      'repository',
      'nas',
    ])
    expect(
      ['echo {} > a.json', 'npx tsx bench/x.ts', 'curl https://x', 'pnpm install'].map(partKind),
    ).toEqual(['file', 'repository', 'unknown', 'repository'])
  })

  it('accepts only installable names of this workspace, their dependencies and its pnpm', () => {
    expect(checkInstall('pnpm add @nasjs/backend @tensorflow/tfjs-layers')).toEqual([])
    expect(checkInstall('npm install -g pnpm@10')).toEqual([])
    expect(checkInstall('npm install -g pnpm@9')).toEqual([expect.stringMatching(/^pnpm@9, but .*pnpm@10/)])
    expect(checkInstall('npm install @nasjs/core left-pad')).toEqual([
      'left-pad is neither a workspace package nor a dependency of @nasjs/core',
    ])
    expect(checkInstall('pnpm add @nasjs/repo-checks')).toEqual([
      '@nasjs/repo-checks is a private workspace package: users cannot install it',
    ])
  })
})

let shim: string | undefined
function shimDir(): string {
  if (shim === undefined) {
    shim = nasShim()
    const stale = staleBuilds()
    if (stale.length > 0) {
      console.warn(
        `README examples: the built CLI may be stale (dist older than src in ${stale.join(', ')}); rebuild with pnpm --filter "@nasjs/cli..." build`,
      )
    }
  }
  return shim
}

const shellDirs = new Map<string, string>()
/** One temporary directory per README: its shell blocks run in order and may use each other's files. */
function shellDirFor(file: string): string {
  let dir = shellDirs.get(file)
  if (dir === undefined) {
    dir = tempDir('sh')
    shellDirs.set(file, dir)
  }
  return dir
}

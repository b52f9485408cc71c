import { Command } from '@commander-js/extra-typings'
import { NasError, type Metrics } from '@nasjs/core'
import { NB201_DATASETS } from '@nasjs/benchmarks'
import { builtinSpaceIds, getSpace, nb201Canonical, type Nb201Arch } from '@nasjs/search-space'
import { fmtMetric, loadBenchmark, table, type Io } from '../context.js'

/**
 * Parses an architecture given as the space's text form (what `nas spaces show` and every summary
 * print, e.g. `{"ks":[...],...}` for ofa-mbv3) or as the JSON envelope of `space.toJSON`.
 */
export function parseArchArgument(spaceId: string, text: string): unknown {
  const space = getSpace(spaceId)
  const t = text.trim()
  let formatError: unknown
  try {
    return space.parse(t)
  } catch (e) {
    formatError = e
  }
  if (t.startsWith('{')) {
    let json: unknown
    try {
      json = JSON.parse(t)
    } catch {
      throw pointAt(formatError, t)
    }
    if (json !== null && typeof json === 'object' && 'space' in json) return space.fromJSON(json)
  }
  throw pointAt(formatError, t)
}

/** Adds a caret line under the offending part of the input to an ARCH_INVALID error. */
function pointAt(e: unknown, input: string): unknown {
  if (
    !(e instanceof NasError) ||
    e.code !== 'ARCH_INVALID' ||
    typeof e.value !== 'string' ||
    e.value === input
  )
    return e
  const at = input.indexOf(e.value)
  if (at < 0 || e.value.length === 0) return e
  return new NasError({
    code: e.code,
    message: `${e.message}\n  ${input}\n  ${' '.repeat(at)}${'^'.repeat(e.value.length)}`,
    value: e.value,
    ...(e.allowed !== undefined ? { allowed: e.allowed } : {}),
    ...(e.path !== undefined ? { path: e.path } : {}),
    cause: e,
  })
}

/** `nas arch <space> <arch>`: parse, canonical form, hash, encodings and benchmark metrics. */
export function archCommand(io: Io) {
  return new Command('arch')
    .description('parse an architecture: canonical form, hash, encodings and all benchmark metrics')
    .argument('<space>', `space id (${builtinSpaceIds.join(', ')})`)
    .argument('<arch>', "the architecture in the space's text form (e.g. an NB201 arch string) or as JSON")
    .option('--data <dir>', 'benchmark data directory (default: NASJS_DATA_DIR, then ../shared/data)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `\nExample:\n  nas arch nb201 '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'`,
    )
    .action((spaceId, archText, opts) => {
      const space = getSpace(spaceId)
      const arch = parseArchArgument(spaceId, archText)
      const encodings = Object.fromEntries(space.encodings.map((k) => [k, Array.from(space.encode(arch, k))]))
      const out: Record<string, unknown> = {
        space: space.id,
        arch: space.format(arch),
        json: space.toJSON(arch),
        hash: space.hash(arch),
        encodings,
      }
      let metrics: Record<string, Metrics> | undefined
      if (space.id === 'nb201') {
        const a = arch as Nb201Arch
        out['canonical'] = space.format(nb201Canonical(a))
        const bench = loadBenchmark(opts.data)
        out['index'] = bench.indexOf(a)
        metrics = Object.fromEntries(NB201_DATASETS.map((d) => [d, { ...bench.query(a, d) }]))
        out['metrics'] = metrics
      }
      if (opts.json) return io.out(JSON.stringify({ ok: true, ...out }))
      io.out(`space      ${space.id}`)
      io.out(`arch       ${String(out['arch'])}`)
      if (typeof out['canonical'] === 'string') io.out(`canonical  ${out['canonical']}`)
      io.out(`hash       ${String(out['hash'])}`)
      if (typeof out['index'] === 'number')
        io.out(`index      ${out['index']} (official NAS-Bench-201 index)`)
      for (const [k, v] of Object.entries(encodings)) {
        io.out(
          `${k.padEnd(10)} [${v.length}] ${v.map((x) => (Number.isInteger(x) ? String(x) : x.toFixed(3))).join(' ')}`,
        )
      }
      if (metrics) {
        const names = [...new Set(Object.values(metrics).flatMap((m) => Object.keys(m)))]
        io.out('')
        io.out(
          table(
            names.map((n) => [n, ...NB201_DATASETS.map((d) => fmtMetric(metrics[d]?.[n]))]),
            ['metric', ...NB201_DATASETS],
          ),
        )
      }
    })
}

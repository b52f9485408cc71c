import type { Nb201Benchmark } from '@nasjs/benchmarks'
import { loadNb201 } from '@nasjs/benchmarks/node'

/** Where output goes; tests swap these for buffers. */
export interface Io {
  readonly out: (text: string) => void
  readonly err: NodeJS.WriteStream
}

export const defaultIo = (): Io => ({
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  err: process.stderr,
})

/** Loads NB201 from `--data`, NASJS_DATA_DIR or ../shared/data (a clear NasError names the paths tried). */
export function loadBenchmark(dataDir: string | undefined): Nb201Benchmark {
  return loadNb201(dataDir === undefined ? {} : { dataDir })
}

/** Prints a table with aligned columns. */
export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header ? [header, ...rows] : rows
  const widths: number[] = []
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)))
  const fmtRow = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const lines = all.map(fmtRow)
  if (header) lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return lines.join('\n')
}

/** Formats a metric value for people: accuracies with 2 decimals, small values with 4 significant digits, large counts whole. */
export function fmtMetric(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-'
  if (Number.isInteger(v) && Math.abs(v) >= 1000) return String(v) // counts (params of a trained network)
  if (Math.abs(v) >= 100) return v.toFixed(1)
  if (Math.abs(v) >= 1) return v.toFixed(2)
  return v.toPrecision(4)
}

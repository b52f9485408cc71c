import { NasError } from '@nasjs/core'

import type { CompareResult } from './compare.js'

/**
 * Options of {@link anytimeSvg}.
 * @since 0.1.0
 */
export interface AnytimeSvgOptions {
  /**
   * What to plot per query: the incumbent's report metric (default), its regret, or (multi-objective
   * runs) the relative hypervolume or true-front coverage.
   */
  readonly curve?: 'report' | 'regret' | 'hypervolume' | 'coverage'
  readonly width?: number
  readonly height?: number
  readonly title?: string
  /** Draw the +/- one std band around each mean curve (default `true`). */
  readonly band?: boolean
}

/**
 * The colours of the series in nasjs plots (category10-like), in order.
 * @since 0.1.0
 */
export const CHART_PALETTE: readonly string[] = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
]

/**
 * Escapes text for SVG and HTML.
 * @since 0.1.0
 */
export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const esc = escapeXml
const PALETTE = CHART_PALETTE

/**
 * "Nice" tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten).
 * @since 0.1.0
 */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return []
  if (hi <= lo) return [lo]
  const raw = (hi - lo) / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)))
  return out
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 || v === Math.trunc(v) ? String(Math.round(v)) : Number(v.toPrecision(4)).toString()

/**
 * A self-contained SVG line plot of the anytime curves of a comparison: for each strategy the mean
 * over seeds per query with a +/- one standard deviation band, axes with ticks, a grid and a legend.
 *
 * @example
 * ```ts
 * writeFileSync('anytime.svg', anytimeSvg(result, { title: 'NB201 CIFAR-10' }))
 * ```
 * @since 0.1.0
 * @category comparison
 */
export function anytimeSvg(result: CompareResult, opts: AnytimeSvgOptions = {}): string {
  const kind = opts.curve ?? 'report'
  const W = opts.width ?? 720
  const H = opts.height ?? 440
  const series = result.summary.map((s, i) => {
    let mean: readonly number[]
    let std: readonly number[]
    if (kind === 'report') {
      mean = s.curve.mean
      std = s.curve.std
    } else if (kind === 'regret') {
      if (s.regretCurve === undefined) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: 'a regret plot needs the optimum; this comparison has none',
        })
      }
      mean = s.regretCurve
      std = s.curve.std
    } else {
      const c = kind === 'hypervolume' ? s.hypervolume : s.coverage
      if (c === undefined) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `a ${kind} plot needs a multi-objective comparison (objectives / trueFront)`,
        })
      }
      mean = c.mean
      std = c.std
    }
    return { name: s.strategy, mean, std, color: PALETTE[i % PALETTE.length]! }
  })
  const n = result.budget
  const yLabel =
    kind === 'report'
      ? `${result.reportMetric.name} of incumbent`
      : kind === 'regret'
        ? `regret (${result.reportMetric.name})`
        : kind === 'hypervolume'
          ? 'relative hypervolume'
          : 'true-front coverage'

  let lo = Infinity
  let hi = -Infinity
  const band = opts.band ?? true
  // The first queries spread widely (one random architecture); scale the axis to the rest so the
  // differences between strategies stay visible, and clip the early part to the plot.
  const from = n >= 20 ? Math.ceil(n * 0.1) : 0
  for (const s of series) {
    for (let k = from; k < n; k++) {
      const m = s.mean[k]!
      if (!Number.isFinite(m)) continue
      const d = band && Number.isFinite(s.std[k]!) ? s.std[k]! : 0
      lo = Math.min(lo, m - d)
      hi = Math.max(hi, m + d)
    }
  }
  if (!Number.isFinite(lo)) {
    lo = 0
    hi = 1
  }
  if (hi - lo < 1e-12) {
    lo -= 0.5
    hi += 0.5
  }
  const pad = (hi - lo) * 0.05
  lo -= pad
  hi += pad

  const left = 70
  const right = 20
  const top = opts.title === undefined ? 20 : 44
  const legendH = 18 * series.length + 10
  const bottom = 50
  const plotW = W - left - right
  const plotH = H - top - bottom
  const x = (k: number) => left + (n <= 1 ? plotW / 2 : ((k - 1) / (n - 1)) * plotW)
  const y = (v: number) => top + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * plotH
  const p = (v: number) => v.toFixed(2)

  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  )
  if (opts.title !== undefined) {
    parts.push(`<text x="${W / 2}" y="26" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`)
  }
  // grid and ticks
  for (const t of niceTicks(lo, hi)) {
    const yy = p(y(t))
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`,
    )
  }
  for (const t of niceTicks(1, n).filter((t) => t >= 1 && Number.isInteger(t))) {
    const xx = p(x(t))
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${top}" y2="${top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${xx}" y="${top + plotH + 16}" text-anchor="middle">${fmt(t)}</text>`,
    )
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${left + plotW / 2}" y="${H - 12}" text-anchor="middle">queries</text>`,
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  )
  // bands, then mean lines
  for (const s of series) {
    const pts: number[] = []
    for (let k = 0; k < n; k++) if (Number.isFinite(s.mean[k]!)) pts.push(k)
    if (pts.length === 0) continue
    if (band) {
      const upper = pts.map((k) => `${p(x(k + 1))},${p(y(s.mean[k]! + (s.std[k] ?? 0)))}`)
      const lower = pts.map((k) => `${p(x(k + 1))},${p(y(s.mean[k]! - (s.std[k] ?? 0)))}`).reverse()
      parts.push(
        `<polygon points="${[...upper, ...lower].join(' ')}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`,
      )
    }
  }
  for (const s of series) {
    const pts = []
    for (let k = 0; k < n; k++)
      if (Number.isFinite(s.mean[k]!)) pts.push(`${p(x(k + 1))},${p(y(s.mean[k]!))}`)
    if (pts.length > 0) {
      parts.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"><title>${esc(s.name)}</title></polyline>`,
      )
    }
  }
  // legend (top-left inside the plot for rising curves, bottom-left for falling ones)
  const rising = kind !== 'regret'
  const ly = rising ? top + plotH - legendH : top + 6
  parts.push(
    `<rect x="${left + 10}" y="${ly}" width="${Math.max(...series.map((s) => s.name.length)) * 7 + 44}" height="${legendH - 4}" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`,
  )
  series.forEach((s, i) => {
    const yy = ly + 14 + 18 * i
    parts.push(
      `<line x1="${left + 18}" x2="${left + 40}" y1="${yy}" y2="${yy}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${left + 46}" y="${yy}" dominant-baseline="middle">${esc(s.name)}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

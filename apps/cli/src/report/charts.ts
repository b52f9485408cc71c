/** Small, dependency-free SVG charts for the self-contained HTML reports the CLI writes. */
import { CHART_PALETTE, escapeXml, niceTicks } from '@nasjs/benchmarks'

export { escapeXml }

export interface LineSeries {
  readonly name: string
  readonly points: readonly (readonly [number, number])[]
  readonly color?: string
}

export interface ScatterGroup {
  readonly name: string
  readonly points: readonly { readonly x: number; readonly y: number; readonly label?: string }[]
  readonly color?: string
  readonly radius?: number
  /** Join the points (sorted by x) with a step line, e.g. for a Pareto front. */
  readonly connect?: boolean
}

interface Frame {
  /** Where the legend sits inside the plot (default top right). */
  readonly legendAt?: 'top-right' | 'bottom-right'
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly width?: number
  readonly height?: number
}

const PALETTE = CHART_PALETTE

const fmt = (v: number): string => {
  const a = Math.abs(v)
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1)
  return String(Number(v.toPrecision(4)))
}

function extent(values: readonly number[]): [number, number] {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (!Number.isFinite(v)) continue
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  if (lo === Infinity) return [0, 1]
  if (lo === hi) return [lo - 1, hi + 1]
  const pad = (hi - lo) * 0.04
  return [lo - pad, hi + pad]
}

function frame(
  f: Frame,
  xs: readonly number[],
  ys: readonly number[],
  body: (sx: (x: number) => number, sy: (y: number) => number) => string,
  legend: readonly { name: string; color: string }[],
): string {
  const width = f.width ?? 640
  const height = f.height ?? 380
  const m = { left: 64, right: 16, top: 36, bottom: 48 }
  const [x0, x1] = extent(xs)
  const [y0, y1] = extent(ys)
  const pw = width - m.left - m.right
  const ph = height - m.top - m.bottom
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="11">`,
  )
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`)
  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(f.title)}</text>`,
  )
  for (const t of niceTicks(x0, x1, 6)) {
    const x = sx(t).toFixed(1)
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + ph}" stroke="#eee"/>`)
    parts.push(`<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`)
  }
  for (const t of niceTicks(y0, y1, 5)) {
    const y = sy(t).toFixed(1)
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`)
    parts.push(
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`,
    )
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`)
  parts.push(
    `<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(f.xLabel)}</text>`,
  )
  parts.push(
    `<text x="14" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.top + ph / 2})">${escapeXml(f.yLabel)}</text>`,
  )
  parts.push(body(sx, sy))
  legend.forEach((l, i) => {
    const y =
      f.legendAt === 'bottom-right' ? m.top + ph - 10 - (legend.length - 1 - i) * 15 : m.top + 10 + i * 15
    parts.push(
      `<rect x="${m.left + pw - 154}" y="${y - 10}" width="150" height="14" fill="#fff" fill-opacity="0.8"/>`,
    )
    parts.push(`<rect x="${m.left + pw - 150}" y="${y - 8}" width="10" height="10" fill="${l.color}"/>`)
    parts.push(`<text x="${m.left + pw - 135}" y="${y + 1}">${escapeXml(l.name)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n')
}

/** A line chart; with `step`, each series is drawn as a staircase (best-so-far curves). */
export function lineChart(
  opts: Frame & { readonly series: readonly LineSeries[]; readonly step?: boolean },
): string {
  const xs = opts.series.flatMap((s) => s.points.map((p) => p[0]))
  const ys = opts.series.flatMap((s) => s.points.map((p) => p[1]))
  const colored = opts.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]! }))
  return frame(
    opts,
    xs,
    ys,
    (sx, sy) =>
      colored
        .map((s) => {
          const pts = s.points.filter((p) => Number.isFinite(p[1]))
          let d = ''
          pts.forEach((p, i) => {
            const x = sx(p[0]).toFixed(1)
            const y = sy(p[1]).toFixed(1)
            if (i === 0) d += `M${x},${y}`
            else if (opts.step) d += `H${x}V${y}`
            else d += `L${x},${y}`
          })
          return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`
        })
        .join('\n'),
    colored.map((s) => ({ name: s.name, color: s.color })),
  )
}

/** A scatter plot; groups drawn in order (later on top), optionally joined as a step line. */
export function scatterChart(opts: Frame & { readonly groups: readonly ScatterGroup[] }): string {
  const xs = opts.groups.flatMap((g) => g.points.map((p) => p.x))
  const ys = opts.groups.flatMap((g) => g.points.map((p) => p.y))
  const colored = opts.groups.map((g, i) => ({ ...g, color: g.color ?? PALETTE[i % PALETTE.length]! }))
  return frame(
    opts,
    xs,
    ys,
    (sx, sy) =>
      colored
        .map((g) => {
          const r = g.radius ?? 3
          // one dot per half pixel: a cloud of 100,000 trials draws as the few thousand dots it shows
          const seen = new Set<string>()
          const dots = g.points
            .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
            .flatMap((p) => {
              const cx = sx(p.x).toFixed(1)
              const cy = sy(p.y).toFixed(1)
              if (p.label === undefined) {
                const k = `${cx},${cy}`
                if (seen.has(k)) return []
                seen.add(k)
              }
              return [
                `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${g.color}" fill-opacity="0.75">${p.label ? `<title>${escapeXml(p.label)}</title>` : ''}</circle>`,
              ]
            })
            .join('')
          let line = ''
          if (g.connect && g.points.length > 1) {
            const sorted = [...g.points].sort((a, b) => a.x - b.x)
            const d = sorted
              .map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
              .join('')
            line = `<path d="${d}" fill="none" stroke="${g.color}" stroke-width="1.5" stroke-dasharray="4 3"/>`
          }
          return line + dots
        })
        .join('\n'),
    colored.map((g) => ({ name: g.name, color: g.color })),
  )
}

import { parseObjective } from '@nasjs/core'
import type { RunSummary } from '../run-files.js'
import { escapeXml, lineChart, scatterChart } from './charts.js'

const fmt = (v: number | undefined) =>
  v === undefined || Number.isNaN(v)
    ? ''
    : Math.abs(v) >= 100
      ? v.toFixed(1)
      : Math.abs(v) >= 1
        ? v.toFixed(3)
        : v.toPrecision(4)

/** Colours of other runs' fronts (the found front is red, the true front green). */
const REFERENCE_COLORS = ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#17becf']

/**
 * A self-contained HTML report of a search run (no scripts, no external files): the run's facts, the
 * anytime curve, for several objectives the Pareto plot (all trials, the found front, and the
 * benchmark's true front when known), and the table of the best architectures.
 */
export function searchReportHtml(
  summary: RunSummary,
  /** The metrics of every evaluated trial (the cloud of the Pareto plot). */
  trials: readonly { readonly metrics: Readonly<Record<string, number>> }[],
  opts: {
    readonly trueFront?: readonly { readonly x: number; readonly y: number }[]
    /** Other runs' fronts (same objectives), each drawn in its own colour. */
    readonly references?: readonly {
      readonly name: string
      readonly front: readonly { readonly metrics: Readonly<Record<string, number>>; readonly arch: string }[]
    }[]
  } = {},
): string {
  const objectives = summary.objectives.map(parseObjective)
  const multi = objectives.length > 1
  const facts: [string, string][] = [
    ['space', summary.space],
    ['dataset', summary.dataset],
    ['strategy', summary.strategy],
    ['objectives', summary.objectives.join(', ')],
    ['constraints', summary.constraints.join(', ') || '(none)'],
    ['seed', String(summary.seed)],
    [
      'trials',
      `${summary.trials} of ${summary.budget}${summary.complete ? '' : ' (interrupted; resume with --resume)'}`,
    ],
    ['evaluations', String(summary.evaluations)],
    ['cache hits', String(summary.cacheHits)],
    ['failed / pruned / skipped', `${summary.failed} / ${summary.pruned} / ${summary.skipped}`],
  ]
  if (summary.quality) {
    facts.push(['relative hypervolume', summary.quality.relativeHypervolume.toFixed(4)])
    facts.push([
      'true-front coverage',
      `${(summary.quality.coverage * 100).toFixed(1)}% of ${summary.quality.trueFrontSize} Pareto-optimal architectures`,
    ])
  }
  const anytime = lineChart({
    title: multi ? 'Hypervolume relative to the true front' : `Best ${objectives[0]!.name} so far`,
    xLabel: 'trial',
    yLabel: multi ? 'relative hypervolume' : objectives[0]!.name,
    series: [{ name: summary.strategy, points: summary.anytime }],
    step: true,
    legendAt: 'bottom-right',
  })
  let pareto = ''
  if (multi) {
    const [ox, oy] = [objectives[1]!, objectives[0]!]
    const pts = (list: readonly { metrics?: Record<string, number> | undefined }[]) =>
      list
        .filter((r) => r.metrics?.[ox.name] !== undefined && r.metrics[oy.name] !== undefined)
        .map((r) => ({ x: r.metrics![ox.name]!, y: r.metrics![oy.name]! }))
    pareto = scatterChart({
      title: `${oy.name} (${oy.direction}) vs ${ox.name} (${ox.direction})`,
      xLabel: ox.name,
      yLabel: oy.name,
      legendAt: oy.direction === 'max' ? 'bottom-right' : 'top-right',
      groups: [
        {
          name: 'all trials',
          points: pts(trials),
          color: '#bbb',
          radius: 2,
        },
        ...(opts.trueFront
          ? [{ name: 'true front', points: opts.trueFront, color: '#2ca02c', radius: 2.5, connect: true }]
          : []),
        ...(opts.references ?? []).map((r, i) => ({
          name: r.name,
          points: r.front
            .filter((f) => f.metrics[ox.name] !== undefined && f.metrics[oy.name] !== undefined)
            .map((f) => ({ x: f.metrics[ox.name]!, y: f.metrics[oy.name]!, label: f.arch })),
          color: REFERENCE_COLORS[i % REFERENCE_COLORS.length]!,
          radius: 3,
          connect: true,
        })),
        {
          name: 'found front',
          points: summary.front.map((f) => ({
            x: f.metrics[ox.name]!,
            y: f.metrics[oy.name]!,
            label: f.arch,
          })),
          color: '#d62728',
          radius: 3.5,
          connect: true,
        },
      ],
    })
  }
  const shown = multi ? summary.front : summary.best ? [summary.best] : []
  const metricCols = [...new Set(shown.flatMap((f) => Object.keys(f.metrics)))].filter(
    (m) => objectives.some((o) => o.name === m) || ['test_acc', 'valid_acc', 'params', 'flops'].includes(m),
  )
  const tableRows = shown
    .map(
      (f) =>
        `<tr><td>${f.trial}</td><td><code>${escapeXml(f.arch)}</code></td>${metricCols.map((m) => `<td>${fmt(f.metrics[m])}</td>`).join('')}</tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nas search: ${escapeXml(summary.strategy)} on ${escapeXml(summary.space)} ${escapeXml(summary.dataset)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f6f6f6}code{font-size:11px;word-break:break-all}.charts{display:flex;flex-wrap:wrap;gap:1rem}
</style></head><body>
<h1>nas search report</h1>
<table>${facts.map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join('')}</table>
<div class="charts">${anytime}${pareto}</div>
<h2>${multi ? `Pareto front (${shown.length})` : 'Best architecture'}</h2>
<table><tr><th>trial</th><th>architecture</th>${metricCols.map((m) => `<th>${escapeXml(m)}</th>`).join('')}</tr>
${tableRows}</table>
<p>Generated by nasjs from <code>trials.jsonl</code>; rebuild with <code>nas report ${escapeXml(summary.run)}</code>.</p>
</body></html>
`
}

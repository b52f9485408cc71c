import { NasError } from '@nasjs/core'

import type { CompareResult } from './compare.js'

const num = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '' : String(v))

/**
 * The comparison as pretty-printed JSON (curves included). `NaN` (no successful query yet) becomes `null`.
 * @since 0.1.0
 * @category comparison
 */
export function toJson(result: CompareResult): string {
  return JSON.stringify(
    result,
    (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    2,
  )
}

/**
 * The comparison as CSV.
 *
 * - `curves` (default): one row per strategy, seed and query:
 *   `strategy,seed,query,search_best,report_incumbent,regret[,hypervolume,coverage]`;
 * - `summary`: one row per strategy: runs, mean/std of the final report and search metrics, regret,
 *   relative improvements and, for multi-objective runs, final relative hypervolume and coverage.
 *
 * @since 0.1.0
 * @category comparison
 */
export function toCsv(result: CompareResult, kind: 'curves' | 'summary' = 'curves'): string {
  const multi = result.objectives !== undefined
  const sign = result.reportMetric.direction === 'max' ? 1 : -1
  if (kind === 'curves') {
    const head = ['strategy', 'seed', 'query', 'search_best', 'report_incumbent', 'regret']
    if (multi) head.push('hypervolume', 'coverage')
    const lines = [head.join(',')]
    for (const r of result.runs) {
      for (let k = 0; k < r.reportCurve.length; k++) {
        const rep = r.reportCurve[k]!
        const row = [
          csvCell(r.strategy),
          String(r.seed),
          String(k + 1),
          num(r.searchCurve[k]),
          num(rep),
          result.optimum === undefined ? '' : num(sign * (result.optimum - rep)),
        ]
        if (multi) row.push(num(r.hypervolumeCurve?.[k]), num(r.coverageCurve?.[k]))
        lines.push(row.join(','))
      }
    }
    return lines.join('\n') + '\n'
  }
  if (kind !== 'summary') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `unknown CSV kind '${String(kind)}'; expected 'curves' or 'summary'`,
      value: kind,
      allowed: ['curves', 'summary'],
    })
  }
  const head = [
    'strategy',
    'runs',
    'final_mean',
    'final_std',
    'search_mean',
    'search_std',
    'regret_mean',
    'regret_std',
    'relative_improvement',
    'relative_improvement_over_random_search',
  ]
  if (multi) head.push('hypervolume_mean', 'hypervolume_std', 'coverage_mean', 'coverage_std')
  const lines = [head.join(',')]
  for (const s of result.summary) {
    const row = [
      csvCell(s.strategy),
      String(s.runs),
      num(s.final.mean),
      num(s.final.std),
      num(s.finalSearch.mean),
      num(s.finalSearch.std),
      num(s.regret?.mean),
      num(s.regret?.std),
      num(s.relativeImprovement),
      num(s.relativeImprovementOverRandomSearch),
    ]
    if (multi) {
      row.push(
        num(s.hypervolume?.final.mean),
        num(s.hypervolume?.final.std),
        num(s.coverage?.final.mean),
        num(s.coverage?.final.std),
      )
    }
    lines.push(row.join(','))
  }
  return lines.join('\n') + '\n'
}

const csvCell = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)

/**
 * A Markdown table of the per-strategy summary (for READMEs and the CLI).
 * @since 0.1.0
 * @category comparison
 */
export function formatSummary(result: CompareResult, digits = 2): string {
  const f = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits))
  const multi = result.objectives !== undefined
  const head = [
    'strategy',
    'runs',
    `${result.reportMetric.name} (mean ± std)`,
    `${result.searchMetric.name}`,
    'regret',
    'RI vs avg arch (%)',
    'RI vs random search (%)',
  ]
  if (multi) head.push('rel. hypervolume', 'front coverage')
  const rows = result.summary.map((s) => {
    const r = [
      s.strategy,
      String(s.runs),
      `${f(s.final.mean)} ± ${f(s.final.std)}`,
      f(s.finalSearch.mean),
      s.regret === undefined ? '-' : `${f(s.regret.mean)} ± ${f(s.regret.std)}`,
      f(s.relativeImprovement),
      f(s.relativeImprovementOverRandomSearch),
    ]
    if (multi) {
      r.push(
        `${(s.hypervolume?.final.mean ?? NaN).toFixed(4)} ± ${(s.hypervolume?.final.std ?? NaN).toFixed(4)}`,
        `${(s.coverage?.final.mean ?? NaN).toFixed(4)} ± ${(s.coverage?.final.std ?? NaN).toFixed(4)}`,
      )
    }
    return r
  })
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n'
}

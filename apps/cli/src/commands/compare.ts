import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from '@commander-js/extra-typings'
import { NasError, parseObjective, type ObjectiveList } from '@nasjs/core'
import {
  NB201_DATASETS,
  anytimeSvg,
  compareOnNb201,
  formatSummary,
  toCsv,
  toJson,
  type CompareResult,
} from '@nasjs/benchmarks'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { strategyRunner, type Runner } from '@nasjs/strategies'
import { loadBenchmark, type Io } from '../context.js'
import { EXIT } from '../errors.js'
import { escapeXml } from '../report/charts.js'
import { createRunDir, writeJsonAtomic } from '../run-files.js'
import { assertRunsOnTable, cliStrategyRegistry, prepareStrategies } from '../strategies.js'
import { checkTargetMetrics, tableTarget } from '../targets.js'

function positiveInt(name: string, text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new NasError({
      code: name === 'budget' ? 'BUDGET_INVALID' : 'CONFIG_INVALID',
      message: `--${name} must be a positive integer, got '${text}'`,
      value: text,
      allowed: ['integer >= 1'],
    })
  }
  return n
}

/** The `--json` summary: per strategy, the final test accuracy of the incumbent and the improvement over random. */
export function compareJsonSummary(result: CompareResult, dir: string) {
  return {
    ok: true,
    out: dir,
    benchmark: result.benchmark,
    budget: result.budget,
    seeds: result.seeds.length,
    reportMetric: result.reportMetric.name,
    strategies: result.summary.map((s) => ({
      name: s.strategy,
      runs: s.runs,
      mean: s.final.mean,
      std: s.final.std,
      relativeImprovementOverRandom: s.relativeImprovementOverRandomSearch ?? null,
      relativeImprovementOverAverageArch: s.relativeImprovement ?? null,
      ...(s.hypervolume ? { relativeHypervolume: s.hypervolume.final.mean } : {}),
      ...(s.coverage ? { coverage: s.coverage.final.mean } : {}),
    })),
  }
}

/** `nas compare`: the benchmarks comparison protocol over real strategies. */
export function compareCommand(io: Io) {
  const registry = cliStrategyRegistry()
  return new Command('compare')
    .description(
      'compare strategies on a benchmark over seeds (incumbent by valid_acc, reported by test_acc)',
    )
    .addOption(new Option('--space <id>', 'search space').default('nb201'))
    .addOption(new Option('--dataset <name>', `dataset (${NB201_DATASETS.join(', ')})`).default('cifar10'))
    .addOption(
      new Option(
        '--strategies <list>',
        `comma-separated strategies (${registry.names().join(', ')})`,
      ).default('random,rea,ls'),
    )
    .addOption(new Option('--seeds <n>', 'runs per strategy (seeds 0..n-1)').default('20'))
    .addOption(new Option('--budget <n>', 'queries per run').default('150'))
    .option(
      '--objective <metric:dir>',
      'objectives for a multi-objective comparison (repeatable; scored by hypervolume and true-front coverage)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--out <dir>', 'output directory (default: runs/compare-<dataset>-<time>)')
    .option('--data <dir>', 'benchmark data directory (default: NASJS_DATA_DIR, then ../shared/data)')
    .option('--json', 'print the summary as JSON (last line of stdout)')
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nExample:\n  nas compare --strategies random,rea,ls --seeds 20 --budget 150')
    .action(async (opts) => {
      const target = tableTarget(opts.space)
      if (target.space.id !== 'nb201') {
        throw new NasError({
          code: 'NOT_REGISTERED',
          message: `nas compare runs the NAS-Bench-201 protocol: 'nb201', not '${opts.space}'`,
          value: opts.space,
          allowed: ['nb201'],
        })
      }
      const names = opts.strategies
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      if (names.length === 0) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: '--strategies is empty',
          allowed: registry.names(),
        })
      }
      for (const n of names) registry.get(n)
      assertRunsOnTable(names)
      const seeds = positiveInt('seeds', opts.seeds)
      const budget = positiveInt('budget', opts.budget)
      const objectives = opts.objective ?? []
      objectives.forEach(parseObjective)
      if (objectives.length > 0) checkTargetMetrics(target, opts.dataset, objectives, [])
      else target.checkMetrics(opts.dataset, [])
      const searchObjectives: ObjectiveList =
        objectives.length > 0 ? (objectives as unknown as ObjectiveList) : ['valid_acc:max']
      const bench = loadBenchmark(opts.data)
      await prepareStrategies(names, opts.json || opts.quiet ? undefined : (l) => io.err.write(l + '\n'))
      const runners: Record<string, Runner<Nb201Arch>> = Object.fromEntries(
        names.map((n) => [
          n,
          strategyRunner(registry, n, undefined, { space: nb201, objectives: searchObjectives }),
        ]),
      )
      const dir = resolve(
        opts.out ??
          join(
            'runs',
            `compare-${opts.dataset}-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`,
          ),
      )
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.on('SIGINT', onSigint)
      let last = 0
      const started = Date.now()
      let result: CompareResult
      try {
        result = await compareOnNb201<Nb201Arch>({
          bench,
          dataset: opts.dataset,
          runners,
          seeds,
          budget,
          ...(objectives.length > 1 ? { objectives } : {}),
          signal: controller.signal,
          onProgress: (p) => {
            if (opts.quiet) return
            const now = Date.now()
            const done = p.done
            if (now - last > 1000 || done === p.total) {
              last = now
              const text = `runs ${done}/${p.total} · last: ${p.strategy} seed ${p.seed} -> ${p.final.toFixed(2)} · ${((now - started) / 1000).toFixed(1)}s`
              if (opts.json)
                io.err.write(
                  JSON.stringify({
                    event: { type: 'compare-progress', runsDone: done, runsTotal: p.total },
                  }) + '\n',
                )
              else io.err.write(text + '\n')
            }
          },
        })
      } catch (e) {
        if (controller.signal.aborted) {
          io.err.write('compare interrupted; no results written\n')
          process.exitCode = EXIT.interrupted
          return
        }
        throw e
      } finally {
        process.off('SIGINT', onSigint)
      }
      createRunDir(dir)
      writeFileSync(join(dir, 'compare.json'), toJson(result))
      writeFileSync(join(dir, 'curves.csv'), toCsv(result, 'curves'))
      writeFileSync(join(dir, 'summary.csv'), toCsv(result, 'summary'))
      const svg = anytimeSvg(result)
      writeFileSync(join(dir, 'anytime.svg'), svg)
      const md = formatSummary(result)
      writeFileSync(
        join(dir, 'report.html'),
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>nas compare</title><style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2rem auto}pre{font-size:12px}</style></head><body><h1>nas compare: ${escapeXml(result.benchmark ?? '')}</h1><p>${seeds} seeds x ${budget} queries; incumbent by ${escapeXml(result.searchMetric.name)}, reported by ${escapeXml(result.reportMetric.name)}.</p>${svg}<pre>${escapeXml(md)}</pre></body></html>\n`,
      )
      const summary = compareJsonSummary(result, dir)
      writeJsonAtomic(join(dir, 'summary.json'), summary)
      if (opts.json) return io.out(JSON.stringify(summary))
      io.out(`\n${result.benchmark ?? ''}: ${seeds} seeds x ${budget} queries\n`)
      io.out(md)
      io.out(`files: ${dir}/{compare.json,curves.csv,summary.csv,anytime.svg,report.html}`)
    })
}

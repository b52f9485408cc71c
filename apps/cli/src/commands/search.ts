import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from '@commander-js/extra-typings'
import { NasError, Rng, parseConstraint, parseObjective, type SearchEvent } from '@nasjs/core'
import {
  NB201_DATASETS,
  assertNb201Dataset,
  assertNb201Metric,
  createNb201Evaluator,
  isCheapNb201Metric,
  nb201FreeFeatures,
  trueParetoFront,
  type Nb201Benchmark,
} from '@nasjs/benchmarks'
import { getSpace, nb201, type Nb201Arch } from '@nasjs/search-space'
import { runSearch } from '@nasjs/strategies'
import { z } from 'zod'
import { BENCHMARKED_SPACES, fmtMetric, loadBenchmark, table, type Io } from '../context.js'
import { EXIT } from '../errors.js'
import { createRenderer } from '../render/progress.js'
import { searchReportHtml } from '../report/html.js'
import {
  RUN_FILES,
  buildSummary,
  ensureDir,
  frontCsv,
  readRun,
  readRunConfig,
  trialsFromJournal,
  writeJsonAtomic,
  type RunConfig,
  type RunSummary,
} from '../run-files.js'
import { assertRunsOnTable, cliStrategyRegistry, prepareStrategies } from '../strategies.js'

export const DEFAULT_OBJECTIVES = ['valid_acc:max', 'latency.pixel3:min'] as const

/** The options of `nas search` after commander, validated with zod. */
const SearchFlags = z.object({
  space: z.string(),
  dataset: z.string(),
  strategy: z.string(),
  budget: z.string(),
  seed: z.string(),
  objective: z.array(z.string()).optional(),
  constraint: z.array(z.string()).optional(),
  config: z.string().optional(),
  out: z.string().optional(),
  resume: z.boolean().optional(),
  concurrency: z.string(),
  cache: z.enum(['auto', 'functional', 'exact', 'off']),
  data: z.string().optional(),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
})

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v]

function intFlag(name: string, text: string, min: number): number {
  const n = Number(text)
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new NasError({
      code: name === 'budget' ? 'BUDGET_INVALID' : 'CONFIG_INVALID',
      message: `--${name} must be an integer >= ${min}, got '${text}'`,
      value: text,
      allowed: [`integer >= ${min}`],
    })
  }
  return n
}

function readJsonFile(path: string, what: string): unknown {
  if (!existsSync(path)) {
    throw new NasError({ code: 'IO', message: `${what} ${path} does not exist`, value: path, path: [path] })
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${what} ${path} is not valid JSON`,
      value: path,
      cause,
    })
  }
}

function checkSearchable(spaceId: string): void {
  getSpace(spaceId) // unknown ids: NOT_REGISTERED listing every space
  if (!(BENCHMARKED_SPACES as readonly string[]).includes(spaceId)) {
    throw new NasError({
      code: 'NOT_REGISTERED',
      message: `space '${spaceId}' has no benchmark to evaluate architectures on; nas search and nas compare run on ${BENCHMARKED_SPACES.map((s) => `'${s}'`).join(', ')}`,
      value: spaceId,
      allowed: BENCHMARKED_SPACES,
    })
  }
}

/** Validates objectives/constraints against the benchmark's metric names (unknown devices list the valid ones). */
export function checkMetrics(
  dataset: string,
  objectives: readonly string[],
  constraints: readonly string[],
): void {
  const ds = assertNb201Dataset(dataset)
  for (const o of objectives) assertNb201Metric(ds, parseObjective(o).name)
  for (const c of constraints) assertNb201Metric(ds, parseConstraint(c).metric)
}

const timestamp = () => new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)

/** Writes summary.json, pareto.csv and report.html from the run's journal (also used by `nas report`). */
export function writeRunReport(
  dir: string,
  bench: Nb201Benchmark | undefined,
  complete: boolean,
): RunSummary {
  const { config, journal } = readRun(dir)
  const space = getSpace(config.space)
  const rows = trialsFromJournal(journal, space)
  const indexOf = bench && config.space === 'nb201' ? (arch: string) => bench.indexOf(arch) : undefined
  const summary = buildSummary(dir, config, rows, {
    ...(bench ? { bench } : {}),
    ...(indexOf ? { indexOf } : {}),
    complete,
  })
  writeJsonAtomic(join(dir, RUN_FILES.summary), summary)
  writeFileSync(join(dir, RUN_FILES.pareto), frontCsv(summary))
  let trueFront: { x: number; y: number }[] | undefined
  if (bench && config.objectives.length > 1) {
    const objs = config.objectives.map(parseObjective)
    const tf = trueParetoFront(bench, config.dataset, objs, { missing: 'skip' })
    const [ox, oy] = [objs[1]!, objs[0]!]
    trueFront = tf.keys.map((k) => {
      const m = bench.query(k, config.dataset)
      return { x: m[ox.name]!, y: m[oy.name]! }
    })
  }
  writeFileSync(join(dir, RUN_FILES.report), searchReportHtml(summary, rows, trueFront ? { trueFront } : {}))
  return summary
}

/** Human-readable result: the best architecture or the Pareto front, and where the files are. */
export function printSummary(io: Io, s: RunSummary): void {
  const objNames = s.objectives.map((o) => parseObjective(o).name)
  const extra = ['test_acc', 'params', 'flops'].filter((m) => !objNames.includes(m))
  const cols = [...objNames, ...extra]
  if (s.objectives.length > 1) {
    io.out(`\nPareto front: ${s.front.length} architectures`)
    if (s.quality) {
      io.out(
        `relative hypervolume ${s.quality.relativeHypervolume.toFixed(4)} · true-front coverage ${(s.quality.coverage * 100).toFixed(1)}% (${Math.round(s.quality.coverage * s.quality.trueFrontSize)}/${s.quality.trueFrontSize})`,
      )
    }
    const shown = s.front.length > 25 ? s.front.slice(0, 25) : s.front
    io.out(
      table(
        shown.map((f) => [String(f.trial), ...cols.map((c) => fmtMetric(f.metrics[c])), f.arch]),
        ['trial', ...cols, 'architecture'],
      ),
    )
    if (shown.length < s.front.length) io.out(`(${s.front.length - shown.length} more in ${s.files.pareto})`)
  } else if (s.best) {
    io.out(`\nbest architecture (trial ${s.best.trial}):\n  ${s.best.arch}`)
    const names = [...new Set([...cols, ...Object.keys(s.best.metrics)])].filter(
      (n) => s.best!.metrics[n] !== undefined,
    )
    io.out(table(names.slice(0, 12).map((n) => [`  ${n}`, fmtMetric(s.best!.metrics[n])])))
  } else {
    io.out('\nno feasible architecture found')
  }
  io.out(`\nreport:  ${s.files.report}\ntrials:  ${s.files.journal}\nsummary: ${s.files.summary}`)
}

/** `nas search`. */
export function searchCommand(io: Io) {
  const strategies = cliStrategyRegistry()
  const cmd = new Command('search')
    .description(
      'run a search on a benchmark and write trials.jsonl, summary.json, pareto.csv and report.html',
    )
    .addOption(new Option('--space <id>', 'search space').default('nb201'))
    .addOption(new Option('--dataset <name>', `dataset (${NB201_DATASETS.join(', ')})`).default('cifar10'))
    .addOption(
      new Option('--strategy <name>', `strategy (${strategies.names().join(', ')})`).default('nsga2'),
    )
    .addOption(new Option('--budget <n>', 'trials to run (cache hits included)').default('1000'))
    .addOption(new Option('--seed <n>', 'random seed').default('0'))
    .option(
      '--objective <metric:dir>',
      `objective, repeatable (default: ${DEFAULT_OBJECTIVES.join(' ')})`,
      collect,
    )
    .option('--constraint <expr>', 'constraint, repeatable, e.g. "latency.pixel3<=5"', collect)
    .option('--config <file>', "JSON file with the strategy's config (see nas strategies)")
    .option('--out <dir>', 'run directory (default: runs/<strategy>-<space>-<dataset>-<time>)')
    .option('--resume', 'continue the run in --out from its journal')
    .addOption(new Option('--concurrency <n>', 'evaluations in flight').default('1'))
    .addOption(
      new Option(
        '--cache <mode>',
        'result cache: functional (equal functional hashes evaluated once), exact (equal architectures), off; auto = exact when a hardware metric (latency, energy) is an objective or constraint, since dead ops still cost time, else functional',
      )
        .choices(['auto', 'functional', 'exact', 'off'] as const)
        .default('auto' as const),
    )
    .option('--data <dir>', 'benchmark data directory (default: NASJS_DATA_DIR, then ../shared/data)')
    .option('--json', 'NDJSON progress on stderr; the summary as the last line of stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Metrics: valid_acc, test_acc, params, flops, latency.<device>, energy.<device>
  HW-NAS-Bench devices: edgegpu raspi4 edgetpu pixel3 eyeriss fpga; HELP settings e.g. titan_rtx_1, gold_6226
Examples:
  nas search                                   # NSGA-II on NB201 CIFAR-10, valid_acc vs Pixel 3 latency
  nas search --strategy rea --budget 150 --objective valid_acc:max --out runs/rea
  nas search --strategy rea --objective valid_acc:max --constraint "latency.pixel3<=5"
  nas search --out runs/rea --resume           # continue an interrupted run`,
    )
    .action(async (raw, command) => {
      const flags = SearchFlags.parse(raw)
      const fromCli = (name: string) => command.getOptionValueSource(name) === 'cli'
      let config: RunConfig
      let dir: string
      if (flags.resume) {
        if (flags.out === undefined) {
          throw new NasError({
            code: 'CONFIG_INVALID',
            message: '--resume needs --out <run directory> of the run to continue',
          })
        }
        dir = resolve(flags.out)
        config = readRunConfig(dir)
        // flags given on the command line must agree with the run being resumed
        const same: [string, string, string][] = [
          ['space', flags.space, config.space],
          ['dataset', flags.dataset, config.dataset],
          ['strategy', flags.strategy, config.strategy],
          ['seed', flags.seed, String(config.seed)],
        ]
        for (const [name, given, stored] of same) {
          if (fromCli(name) && given !== stored) {
            throw new NasError({
              code: name === 'space' ? 'SPACE_MISMATCH' : 'CONFIG_INVALID',
              message: `--resume: the run in ${dir} was made with --${name} ${stored}, not ${given}`,
              value: given,
              allowed: [stored],
            })
          }
        }
        if (fromCli('budget')) config = { ...config, budget: intFlag('budget', flags.budget, 1) }
      } else {
        const objectives = flags.objective ?? [...DEFAULT_OBJECTIVES]
        const constraints = flags.constraint ?? []
        objectives.forEach((o) => parseObjective(o))
        constraints.forEach((c) => parseConstraint(c))
        checkSearchable(flags.space)
        checkMetrics(flags.dataset, objectives, constraints)
        const budget = intFlag('budget', flags.budget, 1)
        const seed = intFlag('seed', flags.seed, 0)
        const concurrency = intFlag('concurrency', flags.concurrency, 1)
        const strategyConfig = strategies.parseConfig(
          flags.strategy,
          flags.config === undefined ? undefined : readJsonFile(flags.config, 'strategy config'),
        )
        dir = resolve(
          flags.out ?? join('runs', `${flags.strategy}-${flags.space}-${flags.dataset}-${timestamp()}`),
        )
        if (existsSync(join(dir, RUN_FILES.journal))) {
          throw new NasError({
            code: 'CONFIG_INVALID',
            message: `${dir} already holds a run; continue it with --resume or choose another --out`,
            value: dir,
          })
        }
        const hardware = [
          ...objectives.map((o) => parseObjective(o).name),
          ...constraints.map((c) => parseConstraint(c).metric),
        ].some((m) => /^(latency|energy|arithmetic_intensity)\./.test(m))
        const cache = flags.cache === 'auto' ? (hardware ? 'exact' : 'functional') : flags.cache
        config = {
          v: 1,
          command: 'search',
          space: flags.space,
          dataset: flags.dataset,
          strategy: flags.strategy,
          strategyConfig,
          objectives,
          constraints,
          budget,
          seed,
          concurrency,
          cache,
          created: new Date().toISOString(),
        }
      }
      checkSearchable(config.space)
      checkMetrics(config.dataset, config.objectives, config.constraints)
      assertRunsOnTable([config.strategy])
      const bench = loadBenchmark(flags.data)
      const objectives = config.objectives.map(parseObjective)
      const constraints = config.constraints.map(parseConstraint)
      const metricNames = [
        ...new Set([
          'valid_acc',
          'test_acc',
          'params',
          'flops',
          ...objectives.map((o) => o.name),
          ...constraints.map((c) => c.metric),
        ]),
      ]
      const evaluator = createNb201Evaluator(bench, { dataset: config.dataset, metrics: metricNames })
      const cheap = metricNames.filter(isCheapNb201Metric)
      await prepareStrategies(
        [config.strategy],
        flags.json || flags.quiet ? undefined : (l) => io.err.write(l + '\n'),
      )
      const strategy = strategies.create(config.strategy, config.strategyConfig, {
        space: nb201,
        rng: new Rng(config.seed),
        objectives,
        constraints,
        // Free statistics (log params, log FLOPs, zero-cost scores, live and executed op counts) for
        // strategies configured with `extraFeatures` (bananas, gpbo, linas); the others ignore them.
        features: nb201FreeFeatures(bench, config.dataset, { structure: true }).of,
      })
      ensureDir(dir)
      if (!flags.resume) writeJsonAtomic(join(dir, RUN_FILES.config), config)

      const controller = new AbortController()
      let interrupted = false
      const onSigint = () => {
        if (interrupted) process.exit(EXIT.interrupted)
        interrupted = true
        controller.abort()
      }
      process.on('SIGINT', onSigint)
      process.on('SIGTERM', onSigint)
      const first = objectives[0]!
      const renderer = createRenderer({
        json: flags.json === true,
        quiet: flags.quiet === true,
        describeBest: (e: Extract<SearchEvent, { type: 'progress' }>) =>
          e.frontSize !== undefined && objectives.length > 1
            ? `front ${e.frontSize}`
            : e.best?.[first.name] !== undefined
              ? `best ${first.name} ${fmtMetric(e.best[first.name])}`
              : '',
      })
      let result
      try {
        result = await runSearch<Nb201Arch>({
          space: nb201,
          strategy,
          evaluator,
          evaluatorInfo: evaluator.info,
          objectives,
          constraints,
          budget: { trials: config.budget },
          concurrency: config.concurrency,
          cache: config.cache,
          journal: join(dir, RUN_FILES.journal),
          resume: flags.resume === true,
          signal: controller.signal,
          onEvent: renderer.onEvent,
          seed: config.seed,
          name: config.strategy,
          ...(cheap.length > 0
            ? {
                cheapMetrics: (a: Nb201Arch) => {
                  const m = bench.query(a, config.dataset)
                  return Object.fromEntries(cheap.flatMap((k) => (m[k] === undefined ? [] : [[k, m[k]]])))
                },
              }
            : {}),
        })
      } finally {
        renderer.stop()
        process.off('SIGINT', onSigint)
        process.off('SIGTERM', onSigint)
      }
      if (flags.resume && fromCli('budget')) writeJsonAtomic(join(dir, RUN_FILES.config), config)
      const complete = result.reason !== 'aborted'
      const summary = writeRunReport(dir, bench, complete)
      if (flags.json) io.out(JSON.stringify(summary))
      else printSummary(io, summary)
      if (!complete) {
        const how = `nas search --out ${flags.out ?? dir} --resume`
        io.err.write(
          `\ninterrupted after ${summary.trials} trials; nothing is lost. Resume with:\n  ${how}\n`,
        )
        process.exitCode = EXIT.interrupted
      }
    })
  return cmd
}

import { Command, Option } from '@commander-js/extra-typings'
import type { Nb201Benchmark } from '@nasjs/benchmarks'
import { NB201_DATASETS, sampleCanonicalCells } from '@nasjs/benchmarks'
import { NasError, Rng, kendallTau, spearmanRho } from '@nasjs/core'
import { formatNb201, getSpace, nb201Canonical, type Nb201Arch } from '@nasjs/search-space'
import { loadBenchmark, table, type Io } from '../context.js'
import { NB201_NETWORKS } from '../targets.js'
import { duration } from '../render/progress.js'
import { intFlag } from '../search/parse.js'
import { dataSpec } from '../search/training.js'

interface Common {
  space: string
  dataset: string
  proxy: string
  data: string
  batch: string
  seed: string
  init: 'pytorch' | 'builder'
  source: 'computed' | 'table'
  dataDir?: string
}

const commonOptions = (c: Command) =>
  c
    .addOption(
      new Option(
        '--dataset <name>',
        `benchmark dataset: the network's head and input, and the table (${NB201_DATASETS.join(', ')})`,
      ).default('cifar10'),
    )
    .addOption(
      new Option('--proxy <list>', 'comma-separated proxies, or all (see nas proxies list)').default('all'),
    )
    .addOption(
      new Option(
        '--data <dataset>',
        'the minibatch: fashion-mnist, digits, mnist, a CSV file, a folder of images (fitted to the network input), or random (Gaussian inputs, random labels)',
      ).default('fashion-mnist'),
    )
    .addOption(new Option('--batch <n>', 'examples in the minibatch').default('64'))
    .addOption(new Option('--seed <n>', 'seed of the initialisation and the minibatch').default('0'))
    .addOption(
      new Option(
        '--init <scheme>',
        "initial weights: pytorch (PyTorch's defaults, as the published scores) or builder (the TF.js builder's)",
      )
        .choices(['pytorch', 'builder'] as const)
        .default('pytorch' as const),
    )
    .addOption(
      new Option(
        '--source <where>',
        'computed here on TF.js, or table: the published NAS-Bench-Suite-Zero scores (nb201, cifar10 and imagenet16-120)',
      )
        .choices(['computed', 'table'] as const)
        .default('computed' as const),
    )
    .option(
      '--data-dir <dir>',
      'benchmark data directory (default: NASJS_DATA_DIR, then @nasjs/benchmark-data, then ../shared/data)',
    )

/** Everything needed to score architectures on TF.js: loaded once per command. */
async function openScorer(opts: Common, log: ((line: string) => void) | undefined) {
  const [{ initBackend, formatBackendInfo }, models, modelsNode, proxies] = await Promise.all([
    import('@nasjs/backend'),
    import('@nasjs/models'),
    import('@nasjs/models/node'),
    import('@nasjs/proxies'),
  ])
  const space = getSpace(opts.space)
  const network = opts.space === 'nb201' ? NB201_NETWORKS[opts.dataset] : undefined
  if (opts.space === 'nb201' && network === undefined) {
    throw new NasError({
      code: 'NOT_REGISTERED',
      message: `--dataset '${opts.dataset}': NB201 networks are built for ${NB201_DATASETS.join(', ')}`,
      value: opts.dataset,
      allowed: NB201_DATASETS,
    })
  }
  const list = proxies.createProxyRegistry().parseList(opts.proxy)
  const batchSize = intFlag('batch', opts.batch, 2)
  const seed = intFlag('seed', opts.seed, 0)
  const backend = await initBackend({ quiet: true })
  let pool: import('@nasjs/models').Dataset | undefined
  if (opts.data !== 'random') {
    const loaded = await modelsNode.loadDataset(
      (dataSpec(opts.data) ?? 'fashion-mnist') as import('@nasjs/models/node').DatasetSpec,
      { seed },
    )
    pool = loaded.train
  }
  const describeBatch = (shape: readonly number[]) =>
    pool === undefined
      ? `${batchSize} Gaussian inputs with random labels`
      : `${batchSize} ${pool.name} examples${pool.shape.join('x') === shape.join('x') ? '' : ` fitted to ${shape.join('x')}`}`
  log?.(
    `TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}; proxies: ${list.map((p) => p.name).join(', ')}`,
  )
  let fitted: import('@nasjs/models').Dataset | undefined
  return {
    space,
    list,
    describeBatch,
    /** Scores one architecture; the batch and initialisation are drawn from a stream of (seed, arch). */
    async score(arch: unknown) {
      const options = network === undefined ? {} : { ...network }
      const model = models.buildModel(space as never, arch as never, { ...options, seed })
      try {
        const shape = model.inputs[0]!.shape.slice(1) as number[]
        const rng = new Rng(`${seed}:${space.format(arch)}`)
        if (opts.init === 'pytorch') proxies.reinitialize(model, 'pytorch', rng)
        let batch: import('@nasjs/proxies').ProxyBatch
        if (pool === undefined) {
          const out = model.outputs[0]!.shape
          batch = proxies.randomBatch(shape, batchSize, out[out.length - 1]!, rng)
        } else {
          if (fitted === undefined)
            fitted =
              pool.shape.join('x') === shape.join('x')
                ? pool
                : proxies.fitToShape(pool, shape as [number, number, number])
          batch = proxies.sampleBatch(fitted, batchSize, rng)
        }
        return { scores: await proxies.scoreProxies(model, list, batch, rng), shape }
      } finally {
        model.dispose()
      }
    },
  }
}

/** The published NAS-Bench-Suite-Zero scores of an NB201 cell, by proxy name (NaN where the suite has none). */
async function tableScores(bench: Nb201Benchmark, dataset: string, dataDir: string | undefined) {
  const { loadNb201ZeroCost } = await import('@nasjs/benchmarks/node')
  const zc = loadNb201ZeroCost(bench, dataset, dataDir === undefined ? {} : { dataDir })
  const columns: Record<string, Float64Array> = { ...zc.columns, ...zc.suite }
  return (index: number, proxy: string): number => {
    const col = columns[proxy]
    if (col === undefined) return Number.NaN
    const v = col[index]!
    return v === -1e8 ? Number.NaN : v // the suite stores a failed score as -1e8
  }
}

/** `n` distinct canonical NB201 cells with a path from input to output, in a seeded order. */
const sampleCells = (bench: Nb201Benchmark, n: number, rng: Rng): number[] =>
  sampleCanonicalCells(bench, n, rng)

/** Ranks of `xs` (1 = worst, n = best; ties share their mean rank; NaN ranks 0). */
function ranks(xs: readonly number[], higherIsBetter: boolean): number[] {
  const order = xs
    .map((v, i) => [higherIsBetter ? v : -v, i] as const)
    .filter(([v]) => Number.isFinite(v))
    .sort((a, b) => a[0] - b[0])
  const out = new Array<number>(xs.length).fill(0)
  for (let k = 0; k < order.length;) {
    let j = k
    while (j + 1 < order.length && order[j + 1]![0] === order[k]![0]) j++
    for (let m = k; m <= j; m++) out[order[m]![1]] = (k + j) / 2 + 1
    k = j + 1
  }
  return out
}

const fmt = (v: number) => (Number.isNaN(v) ? '-' : Math.abs(v) >= 1000 ? v.toFixed(1) : v.toPrecision(6))

function scoreCommand(io: Io) {
  return commonOptions(
    new Command('score').description(
      'score one architecture with zero-cost proxies (untrained network, one minibatch)',
    ),
  )
    .addOption(new Option('--space <id>', 'search space (one with a network builder)').default('nb201'))
    .requiredOption('--arch <text>', "the architecture, in the space's text form")
    .option('--json', 'the scores as one JSON line on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The network is the space's full-size network (nb201: the CIFAR-10 network of the benchmark, 16 channels,
5 cells per stage), built for --dataset. --source table looks an NB201 cell up in NAS-Bench-Suite-Zero
(its canonical form) instead of computing.
Example:
  nas proxies score --arch "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|" --proxy synflow,nwot,zen`,
    )
    .action(async (opts) => {
      const space = getSpace(opts.space)
      const arch = space.parse(opts.arch)
      const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')
      let rows: { proxy: string; score: number; seconds: number; source: string }[]
      let about: string
      if (opts.source === 'table') {
        if (opts.space !== 'nb201') {
          throw new NasError({
            code: 'METRIC_MISSING',
            message: `--source table: published proxy scores exist for nb201 cells only, not ${opts.space}`,
            value: opts.space,
            allowed: ['nb201'],
          })
        }
        const { createProxyRegistry } = await import('@nasjs/proxies')
        const list = createProxyRegistry().parseList(opts.proxy)
        const bench = loadBenchmark(opts.dataDir)
        const lookup = await tableScores(bench, opts.dataset, opts.dataDir)
        const canonical = nb201Canonical(arch as Nb201Arch)
        const index = bench.indexOf(canonical)
        rows = list.map((p) => ({ proxy: p.name, score: lookup(index, p.name), seconds: 0, source: 'table' }))
        about = `NAS-Bench-Suite-Zero ${opts.dataset}, canonical cell ${formatNb201(canonical)}`
      } else {
        const scorer = await openScorer(opts, log)
        const r = await scorer.score(arch)
        rows = r.scores.map((s) => ({ ...s }))
        about = `${opts.space === 'nb201' ? `nb201 network for ${opts.dataset}` : `${opts.space} network (the builder's defaults)`} (${r.shape.join('x')}), ${opts.init} initialisation; batch: ${scorer.describeBatch(r.shape)}`
      }
      if (opts.json) {
        io.out(
          JSON.stringify({
            ok: true,
            space: opts.space,
            arch: space.format(arch),
            dataset: opts.dataset,
            about,
            scores: rows,
          }),
        )
        return
      }
      io.out(
        table(
          rows.map((r) => [
            r.proxy,
            fmt(r.score),
            r.source === 'table' ? '-' : r.seconds.toFixed(3),
            r.source,
          ]),
          ['proxy', 'score', 'seconds', 'source'],
        ),
      )
      io.out(`\n${about}`)
    })
}

function correlateCommand(io: Io) {
  return commonOptions(
    new Command('correlate').description(
      'rank correlation of each proxy with benchmark accuracy over sampled NB201 cells',
    ),
  )
    .addOption(new Option('--space <id>', 'search space with a benchmark (nb201)').default('nb201'))
    .addOption(new Option('--sample <n>', 'distinct canonical cells, sampled with --seed').default('300'))
    .addOption(
      new Option('--metric <name>', 'benchmark accuracy to correlate with')
        .choices(['test_acc', 'valid_acc'] as const)
        .default('test_acc' as const),
    )
    .option('--json', 'the correlations as one JSON document on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Spearman's rho and Kendall's tau of each proxy against the benchmark's accuracy (200 epochs) on the same
cells, and the seconds each proxy took per architecture. --source table correlates the published scores
in a second; computing them builds and scores the full network of every cell (seconds to minutes each).
Examples:
  nas proxies correlate --dataset cifar10 --sample 300 --source table
  nas proxies correlate --sample 30 --proxy synflow,nwot,zen --json`,
    )
    .action(async (opts) => {
      if (opts.space !== 'nb201') {
        throw new NasError({
          code: 'NOT_REGISTERED',
          message: `--space '${opts.space}': correlating needs a benchmark of accuracies; nb201 has one`,
          value: opts.space,
          allowed: ['nb201'],
        })
      }
      const sample = intFlag('sample', opts.sample, 3)
      const seed = intFlag('seed', opts.seed, 0)
      const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')
      const bench = loadBenchmark(opts.dataDir)
      const accuracy = bench.column(opts.dataset, opts.metric)
      const cells = sampleCells(bench, sample, new Rng(`correlate:${seed}`))
      const scores = new Map<string, number[]>()
      const seconds = new Map<string, number[]>()
      let names: string[]
      if (opts.source === 'table') {
        const { createProxyRegistry } = await import('@nasjs/proxies')
        names = createProxyRegistry()
          .parseList(opts.proxy)
          .map((p) => p.name)
        const lookup = await tableScores(bench, opts.dataset, opts.dataDir)
        for (const n of names)
          scores.set(
            n,
            cells.map((i) => lookup(i, n)),
          )
      } else {
        const scorer = await openScorer(opts, log)
        names = scorer.list.map((p) => p.name)
        for (const n of names) {
          scores.set(n, [])
          seconds.set(n, [])
        }
        const t0 = Date.now()
        const controller = new AbortController()
        const onSigint = () => controller.abort()
        process.on('SIGINT', onSigint)
        try {
          for (const [k, index] of cells.entries()) {
            if (controller.signal.aborted) break
            const r = await scorer.score(bench.archAt(index))
            for (const s of r.scores) {
              scores.get(s.proxy)!.push(s.score)
              seconds.get(s.proxy)!.push(s.seconds)
            }
            const perArch = (Date.now() - t0) / (k + 1)
            log?.(
              `${k + 1}/${cells.length} · ${(perArch / 1000).toFixed(1)} s/arch · ETA ${duration(perArch * (cells.length - k - 1))}`,
            )
          }
        } finally {
          process.off('SIGINT', onSigint)
        }
        if (controller.signal.aborted)
          log?.(`interrupted: correlating the ${scores.get(names[0]!)!.length} cells scored`)
      }
      const rows = names.map((n) => {
        const ours = scores.get(n)!
        const pairs = ours
          .map((v, k) => [v, accuracy[cells[k]!]!] as const)
          .filter(([v]) => Number.isFinite(v))
        const xs = pairs.map((p) => p[0])
        const ys = pairs.map((p) => p[1])
        const secs = seconds.get(n) ?? []
        return {
          proxy: n,
          cells: pairs.length,
          spearman: pairs.length >= 3 ? spearmanRho(xs, ys) : Number.NaN,
          kendall: pairs.length >= 3 ? kendallTau(xs, ys) : Number.NaN,
          secondsPerArch: secs.length === 0 ? 0 : secs.reduce((a, b) => a + b, 0) / secs.length,
        }
      })
      if (opts.json) {
        io.out(
          JSON.stringify({
            ok: true,
            space: 'nb201',
            dataset: opts.dataset,
            metric: opts.metric,
            source: opts.source,
            sample: cells.length,
            seed,
            ...(opts.source === 'computed'
              ? { data: opts.data, batch: intFlag('batch', opts.batch, 2), init: opts.init }
              : {}),
            proxies: rows,
          }),
        )
        return
      }
      io.out(
        table(
          rows.map((r) => [
            r.proxy,
            fmt(r.spearman).slice(0, 6),
            fmt(r.kendall).slice(0, 6),
            String(r.cells),
            opts.source === 'table' ? '-' : r.secondsPerArch.toFixed(2),
          ]),
          ['proxy', 'spearman', 'kendall', 'cells', 's/arch'],
        ),
      )
      io.out(
        `\n${opts.source === 'table' ? 'NAS-Bench-Suite-Zero scores' : 'computed scores'} against NB201 ${opts.dataset} ${opts.metric} on ${cells.length} canonical cells (seed ${seed})`,
      )
    })
}

function rankCommand(io: Io) {
  return commonOptions(
    new Command('rank').description(
      'rank sampled NB201 cells by proxy and look up the top k in the benchmark (a zero-cost warm-up)',
    ),
  )
    .addOption(
      new Option('--sample <n>', 'distinct canonical cells to rank, sampled with --seed').default('1000'),
    )
    .addOption(new Option('--top <k>', 'the best-ranked cells to evaluate (benchmark queries)').default('10'))
    .option('--json', 'the ranking and the evaluated cells as one JSON document on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Several proxies are combined by the sum of their ranks in the sample (each in its own direction), as
Abdelfattah et al.'s vote. The top k are then evaluated: their validation accuracy picks the result,
and its test accuracy is reported.
Examples:
  nas proxies rank --source table --proxy synflow,jacov,snip --sample 1000 --top 10
  nas proxies rank --proxy synflow,nwot --sample 50 --top 5`,
    )
    .action(async (opts) => {
      const sample = intFlag('sample', opts.sample, 1)
      const top = intFlag('top', opts.top, 1)
      const seed = intFlag('seed', opts.seed, 0)
      const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')
      const bench = loadBenchmark(opts.dataDir)
      const cells = sampleCells(bench, sample, new Rng(`rank:${seed}`))
      const { createProxyRegistry, rankByProxy } = await import('@nasjs/proxies')
      const list = createProxyRegistry().parseList(opts.proxy)
      const perProxy = new Map(list.map((p) => [p.name, [] as number[]]))
      const t0 = Date.now()
      if (opts.source === 'table') {
        const lookup = await tableScores(bench, opts.dataset, opts.dataDir)
        for (const p of list)
          perProxy.set(
            p.name,
            cells.map((i) => lookup(i, p.name)),
          )
      } else {
        const scorer = await openScorer({ ...opts, space: 'nb201' }, log)
        for (const [k, index] of cells.entries()) {
          const r = await scorer.score(bench.archAt(index))
          for (const s of r.scores) perProxy.get(s.proxy)!.push(s.score)
          const perArch = (Date.now() - t0) / (k + 1)
          log?.(
            `${k + 1}/${cells.length} scored · ${(perArch / 1000).toFixed(1)} s/arch · ETA ${duration(perArch * (cells.length - k - 1))}`,
          )
        }
      }
      // one proxy: its score; several: the sum of their ranks
      const combined =
        list.length === 1
          ? perProxy.get(list[0]!.name)!.map((v) => (list[0]!.higherIsBetter ? v : -v))
          : cells.map((_, k) =>
              list.reduce((t, p) => t + ranks(perProxy.get(p.name)!, p.higherIsBetter)[k]!, 0),
            )
      const byCell = new Map(cells.map((c, k) => [c, combined[k]!]))
      const { ranked, evaluated } = await rankByProxy({
        candidates: cells,
        score: (c) => Promise.resolve(byCell.get(c)!),
        top,
        evaluate: (c) => Promise.resolve({ ...bench.query(bench.archAt(c), opts.dataset) }),
      })
      const picked = [...evaluated].sort((a, b) => b.metrics!.valid_acc! - a.metrics!.valid_acc!)[0]!
      const testAcc = bench.column(opts.dataset, 'test_acc')
      const bestInSample = Math.max(...cells.map((c) => testAcc[c]!))
      const result = {
        picked: { arch: bench.archStrAt(picked.arch), ...pickMetrics(picked.metrics!) },
        bestTestAccInSample: bestInSample,
        queries: evaluated.length,
        top: evaluated.map((e, k) => ({
          rank: k + 1,
          arch: bench.archStrAt(e.arch),
          score: e.score,
          ...pickMetrics(e.metrics!),
        })),
      }
      if (opts.json) {
        io.out(
          JSON.stringify({
            ok: true,
            space: 'nb201',
            dataset: opts.dataset,
            source: opts.source,
            proxies: list.map((p) => p.name),
            sample: cells.length,
            seed,
            ranked: ranked.length,
            ...result,
          }),
        )
        return
      }
      io.out(
        table(
          result.top.map((t) => [String(t.rank), fmt(t.score), fmt(t.valid_acc), fmt(t.test_acc), t.arch]),
          ['rank', list.length === 1 ? list[0]!.name : 'rank sum', 'valid_acc', 'test_acc', 'arch'],
        ),
      )
      io.out(
        `\npicked (best valid_acc of the top ${evaluated.length}): test_acc ${fmt(result.picked.test_acc)} — the best of the ${cells.length} sampled cells has ${fmt(bestInSample)}`,
      )
    })
}

const pickMetrics = (m: Record<string, number>) => ({
  valid_acc: m.valid_acc ?? Number.NaN,
  test_acc: m.test_acc ?? Number.NaN,
})

function listCommand(io: Io) {
  return new Command('list')
    .description('the proxies, what each needs, and whether higher is better')
    .option('--json', 'as JSON')
    .action(async (opts) => {
      const { builtinProxies } = await import('@nasjs/proxies')
      if (opts.json) {
        io.out(
          JSON.stringify(
            builtinProxies.map((p) => ({
              name: p.name,
              description: p.description,
              needs: p.needs,
              gradients: p.gradients,
              higherIsBetter: p.higherIsBetter,
              references: p.references,
            })),
          ),
        )
        return
      }
      io.out(
        table(
          builtinProxies.map((p) => [
            p.name,
            p.needs,
            p.gradients ? 'yes' : 'no',
            p.higherIsBetter ? 'higher' : 'lower',
            p.description,
          ]),
          ['proxy', 'needs', 'backprop', 'better', 'description'],
        ),
      )
    })
}

/** `nas proxies`: zero-cost proxies — list them, score an architecture, correlate with a benchmark. */
export function proxiesCommand(io: Io) {
  return new Command('proxies')
    .description('zero-cost proxies: score untrained networks from one minibatch')
    .addCommand(listCommand(io))
    .addCommand(scoreCommand(io))
    .addCommand(correlateCommand(io))
    .addCommand(rankCommand(io))
}

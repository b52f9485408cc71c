import { existsSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from '@commander-js/extra-typings'
import { NB201_DATASETS } from '@nasjs/benchmarks'
import { NasError } from '@nasjs/core'
import type { DatasetSpec } from '@nasjs/models/node'
import { formatNb201, type Nb201Arch } from '@nasjs/search-space'
import { fmtMetric, loadBenchmark, table, type Io } from '../context.js'
import { EXIT } from '../errors.js'
import { escapeXml, lineChart } from '../report/charts.js'
import { duration } from '../render/progress.js'
import { writeJsonAtomic } from '../run-files.js'
import { writeEpochRun } from '../search/epoch-run.js'
import { intFlag, positiveFlag } from '../search/parse.js'
import { dataLabel, dataSpec } from '../search/training.js'
import { runDartsOneShot } from './oneshot-darts.js'

/** A number flag that may be 0 (`--latency-weight`). */
function nonNegative(name: string, text: string): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--${name} must be a number >= 0, got '${text}'`,
      value: text,
      allowed: ['number >= 0'],
    })
  }
  return n
}

/** Fashion-MNIST's split for one-shot search: half for the network weights, half for the architecture. */
const SIZES = { train: 2000, valid: 2000 }

/** What `summary.json` of a one-shot search holds. */
export interface OneShotSummary {
  readonly method: string
  readonly space: 'nb201' | 'darts'
  readonly data: string
  readonly seed: number
  readonly epochs: number
  readonly steps: number
  readonly seconds: number
  readonly arch: string
  /** darts-pt: the cell of the largest alphas, beside the one perturbation-based selection chose. */
  readonly alphaArch?: string
  readonly alphaBenchmark?: Record<string, { valid_acc?: number; test_acc?: number }>
  /** darts-pt: every edge's decision (accuracy with each operation removed). */
  readonly perturbation?: readonly unknown[]
  /** few-shot: every split, and every final sub-supernet's cell (the best one is `arch`). */
  readonly fewShot?: {
    readonly splitEpochs: readonly number[]
    /** How each final sub-supernet read its cell: the largest alpha or perturbation-based selection. */
    readonly selection: 'alpha' | 'perturbation'
    readonly best: string
    readonly splits: readonly {
      path: string
      edge: number
      groups: readonly (readonly string[])[]
      score: number
    }[]
    readonly leaves: readonly { path: string; arch: string; validAccuracy: number; cifar10TestAcc?: number }[]
  }
  /** The derived cell in the NB201 table: accuracies of the full network trained 200 epochs (NB201). */
  readonly benchmark?: Record<
    string,
    { valid_acc?: number; test_acc?: number; [latency: string]: number | undefined }
  >
  /** softmax(alpha) per edge at the end of each epoch. */
  readonly history: readonly (readonly (readonly number[])[])[]
  readonly ops: readonly string[]
  /**
   * The cell derived at the end of every epoch as the trials of a `nas search` run directory (this
   * directory's `run/`: journal, summary, report), looked up in the NB201 table on CIFAR-10.
   */
  readonly run?: { readonly dir: string; readonly bestValidAcc?: number; readonly bestTrial?: number }
  /** DARTS: the derived genotype's evaluation network (36 channels, 20 cells, CIFAR-10), and how to train it. */
  readonly evaluation?: { readonly params: number; readonly flops: number; readonly train: string }
}

/**
 * `nas oneshot`: differentiable cell search (DARTS, GDAS) on the NB201 space with a mixed-operation
 * supernet, on the user's data; the derived cell is looked up in the NB201 table.
 */
export function oneshotCommand(io: Io) {
  return new Command('oneshot')
    .description(
      'differentiable one-shot cell search (DARTS, PC-DARTS, GDAS, ProxylessNAS, DARTS-PT, RARTS, SD-DARTS, sharpDARTS, few-shot NAS) on the NB201 space: train a mixed-operation supernet, read the cell off its architecture weights; resumable',
    )
    .addOption(
      new Option(
        '--method <name>',
        "darts: softmax-mixed edges; gdas: one Gumbel-sampled operation per edge; darts-pt: DARTS, then perturbation-based selection instead of the largest alpha; pc-darts: DARTS on 1/4 of the channels with edge normalisation, the architecture still for the first 30 % of the epochs; proxyless: ProxylessNAS binary gates, with a latency loss (--latency-weight); few-shot: few-shot NAS, DARTS sub-supernets split by gradient matching (--split-epochs); rarts: RARTS, a second network on the validation split beside the weights, one first-order architecture step on both; sd-darts: DARTS whose weight step also distils from the two latest epochs' supernets; sharp-darts: DARTS with Max-W edge weighting and cosine power annealing",
      )
        .choices([
          'darts',
          'gdas',
          'darts-pt',
          'pc-darts',
          'proxyless',
          'rarts',
          'sd-darts',
          'sharp-darts',
          'few-shot',
        ] as const)
        .default('darts' as const),
    )
    .addOption(
      new Option(
        '--space <id>',
        "the cell space: nb201 (the derived cell is looked up in the NB201 table) or darts (DARTS's normal and reduction cells; darts, pc-darts, gdas, rarts, sd-darts, sharp-darts)",
      )
        .choices(['nb201', 'darts'] as const)
        .default('nb201' as const),
    )
    .option(
      '--data <dataset>',
      'fashion-mnist (default), digits, mnist, or a folder of images (one subfolder per class)',
    )
    .addOption(
      new Option('--order <n>', 'DARTS: 1 (first-order) or 2 (the unrolled second-order gradient)')
        .choices(['1', '2'] as const)
        .default('1' as const),
    )
    .option(
      '--latency-weight <x>',
      'proxyless: lambda of the expected latency (ms) in the architecture loss (default: 0, no latency term)',
    )
    .option(
      '--latency-device <name>',
      'proxyless: the HW-NAS-Bench device whose NB201 latencies price the operations (default: pixel3; also edgegpu, raspi4, edgetpu, eyeriss, fpga)',
    )
    .option('--epochs <n>', 'passes over the training half (default: 10)')
    .option(
      '--split-epochs <list>',
      'few-shot: the epochs after which every sub-supernet splits in two (default: 40 % and 70 % of --epochs, e.g. 4,7)',
    )
    .addOption(
      new Option(
        '--select <rule>',
        'few-shot: how each final sub-supernet reads its cell: alpha (the largest architecture weight) or perturbation (perturbation-based selection among its operations)',
      ).choices(['alpha', 'perturbation'] as const),
    )
    .option('--train-size <n>', 'images for the network weights (default: fashion-mnist 2000, else 70 %)')
    .option(
      '--valid-size <n>',
      'images for the architecture weights (default: fashion-mnist 2000, else 10 %)',
    )
    .option(
      '--channels <n>',
      "channels of the supernet's first stage (default: 8; NB201's search network and DARTS's: 16)",
    )
    .option(
      '--cells <n>',
      "nb201: cells per stage (default: 1; the benchmark: 5); darts: cells in all (default: 5; DARTS's search network: 8)",
    )
    .option('--batch-size <n>', 'batch size of each split (default: 64)')
    .option('--lr <x>', 'learning rate of the network weights (default: 0.025)')
    .option(
      '--arch-lr <x>',
      'learning rate of the architecture weights (default: 0.01 for the few hundred steps of a scaled-down search; the NAS-Bench-201 code: 3e-4 over about 20,000 steps)',
    )
    .addOption(new Option('--seed <n>', 'seed of the split, the weights and the Gumbel noise').default('0'))
    .requiredOption(
      '--out <dir>',
      'the search directory: a checkpoint after every epoch, summary.json and report.html at the end',
    )
    .option('--json', 'the summary as one JSON line on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The supernet is the NAS-Bench-201 search network scaled down (--channels, --cells) on the data's image
size; its cells' edges mix none, skip_connect, nor_conv_1x1, nor_conv_3x3 and avg_pool_3x3. The
derived cell (the largest architecture weight of each edge) is looked up in the NB201 table:
CIFAR-10, CIFAR-100 and ImageNet16-120 accuracies of the full network. report.html plots every
architecture weight over the epochs. Killed or interrupted, the same command continues from the last
checkpoint and ends with the alphas of an uninterrupted run.
With --space darts the supernet is DARTS's search network scaled down (--channels, --cells): 8
primitives on the 14 edges of a normal and a reduction cell; the derived genotype (each node's two
strongest edges) has no table to look it up in: train it with nas train --space darts --arch '...'.
Examples:
  nas oneshot --method darts --data fashion-mnist --epochs 10 --out runs/darts
  nas oneshot --space darts --method pc-darts --epochs 10 --out runs/pc-darts-space
  nas oneshot --method gdas --epochs 10 --seed 1 --out runs/gdas-1
  nas oneshot --method rarts --epochs 10 --out runs/rarts`,
    )
    .action(async (opts) => {
      const seed = intFlag('seed', opts.seed, 0)
      const out = resolve(opts.out)
      const spec = dataSpec(opts.data ?? 'fashion-mnist') as DatasetSpec
      const big = spec === 'fashion-mnist'
      const size = (flag: string, text: string | undefined, d: number) =>
        text === undefined ? (big ? d : undefined) : intFlag(flag, text, 2)
      const trainSize = size('train-size', opts.trainSize, SIZES.train)
      const validSize = size('valid-size', opts.validSize, SIZES.valid)
      if (
        opts.method !== 'proxyless' &&
        (opts.latencyWeight !== undefined || opts.latencyDevice !== undefined)
      ) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: '--latency-weight and --latency-device apply to --method proxyless',
          value: opts.method,
          allowed: ['proxyless'],
        })
      }
      const latencyWeight =
        opts.latencyWeight === undefined ? 0 : nonNegative('latency-weight', opts.latencyWeight)
      const device = opts.latencyDevice ?? 'pixel3'
      let latency: number[][] | undefined
      // the NB201 table, read once: it prices ProxylessNAS's operations and looks up the cell
      let nb201: ReturnType<typeof loadBenchmark> | undefined
      const nb201Table = () => (nb201 ??= loadBenchmark(undefined))
      if (opts.method === 'proxyless') {
        const bench = nb201Table()
        const metric = `latency.${device}`
        if (!bench.metricNames('cifar10').includes(metric)) {
          const devices = bench
            .metricNames('cifar10')
            .filter((m) => m.startsWith('latency.'))
            .map((m) => m.slice('latency.'.length))
          throw new NasError({
            code: 'CONFIG_INVALID',
            message: `--latency-device ${device} is not a device of the NB201 latency table; expected one of ${devices.join(', ')}`,
            value: device,
            allowed: devices,
          })
        }
        const { nb201EdgeLatencies } = await import('@nasjs/supernet')
        latency = nb201EdgeLatencies(
          Array.from({ length: bench.size }, (_, i) => bench.archAt(i)),
          bench.column('cifar10', metric),
        )
      }
      const epochs = opts.epochs === undefined ? 10 : intFlag('epochs', opts.epochs, 1)
      if (opts.space === 'darts' && ['darts-pt', 'proxyless', 'few-shot'].includes(opts.method)) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `--method ${opts.method} runs on the NB201 space (its selection, gates or splits are NB201 cells'); on --space darts use darts, pc-darts, gdas, rarts, sd-darts or sharp-darts`,
          value: opts.method,
          allowed: ['darts', 'pc-darts', 'gdas', 'rarts', 'sd-darts', 'sharp-darts'],
        })
      }
      if (opts.method !== 'few-shot' && opts.select !== undefined) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message:
            '--select applies to --method few-shot (darts-pt is DARTS with perturbation-based selection)',
          value: opts.method,
          allowed: ['few-shot'],
        })
      }
      if (opts.method !== 'few-shot' && opts.splitEpochs !== undefined) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: '--split-epochs applies to --method few-shot',
          value: opts.method,
          allowed: ['few-shot'],
        })
      }
      const splitEpochs =
        opts.splitEpochs === undefined
          ? [...new Set([Math.round(0.4 * epochs), Math.round(0.7 * epochs)])].filter(
              (e) => e >= 1 && e < epochs,
            )
          : opts.splitEpochs.split(',').map((x) => intFlag('split-epochs', x.trim(), 1))
      if (opts.method === 'few-shot' && splitEpochs.length === 0) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `few-shot NAS splits after an epoch before the last; --epochs ${epochs} leaves none (use at least 2)`,
          value: epochs,
        })
      }
      const search = {
        method:
          opts.method === 'gdas' || opts.method === 'proxyless' || opts.method === 'rarts'
            ? opts.method
            : ('darts' as const),
        // SD-DARTS: the supernets at the ends of the two latest epochs vote as teachers
        ...(opts.method === 'sd-darts' ? { teachers: 2 } : {}),
        // sharpDARTS: Max-W, and cosine power annealing with its CIFAR-10 base
        ...(opts.method === 'sharp-darts' ? { edgeWeighting: 'max-w' as const, lrPowerBase: 2 } : {}),
        ...(latency === undefined ? {} : { latency, latencyWeight }),
        ...(opts.method === 'pc-darts' ? { archWarmupEpochs: Math.floor(0.3 * epochs) } : {}),
        order: opts.order === '2' ? (2 as const) : (1 as const),
        epochs,
        seed,
        ...(opts.batchSize === undefined ? {} : { batchSize: intFlag('batch-size', opts.batchSize, 2) }),
        ...(opts.lr === undefined ? {} : { lr: positiveFlag('lr', opts.lr) }),
        archLr: opts.archLr === undefined ? 0.01 : positiveFlag('arch-lr', opts.archLr),
      }
      const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')
      const [{ initBackend, formatBackendInfo }, mnode, sn, snode] = await Promise.all([
        import('@nasjs/backend'),
        import('@nasjs/models/node'),
        import('@nasjs/supernet'),
        import('@nasjs/supernet/node'),
      ])
      const t = sn.OneShotConfig.parse(search)
      const summaryPath = join(out, 'summary.json')
      if (existsSync(summaryPath)) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `${out} already holds a finished one-shot search (summary.json); search into another --out`,
          value: opts.out,
        })
      }
      const fewShotDir = existsSync(join(out, 'sub-root', snode.ONESHOT_JSON))
      if (
        (opts.method === 'few-shot') !== fewShotDir &&
        (fewShotDir || existsSync(join(out, snode.ONESHOT_JSON)))
      ) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `${out} holds a ${fewShotDir ? 'few-shot' : 'single-supernet'} search; --method ${opts.method} cannot continue it: search into another --out`,
          value: opts.method,
        })
      }
      const resume =
        opts.method !== 'few-shot' && existsSync(join(out, snode.ONESHOT_JSON))
          ? snode.loadOneShotState(out)
          : undefined
      const backend = await initBackend({ quiet: true })
      const loaded = await mnode.loadDataset(spec, {
        seed,
        ...(trainSize === undefined ? {} : { train: trainSize }),
        ...(validSize === undefined ? {} : { valid: validSize }),
      })
      const [h, w, channels] = loaded.train.shape as [number, number, number]
      if (opts.space === 'darts') {
        await runDartsOneShot(io, {
          sn,
          snode,
          loaded,
          t,
          resume,
          out,
          outArg: opts.out,
          method: opts.method,
          seed,
          json: opts.json === true,
          ...(log === undefined ? {} : { log }),
          backendLine: formatBackendInfo(backend).split('; ')[0] ?? '',
          extra: { data: spec, dataLabel: dataLabel(spec), source: loaded.source },
          shape: {
            channels: opts.channels === undefined ? 8 : intFlag('channels', opts.channels, 1),
            layers: opts.cells === undefined ? 5 : intFlag('cells', opts.cells, 3),
            inputShape: [h, w, channels],
            classes: loaded.train.classes,
            seed,
            // PC-DARTS: 1/4 of the channels through each edge (its CIFAR setting), edges normalised
            ...(opts.method === 'pc-darts' ? { partialChannels: 4, edgeNormalization: true } : {}),
            // sharpDARTS: its dilated convolutions are SharpSepConv blocks
            ...(opts.method === 'sharp-darts' ? { sharpSepConv: true } : {}),
          },
        })
        return
      }
      const net = new sn.CellSupernet({
        channels: opts.channels === undefined ? 8 : intFlag('channels', opts.channels, 1),
        cellsPerStage: opts.cells === undefined ? 1 : intFlag('cells', opts.cells, 1),
        inputShape: [h, w, channels],
        classes: loaded.train.classes,
        seed,
        // PC-DARTS: 1/4 of the channels through each edge (its CIFAR setting), edges normalised
        ...(opts.method === 'pc-darts' ? { partialChannels: 4, edgeNormalization: true } : {}),
      })
      const extra = { data: spec, dataLabel: dataLabel(spec), source: loaded.source }
      log?.(
        `${resume !== undefined ? `continuing at step ${resume.step}:` : fewShotDir ? "continuing from the sub-supernets' checkpoints:" : 'searching'} ${opts.method} on the NB201 space (a ${net.config.channels}-channel supernet, ${net.config.cellsPerStage} cell(s) per stage) on ${loaded.source}: ${loaded.train.y.length} images for the weights, ${loaded.valid.y.length} for the architecture; TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}`,
      )
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.on('SIGINT', onSigint)
      process.on('SIGTERM', onSigint)
      let last = 0
      const progressLine = (p: {
        epoch: number
        epochs: number
        step: number
        totalSteps: number
        loss: number
        archLoss: number
        tau?: number
        imagesPerSecond: number
        etaSeconds: number
      }) =>
        `epoch ${p.epoch.toFixed(2)}/${p.epochs} · step ${p.step}/${p.totalSteps} · loss ${p.loss.toFixed(3)} · arch loss ${Number.isNaN(p.archLoss) ? '-' : p.archLoss.toFixed(3)}${p.tau === undefined ? '' : ` · tau ${p.tau.toFixed(2)}`} · ${Math.round(p.imagesPerSecond)} img/s · ETA ${duration(p.etaSeconds * 1000)}`
      try {
        const r =
          opts.method === 'few-shot'
            ? await (async () => {
                // every sub-supernet checkpoints in its own directory: sub-root, sub-0, sub-01, ...
                const dirOf = (path: string) => join(out, `sub-${path === '' ? 'root' : path}`)
                const { opMask: _m, ...supernet } = net.config
                const f = await sn.fewShotSearch(
                  loaded.train,
                  loaded.valid,
                  { supernet, search: t, splitEpochs, selection: opts.select ?? 'alpha' },
                  {
                    signal: controller.signal,
                    onCheckpoint: (path, st) => snode.saveOneShotState(dirOf(path), st, extra),
                    load: (path) =>
                      existsSync(join(dirOf(path), snode.ONESHOT_JSON))
                        ? snode.loadOneShotState(dirOf(path))
                        : undefined,
                    onSplit: (sp) =>
                      log?.(
                        `split sub-supernet ${sp.path === '' ? 'root' : sp.path} on edge ${sp.edge}: ${sp.groups.map((g) => g.map((k) => sn.CELL_OPS[k]).join(', ')).join(' | ')} (gradient distance across ${sp.score.toFixed(3)}; edges ${sp.candidates.map((c) => `${c.edge}: ${c.score.toFixed(3)}`).join(', ')})`,
                      ),
                    onProgress: (p) => {
                      if (log === undefined || (Date.now() - last < 2000 && p.step !== p.totalSteps)) return
                      last = Date.now()
                      log(`sub-supernet ${p.path === '' ? 'root' : p.path} · ${progressLine(p)}`)
                    },
                  },
                )
                const best = f.leaves.find((l) => l.path === f.best)
                return {
                  status: f.status,
                  ...(f.reason === undefined ? {} : { reason: f.reason }),
                  arch: best?.arch ?? net.derive(),
                  steps: epochs * Math.ceil(loaded.train.y.length / t.batchSize),
                  history: best?.history ?? [],
                  seconds: f.seconds,
                  fewShot: f,
                }
              })()
            : await sn.searchCell(net, loaded.train, loaded.valid, t, {
                signal: controller.signal,
                ...(resume === undefined ? {} : { resume }),
                onCheckpoint: (s) => snode.saveOneShotState(out, s, extra),
                onProgress: (p) => {
                  if (log === undefined || (Date.now() - last < 2000 && p.step !== p.totalSteps)) return
                  last = Date.now()
                  log(`${progressLine(p)} · cell ${formatNb201(net.derive())}`)
                },
              })
        if (r.status === 'aborted') {
          io.err.write(
            `\ninterrupted${'fewShot' in r ? '' : ` at step ${r.steps}`}; run the same command to continue from ${opts.out}\n`,
          )
          process.exitCode = EXIT.interrupted
          return
        }
        if (r.status === 'failed') {
          throw new NasError({
            code: 'INPUT_INVALID',
            message: `one-shot search failed: ${r.reason ?? 'unknown'}`,
          })
        }
        const seconds = 'fewShot' in r ? r.seconds : snode.loadOneShotState(out).seconds
        const bench = nb201Table()
        const lookup = (cell: typeof r.arch) =>
          Object.fromEntries(
            NB201_DATASETS.map((d) => {
              const m = bench.query(cell, d)
              return [
                d,
                {
                  ...(m.valid_acc === undefined ? {} : { valid_acc: m.valid_acc }),
                  ...(m.test_acc === undefined ? {} : { test_acc: m.test_acc }),
                },
              ]
            }),
          )
        let arch = r.arch
        let pt:
          | { alphaArch: string; alphaBenchmark: ReturnType<typeof lookup>; perturbation: unknown[] }
          | undefined
        if (opts.method === 'darts-pt') {
          log?.(
            `perturbation-based selection on the searched supernet (${formatNb201(arch)} by the largest alphas)`,
          )
          const p = await sn.perturbationSelect(net, loaded.train, loaded.valid, {
            seed,
            batchSize: t.batchSize,
            signal: controller.signal,
            onEdge: (d) =>
              log?.(
                `edge ${d.edge}: kept ${d.chosen} (held-out accuracy ${(100 * d.base).toFixed(2)} %; with each operation removed ${d.removed.map((a) => (100 * a).toFixed(2)).join(' / ')})`,
              ),
          })
          pt = { alphaArch: formatNb201(arch), alphaBenchmark: lookup(arch), perturbation: [...p.edges] }
          arch = p.arch
        }
        const benchmark = lookup(arch)
        if (opts.method === 'proxyless') {
          const m = bench.query(arch, 'cifar10')
          const lat = m[`latency.${device}`]
          if (lat !== undefined)
            benchmark['cifar10'] = { ...benchmark['cifar10'], [`latency.${device}`]: lat }
        }
        const summary: OneShotSummary = {
          method: opts.method,
          space: 'nb201',
          data: loaded.source,
          seed,
          epochs: t.epochs,
          steps: r.steps,
          seconds,
          arch: formatNb201(arch),
          ...(pt ?? {}),
          ...('fewShot' in r
            ? {
                fewShot: {
                  splitEpochs,
                  selection: opts.select ?? 'alpha',
                  best: r.fewShot.best ?? '',
                  splits: r.fewShot.splits.map((sp) => ({
                    path: sp.path,
                    edge: sp.edge,
                    groups: sp.groups.map((g) => g.map((k) => sn.CELL_OPS[k]!)),
                    score: sp.score,
                  })),
                  leaves: r.fewShot.leaves.map((l) => {
                    const c10 = bench.query(l.arch, 'cifar10').test_acc
                    return {
                      path: l.path,
                      arch: formatNb201(l.arch),
                      validAccuracy: l.validAccuracy,
                      ...(c10 === undefined ? {} : { cifar10TestAcc: c10 }),
                    }
                  }),
                },
              }
            : {}),
          benchmark,
          history: r.history,
          ops: [...sn.CELL_OPS],
          run: await (async () => {
            const rs = await writeEpochRun(
              join(out, 'run'),
              r.history.map(
                (row) => row.map((w) => sn.CELL_OPS[w.indexOf(Math.max(...w))]!) as unknown as Nb201Arch,
              ),
              { seed, method: opts.method },
            )
            const bestValidAcc = rs.best?.metrics['valid_acc']
            return {
              dir: 'run',
              ...(bestValidAcc === undefined ? {} : { bestValidAcc, bestTrial: rs.best!.trial }),
            }
          })(),
        }
        writeFileSync(join(out, 'report.html'), oneshotReportHtml(summary))
        writeJsonAtomic(summaryPath, summary)
        if (opts.json) {
          io.out(JSON.stringify({ ok: true, out, ...summary }))
          return
        }
        io.out(
          table(
            [
              ['derived cell', summary.arch],
              ...NB201_DATASETS.map((d) => [
                `${d} test (NB201 table)`,
                `${fmtMetric(benchmark[d]?.test_acc ?? Number.NaN)} %`,
              ]),
              ['search time', duration(seconds * 1000)],
            ].map(([k, v]) => [`  ${k}`, v!]),
          ),
        )
        io.out(
          `\nsummary: ${summaryPath}\nreport: ${join(out, 'report.html')}\nthe cell of every epoch as a search run: ${join(out, 'run', 'report.html')} (nas report ${join(out, 'run')})`,
        )
      } finally {
        process.off('SIGINT', onSigint)
        process.off('SIGTERM', onSigint)
        net.dispose()
      }
    })
}

/** The report of a one-shot search: its facts, and every architecture weight over the epochs. */
export function oneshotReportHtml(s: OneShotSummary): string {
  const edges =
    s.space === 'darts'
      ? (['normal', 'reduce'] as const).flatMap((cell) =>
          [0, 1, 2, 3].flatMap((i) => Array.from({ length: i + 2 }, (_, j) => `${cell} ${i + 2}<-${j}`)),
        )
      : ['1<-0', '2<-0', '2<-1', '3<-0', '3<-1', '3<-2']
  const charts = edges.map((edge, e) =>
    lineChart({
      title: `edge ${edge}`,
      xLabel: 'epoch',
      yLabel: 'softmax(alpha)',
      series: s.ops.map((op, k) => ({
        name: op,
        points: s.history.map((row, i) => [i + 1, row[e]![k]!] as const),
      })),
      width: 420,
      height: 260,
    }),
  )
  const facts: [string, string][] = [
    ['method', s.method],
    ['space', s.space],
    ['data', s.data],
    ['seed', String(s.seed)],
    ['epochs / steps', `${s.epochs} / ${s.steps}`],
    ['search time', duration(s.seconds * 1000)],
    ['derived cell', s.arch],
    ...(s.run === undefined
      ? []
      : [['the cell of every epoch as a search run', `${s.run.dir}/report.html`] as [string, string]]),
    ...(s.evaluation === undefined
      ? []
      : [
          [
            'evaluation network (36 channels, 20 cells, CIFAR-10)',
            `${s.evaluation.params.toLocaleString('en-US')} params, ${(s.evaluation.flops / 1e6).toFixed(1)} MFLOPs`,
          ] as [string, string],
          ['train it', s.evaluation.train] as [string, string],
        ]),
    ...(s.alphaArch === undefined ? [] : [['cell of the largest alphas', s.alphaArch] as [string, string]]),
    ...(s.fewShot === undefined
      ? []
      : [
          ...s.fewShot.splits.map((sp): [string, string] => [
            `split of ${sp.path === '' ? 'the supernet' : `sub-supernet ${sp.path}`}`,
            `edge ${sp.edge}: ${sp.groups.map((g) => g.join(', ')).join(' | ')} (gradient distance across ${sp.score.toFixed(3)})`,
          ]),
          ...s.fewShot.leaves.map((l): [string, string] => [
            `sub-supernet ${l.path}${l.path === s.fewShot!.best ? ' (best)' : ''}`,
            `${l.arch}: held-out ${(100 * l.validAccuracy).toFixed(2)} %, NB201 CIFAR-10 test ${l.cifar10TestAcc?.toFixed(2) ?? '-'} %`,
          ]),
        ]),
    ...Object.entries(s.benchmark ?? {}).map(
      ([d, m]) =>
        [
          `${d} (NB201 table)`,
          `test ${fmtMetric(m.test_acc ?? Number.NaN)} %, valid ${fmtMetric(m.valid_acc ?? Number.NaN)} %`,
        ] as [string, string],
    ),
  ]
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nasjs one-shot search: ${escapeXml(s.method)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td{padding:2px 12px 2px 0}.charts{display:flex;flex-wrap:wrap;gap:12px}</style>
</head><body>
<h1>One-shot search: ${escapeXml(s.method)} on ${escapeXml(s.space)}</h1>
<table>${facts.map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(v)}</td></tr>`).join('')}</table>
<h2>Architecture weights over the epochs (one chart per edge, one line per operation)</h2>
<div class="charts">${charts.join('\n')}</div>
</body></html>
`
}

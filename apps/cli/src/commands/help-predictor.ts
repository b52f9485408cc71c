import { writeFileSync } from 'node:fs'
import { Command, Option } from '@commander-js/extra-typings'
import { NasError, Rng } from '@nasjs/core'
import { HELP_NB201_SETTINGS } from '@nasjs/benchmarks'
import { nb201 } from '@nasjs/search-space'
import { loadBenchmark, type Io } from '../context.js'
import { duration } from '../render/progress.js'
import { readJsonFile, type HelpDeviceFile } from '../search/help-device.js'
import { intFlag } from '../search/parse.js'

function progress(io: Io, quiet: boolean) {
  const t0 = Date.now()
  let last = 0
  return (p: { episode: number; episodes: number; loss: number; validation?: number; best?: number }) => {
    if (quiet) return
    const now = Date.now()
    if (p.validation === undefined && now - last < 5000 && p.episode !== p.episodes) return
    last = now
    const per = (now - t0) / p.episode
    io.err.write(
      `episode ${p.episode}/${p.episodes} · loss ${p.loss.toFixed(4)}` +
        (p.validation === undefined
          ? ''
          : ` · validation Spearman ${p.validation.toFixed(3)} (best ${p.best!.toFixed(3)})`) +
        ` · ETA ${duration(per * (p.episodes - p.episode))}\n`,
    )
  }
}

function trainCommand(io: Io) {
  return new Command('train')
    .description(
      "meta-train a HELP latency predictor on the NB201 latency table of 27 device settings (HELP's split)",
    )
    .requiredOption('--out <file>', 'where to write the predictor (JSON)')
    .addOption(new Option('--episodes <n>', 'meta-training episodes').default('2000'))
    .addOption(new Option('--seed <n>', 'seed of the weights and the episodes').default('3'))
    .option('--data <dir>', 'benchmark data directory (default: the bundled tables)')
    .option('--json', 'the result as one JSON document on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Meta-trains on HELP's 9 meta-training device settings and keeps the episode with the best mean
Spearman on its 4 validation settings (checked every 50 episodes). Targets are scaled by the
reference latencies, the same on a new device. About 0.8 s per episode on one
core: the default 2000 episodes take about half an hour; Ctrl-C stops early and still writes the
predictor of the episodes run. Then measure a device with
nas hardware predictor device, and search with --objective latency.help:min.
Example:
  nas hardware predictor train --out help.json`,
    )
    .action(async (opts) => {
      const episodes = intFlag('episodes', opts.episodes, 1)
      const seed = intFlag('seed', opts.seed, 0)
      const bench = loadBenchmark(opts.data)
      const p = await import('@nasjs/predictors')
      const graphs = Array.from({ length: bench.size }, (_, i) => p.nb201HelpGraph(bench.archAt(i)))
      const device = (name: string) => ({ name, latency: bench.column('cifar10', `latency.${name}`) })
      const model = await p.createHelp({
        graph: graphs[0]!,
        references: [...p.HELP_NB201.references],
        space: 'nb201',
        // targets scaled by the reference latencies, in meta-training as on a new device: what a new
        // device can measure (HELP scales by a pool range a new device does not have)
        config: { seed, targetRange: 'references' },
      })
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.on('SIGINT', onSigint)
      const t0 = Date.now()
      try {
        const end = await p.metaTrainHelp(model, {
          graphs,
          devices: p.HELP_NB201.metaTrain.map(device),
          pool: Array.from({ length: p.HELP_NB201.pool }, (_, i) => i),
          episodes,
          validation: {
            devices: p.HELP_NB201.metaValid.map(device),
            query: Array.from({ length: p.HELP_NB201.query }, (_, i) => p.HELP_NB201.pool + i),
            every: Math.min(50, episodes),
          },
          onProgress: progress(io, opts.json === true || opts.quiet === true),
          signal: controller.signal,
        })
        writeFileSync(opts.out, JSON.stringify(model.toJSON()) + '\n')
        const summary = {
          ok: true,
          out: opts.out,
          seconds: (Date.now() - t0) / 1000,
          ...(end.stopped === true ? { stopped: true } : {}),
          ...model.training,
        }
        if (opts.json) io.out(JSON.stringify(summary))
        else
          io.out(
            `wrote ${opts.out}: ${model.training?.episodes} episodes${end.stopped === true ? ` (stopped by Ctrl-C; of ${episodes})` : ''} in ${duration(Date.now() - t0)}, kept episode ${model.training?.kept} (validation Spearman ${model.training?.validation?.toFixed(3) ?? '-'})`,
          )
      } finally {
        process.off('SIGINT', onSigint)
        model.dispose()
      }
    })
}

function deviceCommand(io: Io) {
  return new Command('device')
    .description(
      "measure what a HELP predictor needs to know a device: its reference architectures and a few others, on this machine's TF.js backend (or read from the latency table)",
    )
    .requiredOption('--predictor <file>', 'the predictor (from nas hardware predictor train)')
    .requiredOption('--out <file>', 'where to write the device (JSON)')
    .option(
      '--from-table <setting>',
      `take the latencies from the NB201 latency table instead of measuring (one of the 27 settings, e.g. pixel2)`,
    )
    .addOption(new Option('--support <n>', 'architectures measured besides the references').default('10'))
    .addOption(new Option('--seed <n>', 'seed of the support architectures').default('0'))
    .addOption(
      new Option('--backend <name>', 'TF.js backend to measure (default: the fastest that loads)').choices([
        'wasm',
        'cpu',
        'node',
      ] as const),
    )
    .option('--data <dir>', 'benchmark data directory (default: the bundled tables)')
    .option('--json', 'the result as one JSON document on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Measures the NB201 CIFAR-10 network (batch 1) of the predictor's 10 reference architectures, its 2
range references and --support random architectures of the first 900 NB201 indices: about 22
networks, a minute or two. The file feeds --help-device of nas search.
Example:
  nas hardware predictor device --predictor help.json --out this-machine.json
  nas hardware predictor device --predictor help.json --from-table pixel2 --out pixel2.json`,
    )
    .action(async (opts) => {
      const read = readJsonFile('--predictor', opts.predictor)
      const p = await import('@nasjs/predictors')
      const model = await p.loadHelp(read.json)
      const quiet = opts.json === true || opts.quiet === true
      try {
        if (model.space !== 'nb201') {
          throw new NasError({
            code: 'SPACE_MISMATCH',
            message: `the predictor is for space '${model.space}'; devices are measured for nb201 predictors`,
            value: model.space,
            allowed: ['nb201'],
          })
        }
        const bench = loadBenchmark(opts.data)
        const nSupport = intFlag('support', opts.support, 2)
        const rng = new Rng(intFlag('seed', opts.seed, 0))
        const taken = new Set([...model.references, ...model.rangeReferences])
        const support = rng.sample(
          Array.from({ length: p.HELP_NB201.pool }, (_, i) => i).filter((i) => !taken.has(i)),
          nSupport,
        )
        const indices = [...model.references, ...model.rangeReferences, ...support]
        let ms: number[]
        let name: string
        let setting: Record<string, unknown>
        if (opts.fromTable !== undefined) {
          if (!(HELP_NB201_SETTINGS as readonly string[]).includes(opts.fromTable)) {
            throw new NasError({
              code: 'CONFIG_INVALID',
              message: `--from-table ${opts.fromTable} is not a setting of the NB201 latency table; they are ${HELP_NB201_SETTINGS.join(', ')}`,
              value: opts.fromTable,
              allowed: HELP_NB201_SETTINGS,
            })
          }
          const col = bench.column('cifar10', `latency.${opts.fromTable}`)
          ms = indices.map((i) => col[i]!)
          name = opts.fromTable
          setting = { table: 'HELP NB201', setting: opts.fromTable }
        } else {
          const [backend, models, node] = await Promise.all([
            import('@nasjs/backend'),
            import('@nasjs/models'),
            import('@nasjs/models/node'),
          ])
          const info = await backend.initBackend({
            quiet: true,
            ...(opts.backend === undefined ? {} : { prefer: opts.backend }),
          })
          name = `tfjs-${info.tfName}`
          setting = { backend: info.tfName, batch: 1, network: 'nb201 CIFAR-10 (builder defaults)' }
          const gate = node.quietGateForMachine()
          await models.warmUpBackend(nb201, undefined, { seconds: 3, batch: 1 })
          ms = []
          const t0 = Date.now()
          for (const [k, i] of indices.entries()) {
            const net = models.buildModel(nb201, bench.archAt(i))
            try {
              const m = await gate.run(
                () => models.measureLatency(net, { batch: 1, warmup: 10, runs: 30, passes: 3 }),
                (r) => r.median,
              )
              ms.push(m.median)
            } finally {
              net.dispose()
            }
            if (!quiet) {
              const per = (Date.now() - t0) / (k + 1)
              io.err.write(
                `measured ${k + 1}/${indices.length} · ${ms[k]!.toFixed(3)} ms · ETA ${duration(per * (indices.length - k - 1))}\n`,
              )
            }
          }
        }
        const nr = model.references.length
        const nrr = model.rangeReferences.length
        const file: HelpDeviceFile = {
          format: 'nasjs-help-device',
          version: 1,
          name,
          source: opts.fromTable === undefined ? 'measured' : 'table',
          predictor: read.sha256,
          references: ms.slice(0, nr),
          rangeLatencies: ms.slice(nr, nr + nrr),
          support: support.map((i, k) => ({ arch: nb201.format(bench.archAt(i)), ms: ms[nr + nrr + k]! })),
          setting,
        }
        writeFileSync(opts.out, JSON.stringify(file, null, 1) + '\n')
        if (opts.json) io.out(JSON.stringify({ ok: true, out: opts.out, ...file }))
        else
          io.out(
            `wrote ${opts.out}: device ${name}, ${indices.length} latencies (${nr} references, ${nrr} range references, ${support.length} support)`,
          )
      } finally {
        model.dispose()
      }
    })
}

/** `nas hardware predictor`: the HELP latency predictor. */
export function helpPredictorCommand(io: Io) {
  return new Command('predictor')
    .description(
      'HELP: a latency predictor meta-trained across devices, adapted to a new one from ~20 latencies',
    )
    .addCommand(trainCommand(io))
    .addCommand(deviceCommand(io))
}

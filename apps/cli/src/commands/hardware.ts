import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { Command, Option } from '@commander-js/extra-typings'
import { NasError } from '@nasjs/core'
import { getSpace } from '@nasjs/search-space'
import { table, type Io } from '../context.js'
import { duration } from '../render/progress.js'
import { helpPredictorCommand } from './help-predictor.js'
import { readLatencyTable } from '../search/hardware.js'
import { intFlag } from '../search/parse.js'
import { networkOptions } from '../search/training.js'

const BACKENDS = ['wasm', 'cpu', 'node'] as const

interface Common {
  space: string
  width?: string
  cells?: string
  batch: string
  backend?: (typeof BACKENDS)[number]
  json?: boolean
  quiet?: boolean
}

const backendOption = () =>
  new Option('--backend <name>', 'TF.js backend to measure (default: the fastest that loads)').choices(
    BACKENDS,
  )

const common = <C extends Command>(c: C) =>
  c
    .addOption(new Option('--space <id>', 'search space (nb201, ofa-mbv3, fbnet)').default('nb201'))
    .option('--width <n>', "nb201: channels of the first stage (default: the builder's 16)")
    .option('--cells <n>', "nb201: cells per stage (default: the builder's 5)")
    .addOption(new Option('--batch <n>', 'examples per inference').default('1'))
    .addOption(backendOption())
    .option('--json', 'the result as one JSON document on stdout')
    .option('-q, --quiet', 'no progress output')

/** The backend, the space and the network options of a hardware command; TF.js is loaded here. */
async function open(opts: Common) {
  const [backend, models, node] = await Promise.all([
    import('@nasjs/backend'),
    import('@nasjs/models'),
    import('@nasjs/models/node'),
  ])
  const space = getSpace(opts.space)
  const flags = {
    ...(opts.width === undefined ? {} : { width: intFlag('width', opts.width, 1) }),
    ...(opts.cells === undefined ? {} : { cells: intFlag('cells', opts.cells, 1) }),
  }
  const network = networkOptions(opts.space, flags, {})
  const info = await backend.initBackend({
    quiet: true,
    ...(opts.backend === undefined ? {} : { prefer: opts.backend }),
  })
  const device = {
    name: `tfjs-${info.tfName}`,
    backend: info.tfName,
    description: backend.formatBackendInfo(info).split('; ')[0] ?? info.tfName,
    cpu: cpus()[0]?.model ?? 'unknown',
    platform: `${process.platform} ${process.arch}`,
    runtime: `node ${process.versions.node}`,
  }
  return {
    space,
    network: Object.keys(network).length === 0 ? undefined : network,
    models,
    info,
    device,
    // remembers this machine's quiet speed across runs, so a run that starts busy waits
    gate: node.quietGateForMachine(),
  }
}

/** `--resolutions 160,224` (ofa-mbv3 only). */
function resolutions(space: string, text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined
  if (space !== 'ofa-mbv3') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--resolutions picks ofa-mbv3 input resolutions; ${space} networks have one input size`,
      value: text,
      allowed: ['--space ofa-mbv3'],
    })
  }
  return text.split(',').map((r) => {
    const n = Number(r)
    if (!Number.isInteger(n) || n < 128 || n > 224 || n % 4 !== 0) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `--resolutions: ${r} is not an ofa-mbv3 resolution (128 to 224 in steps of 4)`,
        value: r,
        allowed: ['128', '132', '...', '224'],
      })
    }
    return n
  })
}

/** A progress printer: one line per step, at most every 10th and the last, with an ETA. */
function progressLine(io: Io, quiet: boolean) {
  const t0 = Date.now()
  let phase = ''
  let phaseStart = t0
  return (p: { phase: string; done: number; total: number; item: string; ms: number }) => {
    if (quiet) return
    if (p.phase !== phase) [phase, phaseStart] = [p.phase, Date.now()]
    if (p.done % 10 !== 0 && p.done !== p.total && p.done !== 1) return
    const per = (Date.now() - phaseStart) / p.done
    io.err.write(
      `${p.phase} ${p.done}/${p.total} · ${p.ms.toFixed(3)} ms · ETA ${duration(per * (p.total - p.done))} · ${p.item.length > 60 ? `${p.item.slice(0, 57)}...` : p.item}\n`,
    )
  }
}

function measureCommand(io: Io) {
  return common(
    new Command('measure').description(
      "measure one network on this machine's TF.js backend: latency, cold start, peak memory, download size",
    ),
  )
    .requiredOption('--arch <text>', "the architecture, in the space's text form")
    .addOption(new Option('--runs <n>', 'timed inferences').default('50'))
    .addOption(new Option('--warmup <n>', 'untimed inferences first').default('10'))
    .action(async (opts) => {
      const { space, network, models, device, gate } = await open(opts)
      const arch = space.parse(opts.arch)
      const batch = intFlag('batch', opts.batch, 1)
      const cold = await models.measureColdStart(() => models.buildModel(space, arch, network), { batch })
      const model = models.buildModel(space, arch, network)
      try {
        // the JavaScript engine warmed up on random networks, then 3 passes between probes of the
        // machine's speed (repeated while it is busy; the lowest pass median counts)
        await models.warmUpBackend(space, network, { seconds: 2, batch })
        const runs = intFlag('runs', opts.runs, 3)
        const latency = await gate.run(
          () =>
            models.measureLatency(model, {
              batch,
              runs,
              warmup: intFlag('warmup', opts.warmup, 0),
              passes: 3,
            }),
          (r) => r.median,
        )
        const memory = await models.measureMemory(model, { batch })
        const size = models.weightBytes(model)
        const { samples: _samples, ...summary } = latency
        const result = {
          ok: true,
          space: space.id,
          arch: space.format(arch),
          device,
          latency: summary,
          coldStart: cold,
          memory,
          size,
        }
        if (opts.json) {
          io.out(JSON.stringify(result))
          return
        }
        const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`
        io.out(
          table(
            [
              ['latency (median)', `${latency.median.toFixed(3)} ms`],
              ['latency p10 / p90', `${latency.p10.toFixed(3)} / ${latency.p90.toFixed(3)} ms`],
              ['runs (outliers rejected)', `${latency.runs} (${latency.rejected})`],
              [
                'cold start: build / first inference',
                `${cold.loadMs.toFixed(1)} / ${cold.firstInferenceMs.toFixed(1)} ms`,
              ],
              ['peak tensor memory', mb(memory.peakTensorBytes)],
              ...(memory.wasmHeapBytes === undefined ? [] : [['wasm heap', mb(memory.wasmHeapBytes)]]),
              [
                'weights float32 / float16 / uint8',
                `${mb(size.float32)} / ${mb(size.float16)} / ${mb(size.uint8)}`,
              ],
            ],
            ['measure', 'value'],
          ),
        )
        io.out(`\n${device.description}; batch ${batch}; ${device.cpu}`)
      } finally {
        model.dispose()
      }
    })
}

function lutBuildCommand(io: Io) {
  return common(
    new Command('build').description(
      'measure every block of a space on this backend and write a latency lookup table (JSON)',
    ),
  )
    .requiredOption('--out <file>', 'where to write the table')
    .option('--resolutions <list>', 'ofa-mbv3: input resolutions to cover, e.g. 160,224 (default: 224)')
    .addOption(new Option('--runs <n>', 'timed rounds per block').default('30'))
    .addOption(new Option('--calibrate <n>', 'whole networks measured to fit the overhead').default('10'))
    .addOption(new Option('--seed <n>', 'seed of the inputs and the calibration networks').default('0'))
    .addHelpText(
      'after',
      `
Every block a network of the space can have (NB201: each operation, sum and reduction at each
stage's size; ofa-mbv3 and fbnet: each MBConv layer in its place) is measured alone against an
identity layer, in alternating rounds; the overhead is fitted on --calibrate random networks
measured whole. Check the table with nas hardware lut check.
Example:
  nas hardware lut build --space ofa-mbv3 --resolutions 160,224 --out ofa-lut.json`,
    )
    .action(async (opts) => {
      const { space, network, models, device, gate } = await open(opts)
      const res = resolutions(opts.space, opts.resolutions)
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.on('SIGINT', onSigint)
      const t0 = Date.now()
      try {
        const lut = await models.buildLatencyTable(space, {
          ...(network === undefined ? {} : { network }),
          ...(res === undefined ? {} : { resolutions: res }),
          batch: intFlag('batch', opts.batch, 1),
          runs: intFlag('runs', opts.runs, 2),
          calibrate: intFlag('calibrate', opts.calibrate, 1),
          seed: intFlag('seed', opts.seed, 0),
          device,
          onProgress: progressLine(io, opts.json === true || opts.quiet === true),
          signal: controller.signal,
          gate,
        })
        writeFileSync(opts.out, JSON.stringify(lut, null, 1) + '\n')
        const summary = {
          ok: true,
          out: opts.out,
          space: lut.space,
          entries: Object.keys(lut.entries).length,
          overhead: lut.overhead,
          seconds: (Date.now() - t0) / 1000,
          device: lut.device,
        }
        if (opts.json) io.out(JSON.stringify(summary))
        else
          io.out(
            `wrote ${opts.out}: ${summary.entries} blocks of ${lut.space}, overhead ${lut.overhead.toFixed(3)} ms, in ${duration(Date.now() - t0)} on ${device.description}`,
          )
      } finally {
        process.off('SIGINT', onSigint)
      }
    })
}

function lutCheckCommand(io: Io) {
  return new Command('check')
    .description('measure random whole networks and compare them with a latency table')
    .requiredOption('--lut <file>', 'the table (from nas hardware lut build)')
    .addOption(new Option('--sample <n>', 'random networks to measure').default('100'))
    .addOption(new Option('--seed <n>', 'seed of the sample').default('12345'))
    .option(
      '--resolutions <list>',
      'ofa-mbv3: resolutions to spread the sample over (the table must cover them)',
    )
    .addOption(new Option('--runs <n>', 'timed inferences per network').default('20'))
    .addOption(backendOption())
    .option('--json', 'the result as one JSON document on stdout (with every network)')
    .option('-q, --quiet', 'no progress output')
    .action(async (opts) => {
      const lut = readLatencyTable(opts.lut).table
      const [backend, models, node] = await Promise.all([
        import('@nasjs/backend'),
        import('@nasjs/models'),
        import('@nasjs/models/node'),
      ])
      const info = await backend.initBackend({
        quiet: true,
        ...(opts.backend === undefined ? {} : { prefer: opts.backend }),
      })
      const space = getSpace(lut.space)
      if (
        lut.device.backend !== undefined &&
        lut.device.backend !== info.tfName &&
        opts.json !== true &&
        opts.quiet !== true
      ) {
        io.err.write(
          `note: the table was measured on ${lut.device.backend}, this check runs on ${info.tfName}\n`,
        )
      }
      const res = resolutions(lut.space, opts.resolutions)
      const check = await models.checkLatencyTable(lut, space, {
        sample: intFlag('sample', opts.sample, 2),
        seed: intFlag('seed', opts.seed, 0),
        runs: intFlag('runs', opts.runs, 3),
        ...(res === undefined ? {} : { resolutions: res }),
        onProgress: progressLine(io, opts.json === true || opts.quiet === true),
        gate: node.quietGateForMachine(),
      })
      if (opts.json) {
        io.out(JSON.stringify({ ok: true, lut: opts.lut, space: lut.space, backend: info.tfName, ...check }))
        return
      }
      io.out(
        table(
          [
            ['networks', String(check.networks)],
            ['within ±10 %', `${(100 * check.within10).toFixed(1)} %`],
            ['RMSE', `${check.rmse.toFixed(3)} ms`],
            ['mean abs. error', `${check.mape.toFixed(2)} %`],
            ['Kendall tau', check.kendallTau.toFixed(3)],
            ['median latency', `${check.medianMs.toFixed(3)} ms`],
          ],
          ['fit', 'value'],
        ),
      )
      io.out(
        `\n${lut.space} table of ${lut.device.name} (${lut.created ?? 'undated'}), checked on ${backend.formatBackendInfo(info).split('; ')[0] ?? info.tfName}`,
      )
    })
}

/** `nas hardware`: measure networks on this machine, build and check latency tables. */
export function hardwareCommand(io: Io) {
  return new Command('hardware')
    .description(
      'latency, memory and size on the TF.js runtime; latency lookup tables; the HELP latency predictor',
    )
    .addCommand(measureCommand(io))
    .addCommand(
      new Command('lut')
        .description('latency lookup tables: build one on this machine, check one against whole networks')
        .addCommand(lutBuildCommand(io))
        .addCommand(lutCheckCommand(io)),
    )
    .addCommand(helpPredictorCommand(io))
}

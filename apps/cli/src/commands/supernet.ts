import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from '@commander-js/extra-typings'
import { NasError } from '@nasjs/core'
import type { DatasetSpec } from '@nasjs/models/node'
import { fmtMetric, table, type Io } from '../context.js'
import { EXIT } from '../errors.js'
import { duration } from '../render/progress.js'
import { readJsonFile } from '../run-files.js'
import { intFlag, positiveFlag } from '../search/parse.js'
import { dataLabel, dataSpec } from '../search/training.js'
import type { SearchCommandRunner } from './search.js'

/** The split sizes of `nas supernet train` on Fashion-MNIST (other data: 10 % validation, 20 % test). */
const SIZES = { train: 10_000, valid: 1000 }

/** The setup a supernet directory records for its data (the same splits for search and export). */
interface SupernetDataSetup {
  readonly data: DatasetSpec
  readonly split: { readonly train?: number; readonly valid?: number; readonly seed: number }
}

const commaInts = (name: string, text: string) => text.split(',').map((t) => intFlag(name, t.trim(), 8))

/**
 * `nas supernet train|search|export`: train a weight-sharing supernet on data, search its subnets
 * with any strategy, and export a subnet as a standalone TF.js model.
 */
export function supernetCommand(io: Io, runSearchCommand: SearchCommandRunner) {
  const cmd = new Command('supernet').description(
    'train a weight-sharing supernet (Once-for-All, BigNAS), search its subnets, export one as a standalone model',
  )
  cmd.addCommand(trainCommand(io))
  cmd.addCommand(searchSubcommand(runSearchCommand))
  cmd.addCommand(exportCommand(io))
  return cmd
}

function trainCommand(io: Io) {
  return new Command('train')
    .description(
      'train an elastic OFA-MobileNetV3 or FBNet supernet on data with progressive shrinking or the BigNAS sandwich rule; resumable',
    )
    .addOption(
      new Option('--space <id>', 'the supernet space: OFA-MobileNetV3, or the 22 layers of FBNet')
        .choices(['ofa-mbv3', 'fbnet'] as const)
        .default('ofa-mbv3' as const),
    )
    .option(
      '--data <dataset>',
      'fashion-mnist (default), digits, mnist, or a folder of PNG/JPEG images (one subfolder per class)',
    )
    .addOption(
      new Option(
        '--schedule <name>',
        "progressive: Once-for-All's progressive shrinking (ofa-mbv3's default); bignas: the sandwich rule (fbnet's only one)",
      ).choices(['progressive', 'bignas'] as const),
    )
    .option('--epochs <n>', 'passes over the training images in all (default: 10)')
    .option('--train-size <n>', 'training images (default: fashion-mnist 10000, else 70 %)')
    .option(
      '--valid-size <n>',
      'held-out images for the final check (default: fashion-mnist 1000, else 10 %)',
    )
    .option('--batch-size <n>', 'batch size (default: 64)')
    .option('--lr <x>', "peak learning rate (default: 0.05; progressive: the full network's phase)")
    .addOption(
      new Option(
        '--sampling <how>',
        'subnets drawn uniformly, or complexity-aware (ShiftNAS-style FLOPs bins)',
      )
        .choices(['uniform', 'complexity'] as const)
        .default('uniform' as const),
    )
    .option(
      '--resolutions <list>',
      'ofa-mbv3: input sides the supernet trains at (default: 24,28,32 for 28x28 images)',
    )
    .option(
      '--supernet-config <file>',
      'JSON file with the supernet shape (ofa-mbv3: widths, resolutions, kernels, expands, depths; fbnet: macro, widths, resolution; see @nasjs/supernet)',
    )
    .option('--train-config <file>', 'JSON file with the training fields (see SupernetTrainConfig)')
    .addOption(
      new Option('--seed <n>', 'seed of the splits, the weights and every sampled subnet').default('0'),
    )
    .requiredOption(
      '--out <dir>',
      'the supernet directory: checkpoints after every epoch, the trained supernet at the end',
    )
    .option('--json', 'the result as one JSON line on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The default supernet for 28x28 grey images is the scaled-down OFA space of @nasjs/supernet
(OFA_MBV3_FMNIST): OFA's 5 stages with depth 2-4, kernel 3/5/7 and expand 3/4/6, at a quarter of its
widths, images resized to 24, 28 or 32 pixels. With --space fbnet it is FBNET_FMNIST: FBNet's 22
layers, each one of its 9 blocks (kernel 3/5, expand 1/3/6, grouped, skip), at half its widths, at
the images' own size; it trains with the sandwich rule. Killed or interrupted, the same command
continues from the last checkpoint and ends with the weights of an uninterrupted run.
Examples:
  nas supernet train --data fashion-mnist --schedule progressive --epochs 15 --out supernets/ps
  nas supernet train --schedule bignas --sampling complexity --epochs 15 --out supernets/bignas
  nas supernet train --space fbnet --epochs 15 --out supernets/fbnet
  nas supernet search --supernet supernets/ps --strategy nsga2 --objective acc:max --objective flops:min
  nas supernet export --supernet supernets/ps --arch '{"ks":[...],"e":[...],"d":[...],"r":[28]}' --out models/small`,
    )
    .action(async (opts) => {
      const seed = intFlag('seed', opts.seed, 0)
      const out = resolve(opts.out)
      const spec = dataSpec(opts.data ?? 'fashion-mnist') as DatasetSpec
      const big = spec === 'fashion-mnist'
      const trainSize =
        opts.trainSize === undefined
          ? big
            ? SIZES.train
            : undefined
          : intFlag('train-size', opts.trainSize, 1)
      const validSize =
        opts.validSize === undefined
          ? big
            ? SIZES.valid
            : undefined
          : intFlag('valid-size', opts.validSize, 1)
      const dataSetup: SupernetDataSetup = {
        data: spec,
        split: {
          ...(trainSize === undefined ? {} : { train: trainSize }),
          ...(validSize === undefined ? {} : { valid: validSize }),
          seed,
        },
      }
      const fileTrain =
        opts.trainConfig === undefined
          ? {}
          : (readJsonFile(opts.trainConfig, 'supernet training config') as object)
      const fbnetSpace = opts.space === 'fbnet'
      const schedule = opts.schedule ?? (fbnetSpace ? 'bignas' : 'progressive')
      if (fbnetSpace && opts.resolutions !== undefined) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message:
            "--resolutions: an FBNet supernet has one input side (the images'; set resolution in --supernet-config to change it)",
          value: opts.resolutions,
        })
      }
      const trainConfig = {
        ...fileTrain,
        schedule,
        sampling: opts.sampling,
        seed,
        ...(opts.epochs === undefined ? {} : { epochs: positiveFlag('epochs', opts.epochs) }),
        ...(opts.batchSize === undefined ? {} : { batchSize: intFlag('batch-size', opts.batchSize, 1) }),
        ...(opts.lr === undefined ? {} : { lr: positiveFlag('lr', opts.lr) }),
      }
      const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')

      const [{ initBackend, formatBackendInfo }, mnode, sn, snode] = await Promise.all([
        import('@nasjs/backend'),
        import('@nasjs/models/node'),
        import('@nasjs/supernet'),
        import('@nasjs/supernet/node'),
      ])
      const t = sn.parseSupernetTrainConfig(trainConfig)
      const backend = await initBackend({ quiet: true })
      const resume = existsSync(join(out, snode.SUPERNET_JSON)) ? snode.loadSupernetState(out) : undefined
      const loaded = await mnode.loadDataset(spec, {
        seed,
        ...(trainSize === undefined ? {} : { train: trainSize }),
        ...(validSize === undefined ? {} : { valid: validSize }),
      })
      const [h, w, channels] = loaded.train.shape as [number, number, number]
      const fileShape =
        opts.supernetConfig === undefined
          ? undefined
          : (readJsonFile(opts.supernetConfig, 'supernet config') as object)
      const bignasDefaults = schedule === 'bignas' && fileShape === undefined
      const net = fbnetSpace
        ? new sn.ElasticFbnet({
            ...(fileShape ?? { ...sn.FBNET_FMNIST, resolution: Math.min(h, w) }),
            inputChannels: channels,
            classes: loaded.train.classes,
            ...(bignasDefaults ? { kernelTransform: false } : {}),
            seed,
          })
        : new sn.ElasticMbv3({
            ...(fileShape ?? {
              ...sn.OFA_MBV3_FMNIST,
              resolutions: h === 28 && w === 28 ? [24, 28, 32] : [Math.min(h, w)],
            }),
            inputChannels: channels,
            classes: loaded.train.classes,
            ...(opts.resolutions === undefined
              ? {}
              : { resolutions: commaInts('resolutions', opts.resolutions) }),
            ...(bignasDefaults ? { kernelTransform: false, zeroInitResidual: true } : {}),
            seed,
          })
      if (resume !== undefined && resume.header.extra?.['done'] === true) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `${out} already holds a trained supernet (${resume.step} steps); search it with nas supernet search --supernet ${opts.out}, or train into another --out`,
          value: opts.out,
        })
      }
      const phases = sn.supernetPhases(net.config, t, loaded.train.y.length)
      const totalSteps = phases.reduce((s, p) => s + p.steps, 0)
      const extra = (done: boolean) => ({
        totalSteps,
        extra: { data: dataSetup, dataLabel: dataLabel(spec), source: loaded.source, phases, done },
      })
      log?.(
        `${resume === undefined ? 'training' : `continuing at step ${resume.step} of`} a supernet of ${net.space.id} (${schedule}, ${phases.map((p) => `${p.name} ${p.steps}`).join(', ')} steps) on ${loaded.source}: ${loaded.train.y.length} train / ${loaded.valid.y.length} held-out images; TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}`,
      )
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.on('SIGINT', onSigint)
      process.on('SIGTERM', onSigint)
      let last = 0
      try {
        const r = await sn.trainSupernet(net, loaded.train, t, {
          signal: controller.signal,
          ...(resume === undefined ? {} : { resume }),
          onCheckpoint: (s) => snode.saveSupernetState(out, s, extra(false)),
          onProgress: (p) => {
            if (log === undefined || (Date.now() - last < 2000 && p.step !== p.totalSteps)) return
            last = Date.now()
            log(
              `${p.phase} (phase ${p.phaseIndex + 1}/${p.phases}) · epoch ${p.epoch.toFixed(2)} · step ${p.step}/${p.totalSteps} · loss ${p.loss.toFixed(3)} · ${Math.round(p.imagesPerSecond)} img/s · ETA ${duration(p.etaSeconds * 1000)}`,
            )
          },
        })
        if (r.status === 'aborted') {
          io.err.write(
            `\ninterrupted at step ${r.steps}; run the same command to continue from ${opts.out}\n`,
          )
          process.exitCode = EXIT.interrupted
          return
        }
        if (r.status === 'failed') {
          throw new NasError({
            code: 'INPUT_INVALID',
            message: `supernet training failed: ${r.reason ?? 'unknown'}`,
          })
        }
        // the largest and the smallest subnet on the held-out images, BatchNorm recalibrated
        const one = net as import('@nasjs/supernet').ElasticSupernet<unknown>
        const check = (arch: unknown) => {
          const bn = sn.recalibrate(one, arch, loaded.train, { images: 500 })
          return { acc: 100 * sn.evaluateSubnet(one, arch, loaded.valid, { bn }).acc, ...one.cost(arch) }
        }
        const fb = net instanceof sn.ElasticFbnet ? net : undefined
        const ofa = net instanceof sn.ElasticMbv3 ? net : undefined
        const largest = check(fb?.largestArch() ?? sn.largestArch(ofa!.config))
        const smallest = check(fb?.smallestArch() ?? sn.smallestArch(ofa!.config))
        const state = snode.loadSupernetState(out)
        snode.saveSupernetState(out, state, {
          totalSteps,
          extra: { ...extra(true).extra, largest, smallest },
        })
        const result = {
          ok: true,
          out,
          space: net.space.id,
          schedule,
          steps: r.steps,
          seconds: state.seconds,
          largest,
          smallest,
        }
        if (opts.json) {
          io.out(JSON.stringify(result))
          return
        }
        io.out(
          table(
            [
              [
                'largest subnet',
                `${fmtMetric(largest.acc)} % held-out · ${(largest.flops / 1e6).toFixed(2)} MFLOPs · ${largest.params.toLocaleString('en-US')} params`,
              ],
              [
                'smallest subnet',
                `${fmtMetric(smallest.acc)} % held-out · ${(smallest.flops / 1e6).toFixed(2)} MFLOPs · ${smallest.params.toLocaleString('en-US')} params`,
              ],
              ['training time', `${duration(state.seconds * 1000)} (${Math.round(r.imagesPerSecond)} img/s)`],
            ].map(([k, v]) => [`  ${k}`, v!]),
          ),
        )
        io.out(`\nsupernet: ${out}\nsearch it: nas supernet search --supernet ${opts.out} --strategy nsga2`)
      } finally {
        process.off('SIGINT', onSigint)
        process.off('SIGTERM', onSigint)
        net.dispose()
      }
    })
}

function searchSubcommand(runSearchCommand: SearchCommandRunner) {
  const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v]
  return new Command('search')
    .description(
      "search the subnets of a trained supernet with any strategy (nas search --evaluator supernet): each subnet's accuracy on held-out images with the shared weights, BatchNorm recalibrated",
    )
    .option('--supernet <dir>', 'the supernet directory (nas supernet train --out); not with --resume')
    .option('--strategy <name>', 'strategy (see nas strategies)', 'nsga2')
    .option(
      '--objective <metric:dir>',
      'objective, repeatable (default: acc:max flops:min; acc:max for single-objective strategies)',
      collect,
    )
    .option('--constraint <expr>', 'constraint, repeatable, e.g. "flops<=2000000"', collect)
    .option('--budget <n>', 'subnets to evaluate', '1000')
    .option('--seed <n>', 'random seed (also of the data splits)', '0')
    .option(
      '--data <dataset>',
      'the data the held-out and calibration images come from (default: fashion-mnist)',
    )
    .option('--valid-size <n>', 'held-out images each subnet is scored on (default: 1000)')
    .option('--train-size <n>', 'training images to draw the calibration images from (default: all)')
    .option(
      '--test-size <n>',
      'test images, reported as test_acc (default: none; each costs a pass per subnet)',
    )
    .option('--calibration <n>', 'training images BatchNorm is recalibrated on, per subnet (default: 500)')
    .option(
      '--quant <formats>',
      'search a quantization policy with each subnet (SimQ-NAS): each block in one of these formats, e.g. int4,int8',
    )
    .option(
      '--quant-edges <w:a>',
      'with --quant: formats of the stem, first block and head, weights:activations (default: int8:int8)',
    )
    .option('--batch-size <n>', 'images per forward pass (default: 500)')
    .option(
      '--concurrency <n>',
      'worker threads, each with its own copy of the supernet, one subnet each',
      '1',
    )
    .option('--config <file>', "JSON file with the strategy's config")
    .option('--out <dir>', 'run directory (default: runs/<strategy>-supernet-<data>-<time>)')
    .option('--resume', 'continue the run in --out from its journal (only --budget may change)')
    .option('--lut <file>', 'the latency table of the metric latency.lut (from nas hardware lut build)')
    .option('--json', 'NDJSON progress on stderr; the summary as the last line of stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Metrics: acc (held-out accuracy, %), params, flops, test_acc (with --test-size); measured on this machine:
  latency.tfjs-<backend>, memory.peak, size.bytes; latency.lut:<table> (or latency.lut with --lut)
  with --quant: acc of the quantized subnet, float_acc, bytes (weights as quantized), bitops, peak_act_bytes
Examples:
  nas supernet search --supernet supernets/ps --strategy nsga2 --budget 1000 --objective acc:max --objective flops:min
  nas supernet search --supernet supernets/ps --quant int4,int8 --strategy linas --objective acc:max --objective bytes:min`,
    )
    .action(async (opts, command) => {
      const given = (name: string) => command.getOptionValueSource(name) === 'cli'
      await runSearchCommand(
        {
          ...opts,
          space: 'nb201',
          evaluator: 'supernet',
          cache: 'auto',
        },
        (name) => name === 'evaluator' || given(name),
      )
    })
}

function exportCommand(io: Io) {
  return new Command('export')
    .description(
      'export a subnet of a trained supernet as a standalone TF.js model (model.json + weights.bin), BatchNorm recalibrated',
    )
    .requiredOption('--supernet <dir>', 'the supernet directory (nas supernet train --out)')
    .requiredOption(
      '--arch <text>',
      'the subnet, as OFA\'s dict {"ks": [20], "e": [20], "d": [5], "r": [res]}, or largest / smallest',
    )
    .requiredOption('--out <dir>', 'write model.json, weights.bin and nasjs.json here')
    .option('--calibration <n>', 'training images BatchNorm is recalibrated on (default: 500)')
    .option('--json', 'the result as one JSON line on stdout')
    .addHelpText(
      'after',
      `
The model loads with plain @tensorflow/tfjs (tf.loadLayersModel('file://dir/model.json')) and takes
images at the subnet's resolution (r), standardised as nasjs.json says; its outputs equal the
supernet's on that subnet.
Example:
  nas supernet export --supernet supernets/ps --arch smallest --out models/smallest`,
    )
    .action(async (opts) => {
      const calibration = opts.calibration === undefined ? 500 : intFlag('calibration', opts.calibration, 1)
      const [{ initBackend }, mnode, sn, snode] = await Promise.all([
        import('@nasjs/backend'),
        import('@nasjs/models/node'),
        import('@nasjs/supernet'),
        import('@nasjs/supernet/node'),
      ])
      await initBackend({ quiet: true })
      const { net: any, header } = snode.loadSupernet(resolve(opts.supernet))
      // one subnet type for the calls below: OFA's or FBNet's, as the supernet directory holds
      const net = any as import('@nasjs/supernet').ElasticSupernet<unknown>
      try {
        const arch: unknown =
          any instanceof sn.ElasticFbnet
            ? opts.arch === 'largest'
              ? any.largestArch()
              : opts.arch === 'smallest'
                ? any.smallestArch()
                : any.space.parse(opts.arch)
            : opts.arch === 'largest'
              ? sn.largestArch(any.config)
              : opts.arch === 'smallest'
                ? sn.smallestArch(any.config)
                : any.space.parse(opts.arch)
        const side = net.resolutionOf(arch)
        const setup = header.extra?.['data'] as SupernetDataSetup | undefined
        if (setup === undefined) {
          throw new NasError({
            code: 'DATA_MISSING',
            message: `${opts.supernet} does not say which data it was trained on (it was not written by nas supernet train)`,
            value: opts.supernet,
          })
        }
        const loaded = await mnode.loadDataset(setup.data, setup.split)
        const bn = sn.recalibrate(net, arch, loaded.train, { images: calibration })
        const acc = 100 * sn.evaluateSubnet(net, arch, loaded.valid, { bn }).acc
        const model = sn.exportSubnet(net, arch, bn)
        try {
          const saved = await mnode.saveModel(model, resolve(opts.out), {
            space: net.space.id,
            arch: net.space.format(arch),
            resolution: side,
            ...(loaded.stats === undefined
              ? {}
              : { inputStats: { mean: [...loaded.stats.mean], std: [...loaded.stats.std] } }),
            ...(loaded.train.classNames === undefined ? {} : { classNames: [...loaded.train.classNames] }),
            metrics: { acc, ...net.cost(arch) },
            supernet: resolve(opts.supernet),
          })
          if (opts.json) {
            io.out(
              JSON.stringify({
                ok: true,
                arch: net.space.format(arch),
                acc,
                ...net.cost(arch),
                saved: saved.files,
              }),
            )
            return
          }
          io.out(
            `exported ${net.space.format(arch)}: ${fmtMetric(acc)} % on ${loaded.valid.y.length} held-out images, ${net.cost(arch).params.toLocaleString('en-US')} params\nsaved: ${saved.files.join(', ')} (${(saved.bytes / 1024).toFixed(1)} KiB of weights); input ${side}x${side}`,
          )
        } finally {
          model.dispose()
        }
      } finally {
        net.dispose()
      }
    })
}

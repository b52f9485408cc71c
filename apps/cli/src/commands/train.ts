import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { Command, Option } from '@commander-js/extra-typings'
import { NasError } from '@nasjs/core'
import { getSpace } from '@nasjs/search-space'
import { fmtMetric, table, type Io } from '../context.js'
import { EXIT } from '../errors.js'
import { duration } from '../render/progress.js'
import { intFlag, positiveFlag, type TrainingFlags } from '../search/parse.js'
import { TRAINING_DEFAULTS, trainingSetup } from '../search/training.js'

/** The split sizes of `nas train` on Fashion-MNIST (other data: 10 % validation, 20 % test). */
const TRAIN_SIZES = { trainSize: 10_000, validSize: 1000, testSize: 5000 }

/** `nas train`: trains one architecture on data, prints its accuracy, and saves it for plain TF.js. */
export function trainCommand(io: Io) {
  return new Command('train')
    .description('train one architecture on data, report its accuracy, and save it as model.json + weights')
    .addOption(new Option('--space <id>', 'search space (one with a network builder)').default('nb201'))
    .requiredOption('--arch <text>', "the architecture, in the space's text form (see nas arch)")
    .option(
      '--data <dataset>',
      'fashion-mnist (default), digits, a CSV file of features with a label column, or a folder of PNG/JPEG images (one subfolder per class)',
    )
    .option('--epochs <n>', 'epochs (default: 5)')
    .option('--train-size <n>', 'training examples (default: fashion-mnist 10000, else the rest)')
    .option('--valid-size <n>', 'validation examples (default: fashion-mnist 1000, else 10 %)')
    .option('--test-size <n>', 'test examples (default: fashion-mnist 5000, else 20 %)')
    .option(
      '--width <n>',
      `channels of the first stage (nb201, darts) or of the stem (nb101) (default: ${TRAINING_DEFAULTS.width})`,
    )
    .option(
      '--cells <n>',
      `nb201: cells per stage (default: ${TRAINING_DEFAULTS.cells}); darts: cells in all (default: ${TRAINING_DEFAULTS.dartsCells}); nb101: cells per stack (default: ${TRAINING_DEFAULTS.cells})`,
    )
    .option('--batch-size <n>', 'batch size (default: 64)')
    .option('--lr <x>', 'peak learning rate (default: 0.05, SGD with Nesterov momentum, cosine)')
    .option('--train-config <file>', 'JSON file with the training recipe (optimizer, schedule, augment, ...)')
    .addOption(new Option('--seed <n>', 'seed of the splits, the weights and the batch order').default('0'))
    .option('--save <dir>', 'write model.json, weights.bin and nasjs.json (input statistics, metrics) here')
    .option(
      '--checkpoint <file>',
      'keep the training state here after every epoch; run the same command again to continue from it',
    )
    .option('--json', 'the result as one JSON line on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The saved model loads with plain @tensorflow/tfjs: tf.loadLayersModel('file://dir/model.json') with
tfjs-node, or over HTTP in a browser. Inputs are standardised per channel with the mean and
deviation in nasjs.json.
Example:
  nas train --arch "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|" --epochs 5 --save models/best`,
    )
    .action(async (opts) => {
      const space = getSpace(opts.space)
      const arch = space.parse(opts.arch)
      const seed = intFlag('seed', opts.seed, 0)
      const flags: TrainingFlags = {
        epochs: opts.epochs === undefined ? 5 : intFlag('epochs', opts.epochs, 1),
        ...(opts.trainSize === undefined ? {} : { trainSize: intFlag('train-size', opts.trainSize, 1) }),
        ...(opts.validSize === undefined ? {} : { validSize: intFlag('valid-size', opts.validSize, 1) }),
        ...(opts.testSize === undefined ? {} : { testSize: intFlag('test-size', opts.testSize, 1) }),
        ...(opts.width === undefined ? {} : { width: intFlag('width', opts.width, 1) }),
        ...(opts.cells === undefined ? {} : { cells: intFlag('cells', opts.cells, 1) }),
        ...(opts.batchSize === undefined ? {} : { batchSize: intFlag('batch-size', opts.batchSize, 1) }),
        ...(opts.lr === undefined ? {} : { lr: positiveFlag('lr', opts.lr) }),
        ...(opts.trainConfig === undefined ? {} : { configFile: opts.trainConfig }),
      }
      const setup = trainingSetup(opts.space, opts.data, seed, flags, TRAIN_SIZES)
      const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')

      // TF.js is loaded from here on, and only by this command
      const [{ initBackend, formatBackendInfo }, models, node] = await Promise.all([
        import('@nasjs/backend'),
        import('@nasjs/models'),
        import('@nasjs/models/node'),
      ])
      const backend = await initBackend({ quiet: true })
      const s = node.resolveTrainingSetup(setup)
      const data = await node.loadSetupData(s)
      const network = {
        ...(s.network as object),
        inputShape: data.train.shape as [number, number, number],
        classes: data.train.classes,
        seed,
      }
      const cost = models.modelCost(space, arch, network)
      const model = models.buildModel(space, arch, network)
      log?.(
        `training ${space.format(arch)} (${cost.params.toLocaleString('en-US')} params) on ${data.source}: ${data.train.y.length} train / ${data.valid.y.length} valid / ${data.test.y.length} test; TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}`,
      )
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.on('SIGINT', onSigint)
      process.on('SIGTERM', onSigint)
      const checkpoint = opts.checkpoint === undefined ? undefined : resolve(opts.checkpoint)
      const resume =
        checkpoint !== undefined && existsSync(checkpoint) ? node.loadTrainState(checkpoint) : undefined
      if (resume !== undefined) log?.(`continuing from ${checkpoint} after epoch ${resume.epochs}`)
      const t0 = Date.now()
      let lastLine = 0
      let epochLoss = 0
      let epochSteps = 0
      try {
        const r = await models.train(
          model,
          data.train,
          { ...s.train, seed },
          {
            signal: controller.signal,
            ...(resume === undefined ? {} : { resume }),
            ...(checkpoint === undefined ? {} : { onEpochEnd: (st) => node.saveTrainState(checkpoint, st) }),
            onProgress: (p) => {
              epochLoss += p.loss
              epochSteps++
              const perEpoch = p.totalSteps / (s.train as { epochs: number }).epochs
              const endOfEpoch = p.step % Math.round(perEpoch) === 0 || p.step === p.totalSteps
              if (log !== undefined && (endOfEpoch || Date.now() - lastLine > 2000)) {
                lastLine = Date.now()
                const done = p.step - (resume?.step ?? 0)
                const eta = ((Date.now() - t0) / Math.max(1, done)) * (p.totalSteps - p.step)
                log(
                  `epoch ${p.epoch + 1}/${(s.train as { epochs: number }).epochs} · step ${p.step}/${p.totalSteps} · loss ${(epochLoss / epochSteps).toFixed(4)} · ${Math.round(p.imagesPerSecond)} img/s · ETA ${duration(eta)}`,
                )
              }
              if (endOfEpoch) {
                epochLoss = 0
                epochSteps = 0
              }
            },
          },
        )
        if (r.status === 'aborted') {
          io.err.write(
            checkpoint === undefined
              ? `\ninterrupted after ${r.steps} steps; nothing saved (--checkpoint keeps the state after every epoch)\n`
              : `\ninterrupted after ${r.steps} steps; run the same command to continue from ${checkpoint} (epoch ${r.epochs})\n`,
          )
          process.exitCode = EXIT.interrupted
          return
        }
        if (r.status === 'failed') {
          throw new NasError({ code: 'INPUT_INVALID', message: `training failed: ${r.reason ?? 'unknown'}` })
        }
        const valid = models.evaluate(model, data.valid)
        const test = models.evaluate(model, data.test)
        const metrics = {
          valid_acc: 100 * valid.acc,
          test_acc: 100 * test.acc,
          valid_loss: valid.loss,
          params: cost.params,
          flops: cost.flops,
          train_seconds: r.seconds,
          images_per_s: r.imagesPerSecond,
        }
        let saved: { files: readonly string[]; bytes: number } | undefined
        if (opts.save !== undefined) {
          saved = await node.saveModel(model, resolve(opts.save), {
            space: space.id,
            arch: space.format(arch),
            ...(data.stats === undefined
              ? {}
              : { inputStats: { mean: [...data.stats.mean], std: [...data.stats.std] } }),
            ...(data.train.classNames === undefined ? {} : { classNames: [...data.train.classNames] }),
            metrics,
            setup: s,
            backend: backend.name,
          })
        }
        if (opts.json) {
          io.out(
            JSON.stringify({
              ok: true,
              space: space.id,
              arch: space.format(arch),
              metrics,
              ...(saved === undefined ? {} : { saved: saved.files }),
            }),
          )
          return
        }
        io.out(
          table(
            [
              ['valid_acc', fmtMetric(metrics.valid_acc)],
              ['test_acc', fmtMetric(metrics.test_acc)],
              ['params', cost.params.toLocaleString('en-US')],
              ['flops', cost.flops.toLocaleString('en-US')],
              ['train time', `${duration(r.seconds * 1000)} (${Math.round(r.imagesPerSecond)} img/s)`],
            ].map(([k, v]) => [`  ${k}`, v!]),
          ),
        )
        if (saved !== undefined)
          io.out(`\nsaved: ${saved.files.join(', ')} (${(saved.bytes / 1024).toFixed(1)} KiB of weights)`)
      } finally {
        process.off('SIGINT', onSigint)
        process.off('SIGTERM', onSigint)
        model.dispose()
      }
    })
}

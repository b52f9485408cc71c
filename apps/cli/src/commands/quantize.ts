import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from '@commander-js/extra-typings'
import { NasError } from '@nasjs/core'
import { parseQuantPolicy } from '@nasjs/search-space'
import { fmtMetric, table, type Io } from '../context.js'
import { intFlag, positiveFlag, quantFormatsFlag } from '../search/parse.js'

const FORMATS = ['int4', 'int8', 'int16', 'fp8_e4m3', 'fp8_e5m2', 'fp16', 'fp32'] as const

/**
 * `nas quantize --model dir --out dir`: post-training quantization of a model `nas train --save`
 * wrote: the accuracy of the quantized network (simulated), and the model exported with TF.js weight
 * quantization, with its size and accuracy as plain TF.js loads it.
 */
export function quantizeCommand(io: Io) {
  return new Command('quantize')
    .description(
      'post-training quantization of a saved model (nas train --save): accuracy after quantization, and an export with TF.js weight quantization (uint8, uint16, float16)',
    )
    .requiredOption(
      '--model <dir>',
      'a model directory written by nas train --save (model.json, weights.bin, nasjs.json)',
    )
    .option('--out <dir>', 'where the exported model goes (model.json, weights.bin, nasjs.json)')
    .option(
      '--policy <format|file>',
      `the format of every weight and activation (${FORMATS.join(', ')}; int8: TFLite int8), or a JSON file of one "weights:activations" per quantizable layer (see --list-layers)`,
      'int8',
    )
    .option(
      '--list-layers',
      'list the quantizable layers, in the order a policy file gives their formats, and stop',
    )
    .addOption(
      new Option(
        '--search <method>',
        "search a format per layer instead of --policy: fliqs trains the weights and a controller over the formats together (the model's weights are tuned)",
      ).choices(['fliqs'] as const),
    )
    .option('--formats <list>', 'with --search: the formats each layer chooses among (default: int4,int8)')
    .option(
      '--target <share>',
      "with --search: the cost target, a share of the network's cost with every layer in the widest format (default: 0.75)",
    )
    .addOption(
      new Option('--cost <metric>', 'with --search: the cost the target is on (default: bytes)').choices([
        'bytes',
        'bitops',
      ] as const),
    )
    .option('--steps <n>', 'with --search: training steps of the search (default: 300)')
    .addOption(
      new Option('--calibration <method>', 'how activation ranges are calibrated')
        .choices(['minmax', 'percentile', 'mse'] as const)
        .default('minmax' as const),
    )
    .option('--calibration-images <n>', 'training images the ranges are calibrated on (default: 256)')
    .addOption(
      new Option('--export <dtype>', "the exported weights' format (TF.js weight quantization)")
        .choices(['uint8', 'uint16', 'float16', 'float32'] as const)
        .default('uint8' as const),
    )
    .option('--json', 'the result as one JSON line on stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The model's own data (its nasjs.json records how it was trained: dataset, split and seed) gives the
calibration images (the first --calibration-images of the training split) and the test split the
accuracies are measured on. The simulated accuracy folds every BatchNorm after a convolution into it,
quantizes weights per output channel and every activation with its calibrated range
(@nasjs/quantization quantizeNetwork). The export stores the weights in --export format; plain TF.js
dequantizes them when it loads the model (activations stay float32 there).
A mixed-precision policy file is a JSON array with one "weights:activations" string per layer that
--list-layers lists (e.g. ["int8:int8", "int4:int8", ...]); each layer's weights take the first
format and its input the second (tensors that enter no such layer stay float32).
Examples:
  nas train --arch "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|" --data digits --save model
  nas quantize --model model --out model-uint8
  nas quantize --model model --list-layers
  nas quantize --model model --policy mixed.json --out model-mixed`,
    )
    .action(async (opts) => {
      const dir = resolve(opts.model)
      if (opts.out === undefined && opts.listLayers !== true) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: 'nas quantize needs --out <dir> for the exported model (or --list-layers alone)',
          allowed: ['--out <dir>', '--list-layers'],
        })
      }
      const out = resolve(opts.out ?? '')
      const searchFlags = (['formats', 'target', 'cost', 'steps'] as const).filter(
        (k) => opts[k] !== undefined,
      )
      if (opts.search === undefined && searchFlags.length > 0) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `--${searchFlags[0]!} is an option of --search fliqs`,
          value: searchFlags.map((k) => `--${k}`),
          allowed: ['--search fliqs'],
        })
      }
      if (opts.search !== undefined && opts.policy !== 'int8') {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: '--search finds the policy; leave --policy out',
          value: opts.policy,
        })
      }
      const search =
        opts.search === undefined
          ? undefined
          : {
              formats: quantFormatsFlag(opts.formats ?? 'int4,int8', 'formats'),
              target: opts.target === undefined ? 0.75 : positiveFlag('target', opts.target),
              cost: opts.cost ?? ('bytes' as const),
              steps: opts.steps === undefined ? 300 : intFlag('steps', opts.steps, 1),
            }
      const uniform = (FORMATS as readonly string[]).includes(opts.policy)
      const policyFile = uniform || search !== undefined ? undefined : readPolicyFile(opts.policy)
      const infoPath = join(dir, 'nasjs.json')
      if (!existsSync(infoPath) || !existsSync(join(dir, 'model.json'))) {
        throw new NasError({
          code: 'DATA_MISSING',
          message: `${opts.model} holds no model saved by nas train --save (model.json and nasjs.json)`,
          value: opts.model,
        })
      }
      if (opts.listLayers !== true && out === dir) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: '--out must not be the --model directory (the export would overwrite the model)',
          value: opts.out,
        })
      }
      const info = JSON.parse(readFileSync(infoPath, 'utf8')) as Record<string, unknown>
      if (typeof info['setup'] !== 'object' || info['setup'] === null) {
        throw new NasError({
          code: 'DATA_MISSING',
          message: `${infoPath} does not record how the model was trained (no setup): nas quantize needs its data`,
          value: infoPath,
        })
      }
      const nCal =
        opts.calibrationImages === undefined ? 256 : intFlag('calibration-images', opts.calibrationImages, 1)
      const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')
      const [{ initBackend, formatBackendInfo }, models, node, q] = await Promise.all([
        import('@nasjs/backend'),
        import('@nasjs/models'),
        import('@nasjs/models/node'),
        import('@nasjs/quantization'),
      ])
      const backend = await initBackend({ quiet: true })
      if (opts.listLayers === true) {
        const model = await node.loadSavedModel(dir)
        const layers = q.networkQuantLayers(model)
        model.dispose()
        if (opts.json) io.out(JSON.stringify({ ok: true, layers }))
        else
          io.out(
            table(
              layers.map((l, i) => [String(i), l.name, l.className, String(l.params), String(l.macs)]),
              ['#', 'layer', 'class', 'weights', 'MACs'],
            ),
          )
        return
      }
      const data = await node.loadSetupData(info['setup'] as Parameters<typeof node.loadSetupData>[0])
      const model = await node.loadSavedModel(dir)
      log?.(
        `quantizing ${opts.model} (${model.countParams().toLocaleString('en-US')} parameters) to ${search === undefined ? opts.policy : 'a FLIQS-searched policy'}; ${data.train.y.length} training images for calibration (using ${Math.min(nCal, data.train.y.length)}), ${data.test.y.length} test images; TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}`,
      )
      const n = Math.min(nCal, data.train.y.length)
      let quantized: ReturnType<typeof q.quantizeNetwork> | undefined
      try {
        const fp32 = models.evaluate(model, data.test)
        let searched: Awaited<ReturnType<typeof q.fliqsSearch>> | undefined
        if (search !== undefined) {
          log?.(
            `FLIQS: ${search.steps} steps, formats ${search.formats.join(', ')}, ${search.cost} target ${search.target} of the widest; the weights are tuned for the formats as they are searched`,
          )
          const started = performance.now()
          searched = await q.fliqsSearch(
            model,
            { train: data.train, valid: data.valid },
            { ...search, calibration: opts.calibration, calibrationImages: n },
            {
              onStep: (st) => {
                if (log === undefined || (st.step % 25 !== 0 && st.step !== search.steps)) return
                const eta = ((performance.now() - started) / st.step) * (search.steps - st.step)
                log(
                  `step ${st.step}/${search.steps} · loss ${st.loss.toFixed(3)} · entropy ${st.entropy.toFixed(3)}${st.reward === undefined ? ' · warm-up' : ` · reward ${st.reward.toFixed(3)} · cost ${Math.round(st.cost!).toLocaleString('en-US')}`} · ETA ${Math.round(eta / 1000)}s`,
                )
              },
            },
          )
          quantized = searched.network
        } else {
          quantized = q.quantizeNetwork(model, data.train, {
            ...(policyFile === undefined
              ? { weights: opts.policy, activations: opts.policy }
              : { layers: policyFile }),
            calibration: opts.calibration,
            calibrationImages: n,
          })
        }
        const qn = quantized
        const simulated = models.evaluateLogits(data.test, (x) => qn.predict(x) as never)
        const exportDtype = opts.export
        await node.saveModel(
          model,
          out,
          {
            ...info,
            quantization: {
              weights: exportDtype,
              simulated: {
                policy:
                  searched !== undefined
                    ? searched.policy.map((p) => `${p.weights}:${p.activations}`)
                    : policyFile !== undefined
                      ? policyFile.map((p) => `${p.weights}:${p.activations}`)
                      : opts.policy,
                calibration: opts.calibration,
              },
            },
          },
          exportDtype === 'float32' ? {} : { transform: (a) => q.quantizeArtifacts(a, exportDtype) },
        )
        if (searched !== undefined) {
          // the searched policy, as a file --policy takes
          writeFileSync(
            join(out, 'policy.json'),
            `${JSON.stringify(searched.policy.map((p) => `${p.weights}:${p.activations}`))}\n`,
          )
        }
        const exported = await node.loadSavedModel(out)
        const exportedAcc = models.evaluate(exported, data.test)
        exported.dispose()
        const bytes = (d: string) =>
          ['model.json', 'weights.bin'].reduce((s, f) => s + statSync(join(d, f)).size, 0)
        const result = {
          model: dir,
          out,
          policy: searched !== undefined ? 'fliqs' : policyFile !== undefined ? 'mixed' : opts.policy,
          ...(policyFile === undefined
            ? {}
            : { layers: policyFile.map((p) => `${p.weights}:${p.activations}`) }),
          ...(searched === undefined
            ? {}
            : {
                fliqs: {
                  policy: searched.policy.map((p) => `${p.weights}:${p.activations}`),
                  cost: searched.cost,
                  target: searched.target,
                  formats: searched.formats,
                  steps: searched.history.length,
                },
              }),
          calibration: opts.calibration,
          calibrationImages: n,
          test_acc: 100 * fp32.acc,
          quantized_test_acc: 100 * simulated.acc,
          drop: 100 * (fp32.acc - simulated.acc),
          export: exportDtype,
          exported_test_acc: 100 * exportedAcc.acc,
          bytes: bytes(dir),
          exported_bytes: bytes(out),
          weight_bytes: { float32: qn.float32Bytes, quantized: qn.weightBytes },
        }
        if (opts.json) {
          io.out(JSON.stringify({ ok: true, ...result }))
          return
        }
        io.out(
          table(
            [
              ['test_acc (float32)', `${fmtMetric(result.test_acc)} %`],
              [`test_acc (${result.policy}, simulated)`, `${fmtMetric(result.quantized_test_acc)} %`],
              ['drop', `${fmtMetric(result.drop)} pts`],
              [`test_acc (exported, ${exportDtype} weights)`, `${fmtMetric(result.exported_test_acc)} %`],
              ['model size (model.json + weights.bin)', `${result.bytes.toLocaleString('en-US')} bytes`],
              [
                'exported size',
                `${result.exported_bytes.toLocaleString('en-US')} bytes (${((100 * result.exported_bytes) / result.bytes).toFixed(1)} %)`,
              ],
            ].map(([k, v]) => [`  ${k}`, v!]),
          ),
        )
        io.out(`\nexported: ${out}`)
      } finally {
        quantized?.dispose()
        model.dispose()
      }
    })
}

/** A mixed-precision policy file: a JSON array of `"weights:activations"`, one per quantizable layer. */
function readPolicyFile(path: string): { weights: string; activations: string }[] {
  if (!existsSync(path)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--policy ${path}: not a format (${FORMATS.join(', ')}) and no such file`,
      value: path,
      allowed: [...FORMATS, 'a JSON policy file'],
    })
  }
  let list: unknown
  try {
    list = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--policy ${path} is not JSON: ${e instanceof Error ? e.message : String(e)}`,
      value: path,
    })
  }
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--policy ${path} must hold a JSON array of "weights:activations" strings, one per quantizable layer (nas quantize --list-layers lists them)`,
      value: path,
    })
  }
  return parseQuantPolicy(list.join(' '), list.length)
}

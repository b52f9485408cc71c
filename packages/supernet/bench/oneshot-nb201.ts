/**
 * One-shot cell search on the NAS-Bench-201 space, judged by the benchmark: each method searches a
 * scaled-down NB201 supernet on Fashion-MNIST (half of the images for the network weights, half for
 * the architecture weights), and the derived cell is looked up in the NB201 table (CIFAR-10 test
 * accuracy of the full network trained 200 epochs).
 *
 *   npx tsx --conditions=@nasjs/source bench/oneshot-nb201.ts --out runs/oneshot [--methods darts,gdas,darts-pt]
 *     [--seeds 3] [--epochs 10] [--train 2500] [--valid 2500] [--channels 8] [--cells 1] [--batch 64]
 *     [--arch-lr 3e-4]
 *
 * Every run checkpoints after each epoch under --out and resumes where it stopped; results are
 * appended to <out>/results.jsonl, one line per (method, seed), and the table is printed at the end.
 * rarts, sd-darts and sharp-darts are RARTS, DARTS with two voting teachers (the supernets at the ends
 * of the two latest epochs) and DARTS with Max-W and cosine power annealing (base 2), as `nas oneshot`
 * runs them; max-w and cosine-power are DARTS with one of sharpDARTS's two parts each.
 * few-shot is few-shot NAS with the gradient matching split: DARTS sub-supernets split after 40 % and
 * 70 % of the epochs (4 and 7 of 10), four at the end, the best by held-out accuracy of its cell
 * (its minutes are every sub-supernet's); few-shot-pt reads each final sub-supernet's cell by
 * perturbation-based selection instead of the largest alpha.
 * darts-pt runs perturbation-based selection on the finished DARTS supernet of the same seed (its
 * minutes are the DARTS search's plus the selection's).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { initBackend } from '@nasjs/backend'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import {
  CellSupernet,
  fewShotSearch,
  perturbationSelect,
  searchCell,
  type OneShotState,
} from '../src/index.js'

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/oneshot' },
    methods: { type: 'string', default: 'darts,gdas' },
    seeds: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '10' },
    train: { type: 'string', default: '2500' },
    valid: { type: 'string', default: '2500' },
    channels: { type: 'string', default: '8' },
    cells: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    'arch-lr': { type: 'string', default: '3e-4' },
  },
})
const out = values.out
mkdirSync(out, { recursive: true })
const backend = await initBackend({ quiet: true })
const bench = loadNb201()
const nTrain = Number(values.train)
const nValid = Number(values.valid)
const log = (s: string) => process.stderr.write(`${s}\n`)
const resultsFile = join(out, 'results.jsonl')
interface Row {
  method: string
  seed: number
  arch: string
  test_acc: number
  minutes: number
  weights: number[][]
}
const done = new Map<string, Row>()
if (existsSync(resultsFile)) {
  for (const line of readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as Row
    done.set(`${r.method}:${r.seed}`, r)
  }
}
const toJson = (s: OneShotState) =>
  JSON.stringify({
    ...s,
    weights: s.weights.map((w) => ({ ...w, values: Array.from(w.values) })),
    momentum: s.momentum.map((m) => Array.from(m)),
    adam: { m: Array.from(s.adam.m), v: Array.from(s.adam.v), t: s.adam.t },
    aux: (s.aux ?? []).map((w) => ({ ...w, values: Array.from(w.values) })),
  })
const fromJson = (text: string): OneShotState => {
  const j = JSON.parse(text) as OneShotState & {
    weights: { name: string; shape: number[]; values: number[] }[]
    momentum: number[][]
    adam: { m: number[]; v: number[]; t: number }
    aux: { name: string; shape: number[]; values: number[] }[]
  }
  return {
    ...j,
    weights: j.weights.map((w) => ({ ...w, values: Float32Array.from(w.values) })),
    momentum: j.momentum.map((m) => Float32Array.from(m)),
    adam: { m: Float32Array.from(j.adam.m), v: Float32Array.from(j.adam.v), t: j.adam.t },
    ...(j.aux.length === 0 ? {} : { aux: j.aux.map((w) => ({ ...w, values: Float32Array.from(w.values) })) }),
  }
}
for (const method of values.methods.split(',') as (
  | 'darts'
  | 'gdas'
  | 'darts-pt'
  | 'pc-darts'
  | 'rarts'
  | 'sd-darts'
  | 'sharp-darts'
  | 'few-shot'
  | 'few-shot-pt'
  | 'max-w'
  | 'cosine-power'
)[]) {
  for (let seed = 0; seed < Number(values.seeds); seed++) {
    const key = `${method}:${seed}`
    if (done.has(key)) continue
    // the split depends on the seed: half the images for the weights, half for the architecture
    const data = await loadDataset('fashion-mnist', { train: nTrain, valid: nValid, seed })
    const net = new CellSupernet({
      channels: Number(values.channels),
      cellsPerStage: Number(values.cells),
      inputShape: [28, 28, 1],
      classes: 10,
      seed,
      // PC-DARTS: 1/4 of the channels through each edge, edges normalised (its CIFAR setting)
      ...(method === 'pc-darts' ? { partialChannels: 4, edgeNormalization: true } : {}),
    })
    if (method === 'few-shot' || method === 'few-shot-pt') {
      const epochs = Number(values.epochs)
      const file = (path: string) => join(out, `${method}-${seed}-${path === '' ? 'root' : path}.json`)
      const t0 = performance.now()
      let last = 0
      const f = await fewShotSearch(
        data.train,
        data.valid,
        {
          supernet: { ...net.config },
          search: { epochs, batchSize: Number(values.batch), archLr: Number(values['arch-lr']), seed },
          splitEpochs: [Math.round(0.4 * epochs), Math.round(0.7 * epochs)],
          selection: method === 'few-shot-pt' ? 'perturbation' : 'alpha',
        },
        {
          load: (path) => (existsSync(file(path)) ? fromJson(readFileSync(file(path), 'utf8')) : undefined),
          onCheckpoint: (path, st) => {
            writeFileSync(`${file(path)}.tmp`, toJson(st))
            renameSync(`${file(path)}.tmp`, file(path))
          },
          onSplit: (sp) =>
            log(
              `${key} split ${sp.path === '' ? 'root' : sp.path} on edge ${sp.edge}: ${sp.groups.map((g) => g.join(',')).join(' | ')} (score ${sp.score.toFixed(3)}; ${sp.candidates.map((c) => `${c.edge}:${c.score.toFixed(3)}`).join(' ')})`,
            ),
          onProgress: (p) => {
            if (performance.now() - last < 30_000 && p.step !== p.totalSteps) return
            last = performance.now()
            log(
              `${key} sub-supernet ${p.path || 'root'} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}`,
            )
          },
        },
      )
      net.dispose()
      for (const l of f.leaves)
        log(
          `${key} leaf ${l.path}: ${nb201.format(l.arch)} held-out ${(100 * l.validAccuracy).toFixed(2)} -> CIFAR-10 test ${bench.query(l.arch, 'cifar10').test_acc!.toFixed(2)}`,
        )
      const row: Row = {
        method,
        seed,
        arch: nb201.format(f.arch!),
        test_acc: bench.query(f.arch!, 'cifar10').test_acc!,
        // this process's minutes (a resumed run counts only what it ran)
        minutes: (performance.now() - t0) / 60_000,
        weights: f.leaves.find((l) => l.path === f.best)!.history.at(-1)! as number[][],
      }
      appendFileSync(resultsFile, `${JSON.stringify(row)}\n`)
      done.set(key, row)
      log(`${key}: ${row.arch} -> CIFAR-10 test ${row.test_acc.toFixed(2)} (${row.minutes.toFixed(1)} min)`)
      continue
    }
    // darts-pt selects on the DARTS supernet of the same seed, once its search has finished
    const searchMethod = method === 'gdas' || method === 'rarts' ? method : 'darts'
    const ckpt = join(out, `${method === 'darts-pt' ? 'darts' : method}-${seed}.json`)
    const resume = existsSync(ckpt) ? fromJson(readFileSync(ckpt, 'utf8')) : undefined
    if (method === 'darts-pt' && !done.has(`darts:${seed}`)) {
      log(`${key}: the DARTS search of seed ${seed} has not finished (run --methods darts first); skipped`)
      net.dispose()
      continue
    }
    let last = 0
    const r = await searchCell(
      net,
      data.train,
      data.valid,
      {
        method: searchMethod,
        epochs: Number(values.epochs),
        batchSize: Number(values.batch),
        archLr: Number(values['arch-lr']),
        ...(method === 'pc-darts' ? { archWarmupEpochs: Math.floor(0.3 * Number(values.epochs)) } : {}),
        ...(method === 'sd-darts' ? { teachers: 2 } : {}),
        ...(method === 'sharp-darts' ? { edgeWeighting: 'max-w' as const, lrPowerBase: 2 } : {}),
        // the two parts of sharpDARTS alone (an ablation)
        ...(method === 'max-w' ? { edgeWeighting: 'max-w' as const } : {}),
        ...(method === 'cosine-power' ? { lrPowerBase: 2 } : {}),
        seed,
      },
      {
        ...(resume === undefined ? {} : { resume }),
        onCheckpoint: (s) => {
          writeFileSync(`${ckpt}.tmp`, toJson(s))
          renameSync(`${ckpt}.tmp`, ckpt)
        },
        onProgress: (p) => {
          if (performance.now() - last < 30_000 && p.step !== p.totalSteps) return
          last = performance.now()
          log(
            `${key} step ${p.step}/${p.totalSteps} epoch ${p.epoch.toFixed(2)} loss ${p.loss.toFixed(3)} arch loss ${p.archLoss.toFixed(3)}${p.tau === undefined ? '' : ` tau ${p.tau.toFixed(2)}`} ${p.imagesPerSecond.toFixed(0)} img/s ETA ${(p.etaSeconds / 60).toFixed(1)} min; cell now ${nb201.format(net.derive())}`,
          )
        },
      },
    )
    const state = fromJson(readFileSync(ckpt, 'utf8'))
    let arch = r.arch
    let minutes = state.seconds / 60
    if (method === 'darts-pt') {
      const p = await perturbationSelect(net, data.train, data.valid, {
        seed,
        batchSize: Number(values.batch),
        onEdge: (d) =>
          log(
            `${key} edge ${d.edge}: ${d.chosen} (accuracy ${(100 * d.base).toFixed(2)}; removed ${d.removed.map((a) => (100 * a).toFixed(2)).join(' / ')})`,
          ),
      })
      arch = p.arch
      minutes += p.seconds / 60
    }
    const row: Row = {
      method,
      seed,
      arch: nb201.format(arch),
      test_acc: bench.query(arch, 'cifar10').test_acc!,
      minutes,
      weights: net.opWeights(),
    }
    appendFileSync(resultsFile, `${JSON.stringify(row)}\n`)
    done.set(key, row)
    log(
      `${key}: ${r.status}, ${row.arch} -> CIFAR-10 test ${row.test_acc.toFixed(2)} (${row.minutes.toFixed(1)} min, ${backend.name})`,
    )
    net.dispose()
  }
}
const rows = [...done.values()]
console.log('| method | seed | derived cell | NB201 CIFAR-10 test (%) | search minutes |')
console.log('| --- | --: | --- | --: | --: |')
for (const r of rows) {
  console.log(
    `| ${r.method} | ${r.seed} | \`${r.arch}\` | ${r.test_acc.toFixed(2)} | ${r.minutes.toFixed(1)} |`,
  )
}
for (const m of new Set(rows.map((r) => r.method))) {
  const xs = rows.filter((r) => r.method === m).map((r) => r.test_acc)
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length
  const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, xs.length - 1))
  console.log(`\n${m}: ${mean.toFixed(2)} ± ${sd.toFixed(2)} over ${xs.length} seeds`)
}

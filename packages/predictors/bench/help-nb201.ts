/**
 * HELP on NB201: meta-training on HELP's devices and few-shot transfer to its held-out devices.
 *
 *   npx tsx --conditions=@nasjs/source bench/help-nb201.ts [--episodes 2000] [--seed 3]
 *       [--out model.json] [--load model.json] [--weights help-checkpoint.json] [--first-order]
 *       [--repeats 5] [--target-range pool|references] [--json]
 *
 * Meta-train devices, validation devices and test devices are HELP's NB201 split; the pool is the
 * first 900 NB201 indices, the test query the next 1,000 (both less 10 % at each end per device).
 * `--weights` evaluates the weights HELP published instead of training (converted to JSON with
 * bench/help-checkpoint.py), to check this implementation of the forward pass and the adaptation.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Rng, kendallTau, spearmanRho } from '@nasjs/core'
import { loadNb201 } from '@nasjs/benchmarks/node'
import {
  HELP_NB201,
  adaptHelp,
  createHelp,
  loadHelp,
  metaTrainHelp,
  nb201HelpGraph,
  trimmedPool,
  type HelpDevice,
  type HelpModel,
} from '../src/index.js'

export function helpNb201Data() {
  const bench = loadNb201()
  const archs = Array.from({ length: bench.size }, (_, i) => bench.archAt(i))
  const graphs = archs.map((a) => nb201HelpGraph(a))
  const device = (name: string): HelpDevice => ({ name, latency: bench.column('cifar10', `latency.${name}`) })
  const pool = Array.from({ length: 900 }, (_, i) => i)
  const query = Array.from({ length: 1000 }, (_, i) => 900 + i)
  return { bench, archs, graphs, device, pool, query }
}

export interface TransferResult {
  readonly device: string
  readonly spearman: number
  readonly kendall: number
  readonly within10: number
  readonly mape: number
}

/**
 * One few-shot transfer: adapt from the references and `support` pool architectures, predict the
 * query. `range: 'pool'` scales targets as HELP's meta-test does (the device's pool range);
 * `'measured'` uses only the measured latencies (references and support).
 */
export function transfer(
  model: HelpModel,
  data: ReturnType<typeof helpNb201Data>,
  d: HelpDevice,
  seed: number,
  range: 'pool' | 'measured' | 'range-refs',
  support = 10,
): TransferResult {
  const rng = new Rng(`transfer/${d.name}/${seed}`)
  const pool = trimmedPool(data.pool, d.latency, 0.1)
  const sup = rng.shuffle(pool).slice(0, support)
  const q = trimmedPool(data.query, d.latency, 0.1)
  let lo = Infinity
  let hi = -Infinity
  for (const i of pool) {
    lo = Math.min(lo, d.latency[i]!)
    hi = Math.max(hi, d.latency[i]!)
  }
  const fitted = adaptHelp(model, {
    references: model.references.map((i) => d.latency[i]!),
    support: sup.map((i) => ({ graph: data.graphs[i]!, ms: d.latency[i]! })),
    ...(range === 'pool' ? { range: { lo, hi } } : {}),
    ...(range === 'range-refs' ? { rangeLatencies: model.rangeReferences.map((i) => d.latency[i]!) } : {}),
    seed,
  })
  try {
    const p = fitted.predict(q.map((i) => data.graphs[i]!))
    const truth = q.map((i) => d.latency[i]!)
    let within = 0
    let ape = 0
    truth.forEach((t, k) => {
      const e = Math.abs(p.ms[k]! - t) / t
      if (e <= 0.1) within++
      ape += e
    })
    return {
      device: d.name,
      spearman: spearmanRho(p.normalized, truth),
      kendall: kendallTau(p.normalized, truth),
      within10: within / truth.length,
      mape: ape / truth.length,
    }
  } finally {
    fitted.dispose()
  }
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

async function main() {
  const args = process.argv.slice(2)
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const episodes = Number(opt('episodes') ?? 2000)
  const seed = Number(opt('seed') ?? 3)
  const repeats = Number(opt('repeats') ?? 5)
  const json = args.includes('--json')
  const data = helpNb201Data()
  const t0 = performance.now()
  let model: HelpModel
  const weights = opt('weights')
  const load = opt('load')
  if (weights !== undefined) {
    // HELP's published weights, converted: { params: { name: number[] } } in our names and layout
    const w = JSON.parse(readFileSync(weights, 'utf8')) as { params: Record<string, number[]> }
    model = await loadHelp({
      format: 'nasjs-help',
      version: 1,
      config: { seed },
      space: 'nb201',
      nodes: 9,
      features: 8,
      references: [...HELP_NB201.references],
      params: w.params,
    })
  } else if (load !== undefined) {
    model = await loadHelp(JSON.parse(readFileSync(load, 'utf8')))
  } else {
    model = await createHelp({
      graph: data.graphs[0]!,
      references: [...HELP_NB201.references],
      space: 'nb201',
      config: {
        seed,
        secondOrder: !args.includes('--first-order'),
        targetRange: opt('target-range') === 'references' ? 'references' : 'pool',
      },
    })
    let lastPrint = 0
    await metaTrainHelp(model, {
      graphs: data.graphs,
      devices: HELP_NB201.metaTrain.map(data.device),
      pool: data.pool,
      episodes,
      validation: { devices: HELP_NB201.metaValid.map(data.device), query: data.query, every: 50 },
      onProgress: (p) => {
        const now = performance.now()
        if (p.validation !== undefined || now - lastPrint > 10_000) {
          lastPrint = now
          const s = (now - t0) / 1000
          const eta = (s / p.episode) * (p.episodes - p.episode)
          process.stderr.write(
            `episode ${p.episode}/${p.episodes} loss ${p.loss.toFixed(4)}` +
              (p.validation !== undefined
                ? ` valid rho ${p.validation.toFixed(3)} (best ${p.best!.toFixed(3)})`
                : '') +
              ` ${s.toFixed(0)} s, eta ${eta.toFixed(0)} s\n`,
          )
        }
      },
    })
    const out = opt('out') ?? join('node_modules', '.cache', 'nasjs', `help-nb201-seed${seed}.json`)
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, JSON.stringify(model.toJSON()))
    process.stderr.write(`saved ${out} (kept episode ${model.training?.kept})\n`)
  }
  const trainSeconds = (performance.now() - t0) / 1000
  const rows: Record<string, unknown>[] = []
  for (const name of HELP_NB201.metaTest) {
    const d = data.device(name)
    const ranges =
      model.config.targetRange === 'references'
        ? (['measured'] as const)
        : model.rangeReferences.length > 0
          ? (['pool', 'measured', 'range-refs'] as const)
          : (['pool', 'measured'] as const)
    for (const range of ranges) {
      const r = Array.from({ length: repeats }, (_, k) => transfer(model, data, d, seed * 1000 + k, range))
      rows.push({
        device: name,
        range,
        spearman: median(r.map((x) => x.spearman)),
        kendall: median(r.map((x) => x.kendall)),
        within10: median(r.map((x) => x.within10)),
        mape: median(r.map((x) => x.mape)),
        paperSpearman: (HELP_NB201.paperSpearman as Record<string, number>)[name],
      })
    }
  }
  model.dispose()
  if (json) {
    console.log(JSON.stringify({ episodes, seed, trainSeconds, rows }, null, 2))
    return
  }
  console.log(`| device | targets scaled by | Spearman (paper) | Kendall tau | within 10 % | MAPE |`)
  console.log(`|---|---|---|---|---|---|`)
  for (const r of rows) {
    const f = (v: unknown, d = 3) => (v as number).toFixed(d)
    console.log(
      `| ${String(r['device'])} | ${String(r['range'])} | ${f(r['spearman'])} (${f(r['paperSpearman'])}) | ${f(r['kendall'])} | ${((r['within10'] as number) * 100).toFixed(0)} % | ${((r['mape'] as number) * 100).toFixed(1)} % |`,
    )
  }
  for (const range of ['pool', 'measured', 'range-refs']) {
    const sel = rows.filter((r) => r['range'] === range)
    if (sel.length === 0) continue
    const mean = (k: string) => sel.reduce((s, r) => s + (r[k] as number), 0) / sel.length
    console.log(
      `| mean | ${range} | ${mean('spearman').toFixed(3)} (0.932) | ${mean('kendall').toFixed(3)} | ${(mean('within10') * 100).toFixed(0)} % | ${(mean('mape') * 100).toFixed(1)} % |`,
    )
  }
  console.log(
    `\n${trainSeconds.toFixed(0)} s (training ${episodes} episodes, or loading), seed ${seed}, ${repeats} draws of the support per device (medians)`,
  )
}

if (import.meta.url === `file://${process.argv[1]}`) await main()

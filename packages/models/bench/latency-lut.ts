// Builds a latency lookup table for a space on this machine's TF.js backend and checks it against
// whole networks: the share of --sample random networks predicted within +/-10 % of their measured
// latency, the RMSE and Kendall tau. Batch 1. Tables go to node_modules/.cache/nasjs/lut-<space>-<res>.json.
// Run: cd packages/models && npx tsx --conditions=@nasjs/source bench/latency-lut.ts --space nb201 [--resolutions 160,224] [--sample 100] [--runs 30] [--calibrate 10] [--lut file.json]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname } from 'node:path'
import { formatBackendInfo, initBackend } from '@nasjs/backend'
import { parseLatencyTable } from '@nasjs/core'
import { getSpace } from '@nasjs/search-space'
import { buildLatencyTable, checkLatencyTable } from '../src/index.js'
import { quietGateForMachine } from '../src/node/index.js'

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? d : process.argv[i + 1]!
}
const spaceId = arg('space', 'nb201')
const space = getSpace(spaceId)
const resolutions = arg('resolutions', '') === '' ? undefined : arg('resolutions', '').split(',').map(Number)
const sample = Number(arg('sample', '100'))
const info = await initBackend({ quiet: true })
const gate = quietGateForMachine({ cwd: '../..' })
const t0 = performance.now()
const out = arg(
  'out',
  `../../node_modules/.cache/nasjs/lut-${spaceId}${resolutions ? `-${resolutions.join('-')}` : ''}.json`,
)
const given = arg('lut', '')
const progress = (p: { phase: string; done: number; total: number; item: string; ms: number }) => {
  if (p.done % 10 === 0 || p.done === p.total)
    process.stderr.write(`${p.phase} ${p.done}/${p.total} ${p.ms.toFixed(3)} ms ${p.item}\n`)
}
const table =
  given !== ''
    ? parseLatencyTable(JSON.parse(readFileSync(given, 'utf8')), given)
    : await buildLatencyTable(space, {
        ...(resolutions === undefined ? {} : { resolutions }),
        runs: Number(arg('runs', '30')),
        calibrate: Number(arg('calibrate', '10')),
        device: {
          description: formatBackendInfo(info),
          cpu: cpus()[0]?.model ?? 'unknown',
          runtime: `node ${process.versions.node}`,
          platform: `${process.platform} ${process.arch}`,
        },
        onProgress: progress,
        gate,
      })
const buildSeconds = (performance.now() - t0) / 1000
if (given === '') {
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(table, null, 1))
}
const t1 = performance.now()
const check = await checkLatencyTable(table, space, {
  sample,
  ...(resolutions === undefined ? {} : { resolutions }),
  onProgress: progress,
  gate,
})
console.log(
  JSON.stringify({
    space: spaceId,
    resolutions,
    entries: Object.keys(table.entries).length,
    overhead: table.overhead,
    buildSeconds,
    checkSeconds: (performance.now() - t1) / 1000,
    networks: check.networks,
    within10: check.within10,
    rmse: check.rmse,
    mape: check.mape,
    kendallTau: check.kendallTau,
    medianMs: check.medianMs,
    retried: gate.retried,
    quietProbeMs: gate.fastest,
    worst: [...check.rows]
      .sort((a, b) => Math.abs(b.predicted / b.measured - 1) - Math.abs(a.predicted / a.measured - 1))
      .slice(0, 3),
  }),
)

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import type { LoadedDataset } from '@nasjs/models/node'
import { DARTS_PRIMITIVES, darts } from '@nasjs/search-space'
import type { DartsCellSupernetConfig, OneShotShape, OneShotState } from '@nasjs/supernet'
import { table, type Io } from '../context.js'
import { EXIT } from '../errors.js'
import { duration } from '../render/progress.js'
import { writeJsonAtomic } from '../run-files.js'
import { oneshotReportHtml, type OneShotSummary } from './oneshot.js'

/** What `nas oneshot --space darts` runs with (the flags already checked). */
export interface DartsOneShotRun {
  readonly sn: typeof import('@nasjs/supernet')
  readonly snode: typeof import('@nasjs/supernet/node')
  readonly loaded: LoadedDataset
  readonly t: OneShotShape
  readonly resume: OneShotState | undefined
  readonly out: string
  readonly outArg: string
  readonly method: string
  readonly seed: number
  readonly json: boolean
  readonly log?: (line: string) => void
  readonly backendLine: string
  readonly shape: DartsCellSupernetConfig
  /** What the checkpoints record of the data. */
  readonly extra: Record<string, unknown>
}

/** A compact form of a genotype for progress lines: each node's two (op, input) pairs. */
const compact = (g: ReturnType<typeof darts.validate>) =>
  (['normal', 'reduce'] as const)
    .map((c) => `${c} ${g[c].map((n) => n.inputs.map((i, j) => `${n.ops[j]}~${i}`).join('+')).join(' ')}`)
    .join(' | ')

/**
 * `nas oneshot --space darts`: DARTS's search network on the user's data, searched by a method of
 * `searchCell`; the derived genotype, the size of its evaluation network and how to train it, the
 * architecture weights over the epochs in `report.html`. Resumable from the directory's checkpoint.
 */
export async function runDartsOneShot(io: Io, r: DartsOneShotRun): Promise<void> {
  const { sn, snode, loaded, t, out, log } = r
  const net = new sn.DartsCellSupernet(r.shape)
  const extra = r.extra
  log?.(
    `${r.resume === undefined ? 'searching' : `continuing at step ${r.resume.step}:`} ${r.method} on the DARTS space (a ${net.config.channels}-channel supernet of ${net.config.layers} cells, reduction at ${[...net.reductions].join(' and ')}) on ${loaded.source}: ${loaded.train.y.length} images for the weights, ${loaded.valid.y.length} for the architecture; TF.js ${r.backendLine}`,
  )
  const controller = new AbortController()
  const onSigint = () => controller.abort()
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigint)
  let last = 0
  try {
    const result = await sn.searchCell(net, loaded.train, loaded.valid, t, {
      signal: controller.signal,
      ...(r.resume === undefined ? {} : { resume: r.resume }),
      onCheckpoint: (s) => snode.saveOneShotState(out, s, extra),
      onProgress: (p) => {
        if (log === undefined || (Date.now() - last < 2000 && p.step !== p.totalSteps)) return
        last = Date.now()
        log(
          `epoch ${p.epoch.toFixed(2)}/${p.epochs} · step ${p.step}/${p.totalSteps} · loss ${p.loss.toFixed(3)} · arch loss ${Number.isNaN(p.archLoss) ? '-' : p.archLoss.toFixed(3)}${p.tau === undefined ? '' : ` · tau ${p.tau.toFixed(2)}`} · ${Math.round(p.imagesPerSecond)} img/s · ETA ${duration(p.etaSeconds * 1000)} · ${compact(net.derive())}`,
        )
      },
    })
    if (result.status === 'aborted') {
      io.err.write(
        `\ninterrupted at step ${result.steps}; run the same command to continue from ${r.outArg}\n`,
      )
      process.exitCode = EXIT.interrupted
      return
    }
    if (result.status === 'failed') {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `one-shot search failed: ${result.reason ?? 'unknown'}`,
      })
    }
    const { dartsCost } = await import('@nasjs/models')
    const genotype = darts.format(result.arch)
    const seconds = snode.loadOneShotState(out).seconds
    const summary: OneShotSummary = {
      method: r.method,
      space: 'darts',
      data: loaded.source,
      seed: r.seed,
      epochs: t.epochs,
      steps: result.steps,
      seconds,
      arch: genotype,
      evaluation: {
        ...dartsCost(result.arch),
        train: `nas train --space darts --arch "${genotype}"`,
      },
      history: result.history,
      ops: [...DARTS_PRIMITIVES],
    }
    writeFileSync(join(out, 'report.html'), oneshotReportHtml(summary))
    writeJsonAtomic(join(out, 'summary.json'), summary)
    if (r.json) {
      io.out(JSON.stringify({ ok: true, out, ...summary }))
      return
    }
    io.out(
      table(
        [
          ['derived genotype', genotype],
          [
            'evaluation network',
            `${summary.evaluation!.params.toLocaleString('en-US')} params, ${(summary.evaluation!.flops / 1e6).toFixed(1)} MFLOPs (36 channels, 20 cells, CIFAR-10)`,
          ],
          ['search time', duration(seconds * 1000)],
        ].map(([k, v]) => [`  ${k}`, v!]),
      ),
    )
    io.out(
      `\nsummary: ${join(out, 'summary.json')}\nreport: ${join(out, 'report.html')}\ntrain it: ${summary.evaluation!.train}`,
    )
  } finally {
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigint)
    net.dispose()
  }
}

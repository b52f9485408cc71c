import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { quietGate, type QuietGate } from '../hardware/measure.js'

/** Where the machine's quiet probe times are kept, by backend and CPU. */
export const QUIET_BASELINE_FILE = join('node_modules', '.cache', 'nasjs', 'quiet-probe.json')

/** The probe's version: a changed probe must not compare with old times. */
const PROBE_VERSION = 1

/**
 * A {@link quietGate} that remembers the machine's quiet speed across processes: the fastest probe
 * time ever seen on this backend, TF.js version and CPU is read from (and, when beaten, written to)
 * `node_modules/.cache/nasjs/quiet-probe.json` under `cwd`. A process that starts while the machine is
 * busy then sees that it is, and waits. `NASJS_QUIET_RETRIES` sets the retries (4; 0 measures once).
 * @since 0.1.0
 * @category hardware
 */
export function quietGateForMachine(
  opts: { readonly cwd?: string; readonly tolerance?: number; readonly retries?: number } = {},
): QuietGate {
  // NASJS_QUIET_RETRIES=0 measures once whatever the machine is doing (tests on a loaded machine)
  const env = process.env['NASJS_QUIET_RETRIES']
  const retries = opts.retries ?? (env !== undefined && /^\d+$/.test(env) ? Number(env) : undefined)
  const file = join(opts.cwd ?? process.cwd(), QUIET_BASELINE_FILE)
  const key = `v${PROBE_VERSION} ${tf.getBackend()} tfjs-${tf.version_core} ${cpus()[0]?.model ?? 'cpu'}`
  let stored: Record<string, number> = {}
  try {
    const json: unknown = JSON.parse(readFileSync(file, 'utf8'))
    if (typeof json === 'object' && json !== null && !Array.isArray(json))
      stored = json as Record<string, number>
  } catch {
    // no baseline yet (or an unreadable one): this process sets one
  }
  // kept beside a project's node_modules only: a search run elsewhere does not create one
  const writable = existsSync(join(opts.cwd ?? process.cwd(), 'node_modules'))
  const baseline = stored[key]
  return quietGate({
    ...opts,
    ...(retries === undefined ? {} : { retries }),
    ...(typeof baseline === 'number' && baseline > 0 ? { baseline } : {}),
    onFastest(ms) {
      if (!writable) return
      try {
        mkdirSync(dirname(file), { recursive: true })
        writeFileSync(file, JSON.stringify({ ...stored, [key]: ms }, null, 1))
        stored = { ...stored, [key]: ms }
      } catch {
        // a read-only checkout keeps the baseline for this process only
      }
    },
  })
}

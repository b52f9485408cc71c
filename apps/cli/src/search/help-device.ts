import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { NasError } from '@nasjs/core'

/**
 * A device for `latency.help`: the latencies (ms) of the predictor's reference and range-reference
 * architectures on it, and of a few support architectures, as `nas hardware predictor device` writes it.
 */
export interface HelpDeviceFile {
  readonly format: 'nasjs-help-device'
  readonly version: 1
  readonly name: string
  readonly source: 'measured' | 'table'
  /** sha256 of the predictor the references and range references belong to. */
  readonly predictor: string
  readonly references: readonly number[]
  readonly rangeLatencies: readonly number[]
  readonly support: readonly { readonly arch: string; readonly ms: number }[]
  readonly setting?: Record<string, unknown>
}

/** Reads a file with its sha256, with one clear error for each way it can be wrong. */
export function readJsonFile(flag: string, path: string): { json: unknown; sha256: string } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new NasError({
      code: 'IO',
      message: `cannot read ${flag} ${path}: ${(e as Error).message}`,
      path: [path],
    })
  }
  try {
    return { json: JSON.parse(text) as unknown, sha256: createHash('sha256').update(text).digest('hex') }
  } catch {
    throw new NasError({ code: 'DATA_CORRUPT', message: `${flag} ${path} is not JSON`, path: [path] })
  }
}

/** Reads and checks a device file against the predictor's digest and shape. */
export function readHelpDevice(
  path: string,
  predictor: { sha256: string; references: number; rangeReferences: number },
): { device: HelpDeviceFile; sha256: string } {
  const { json, sha256 } = readJsonFile('--help-device', path)
  const d = json as Partial<HelpDeviceFile> | null
  const bad = (why: string) =>
    new NasError({
      code: 'DATA_CORRUPT',
      message: `--help-device ${path}: ${why} (make one with nas hardware predictor device)`,
      path: [path],
    })
  if (d === null || typeof d !== 'object' || d.format !== 'nasjs-help-device' || d.version !== 1) {
    throw bad("not a HELP device file (format 'nasjs-help-device', version 1)")
  }
  if (!Array.isArray(d.references) || d.references.length !== predictor.references) {
    throw bad(
      `it has ${d.references?.length ?? 'no'} reference latencies; the predictor reads ${predictor.references}`,
    )
  }
  if (!Array.isArray(d.rangeLatencies) || d.rangeLatencies.length !== predictor.rangeReferences) {
    throw bad(
      `it has ${d.rangeLatencies?.length ?? 'no'} range latencies; the predictor has ${predictor.rangeReferences}`,
    )
  }
  if (!Array.isArray(d.support) || d.support.length < 2)
    throw bad('it needs at least 2 support architectures')
  if (d.predictor !== predictor.sha256) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--help-device ${path} was measured for another predictor (sha256 ${String(d.predictor).slice(0, 12)}..., the one given is ${predictor.sha256.slice(0, 12)}...): its reference architectures may differ; measure the device again for this predictor`,
      value: path,
    })
  }
  return { device: d as HelpDeviceFile, sha256 }
}

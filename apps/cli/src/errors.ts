import { CommanderError } from 'commander'
import { isNasError, type NasError } from '@nasjs/core'

/** Exit codes of `nas`. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const

const USAGE_CODES = new Set<NasError['code']>([
  'CONFIG_INVALID',
  'ARCH_INVALID',
  'SPACE_MISMATCH',
  'NOT_REGISTERED',
  'DUPLICATE_NAME',
  'OBJECTIVE_INVALID',
  'CONSTRAINT_INVALID',
  'METRIC_MISSING',
  'BUDGET_INVALID',
  'INPUT_INVALID',
])

export interface ErrorReport {
  readonly exitCode: number
  readonly text: string
  readonly json: Record<string, unknown>
}

/**
 * Turns any error into one message and an exit code: a NasError prints its message (and what is
 * allowed); anything else is an internal error, shown with its stack only when NASJS_DEBUG is set.
 */
export function reportError(e: unknown): ErrorReport {
  if (isNasError(e)) {
    return {
      exitCode: USAGE_CODES.has(e.code) ? EXIT.usage : EXIT.failure,
      text: `nas: error [${e.code}]: ${e.message}`,
      json: { ok: false, error: e.toJSON() },
    }
  }
  if (e instanceof CommanderError) {
    return { exitCode: e.exitCode === 0 ? 0 : EXIT.usage, text: '', json: { ok: e.exitCode === 0 } }
  }
  const err = e instanceof Error ? e : new Error(String(e))
  if (/^Aborted\(/.test(err.message)) {
    // an Emscripten abort of the wasm backend: almost always its heap (4 GB at most) full
    const message =
      'the TF.js wasm backend aborted, most often because its memory (4 GB at most) is full: use a smaller batch (--batch-size), network (--channels, --cells) or image size; a resumable command continues from its last checkpoint'
    return {
      exitCode: EXIT.failure,
      text: `nas: error [BACKEND]: ${message}`,
      json: { ok: false, error: { name: 'NasError', code: 'BACKEND', message } },
    }
  }
  const debug = process.env['NASJS_DEBUG']
    ? `\n${err.stack ?? ''}`
    : '\n(set NASJS_DEBUG=1 for the stack trace)'
  return {
    exitCode: EXIT.failure,
    text: `nas: internal error: ${err.message}${debug}`,
    json: { ok: false, error: { name: err.name, code: 'INTERNAL', message: err.message } },
  }
}

/**
 * The one error class of nasjs. Every failure a user can cause (bad input, missing data, an unknown
 * name) is a `NasError` with a machine-readable `code`, and where it applies the offending value,
 * the allowed values and the path of the bad field.
 *
 * @since 0.1.0
 * @category errors
 */
export type NasErrorCode =
  | 'CONFIG_INVALID'
  | 'ARCH_INVALID'
  | 'SPACE_MISMATCH'
  | 'NOT_REGISTERED'
  | 'DUPLICATE_NAME'
  | 'OBJECTIVE_INVALID'
  | 'CONSTRAINT_INVALID'
  | 'METRIC_MISSING'
  | 'BUDGET_INVALID'
  | 'INPUT_INVALID'
  | 'DATA_MISSING'
  | 'DATA_CORRUPT'
  | 'IO'
  | 'JOURNAL'
  | 'NOT_FITTED'
  | 'BACKEND'
  | 'ABORTED'
  | 'INTERNAL'

/** Every code, for `--help` texts and exhaustive tests. */
export const NAS_ERROR_CODES: readonly NasErrorCode[] = [
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
  'DATA_MISSING',
  'DATA_CORRUPT',
  'IO',
  'JOURNAL',
  'NOT_FITTED',
  'BACKEND',
  'ABORTED',
  'INTERNAL',
]

/** Options of {@link NasError}. */
export interface NasErrorOptions {
  readonly code: NasErrorCode
  readonly message: string
  /** The offending value, as the user gave it. */
  readonly value?: unknown
  /** The values that would have been accepted (names, ranges, ...). */
  readonly allowed?: readonly unknown[]
  /** Where the bad value sits, e.g. `['cells', 2, 'op']` or a file path. */
  readonly path?: readonly (string | number)[]
  readonly cause?: unknown
}

/**
 * @example
 * ```ts
 * throw new NasError({ code: 'NOT_REGISTERED', message: 'unknown strategy "reaa"', value: 'reaa', allowed: ['random', 'rea'] })
 * ```
 * @since 0.1.0
 * @category errors
 */
export class NasError extends Error {
  override readonly name = 'NasError'
  readonly code: NasErrorCode
  readonly value?: unknown
  readonly allowed?: readonly unknown[]
  readonly path?: readonly (string | number)[]

  constructor(opts: NasErrorOptions) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = opts.code
    if ('value' in opts) this.value = opts.value
    if (opts.allowed !== undefined) this.allowed = opts.allowed
    if (opts.path !== undefined) this.path = opts.path
  }

  /** A plain JSON form for `--json` output and journals. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.value !== undefined ? { value: this.value } : {}),
      ...(this.allowed !== undefined ? { allowed: this.allowed } : {}),
      ...(this.path !== undefined ? { path: this.path } : {}),
    }
  }
}

/** Type guard for {@link NasError}, also across realms/bundles (checks the name and code). */
export const isNasError = (e: unknown): e is NasError =>
  e instanceof NasError ||
  (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'NasError' && 'code' in e)

/** Formats a list of allowed values for a message: `'a', 'b' or 'c'` (at most `max` shown). */
export function formatAllowed(allowed: readonly unknown[], max = 30): string {
  const shown = allowed.slice(0, max).map((v) => (typeof v === 'string' ? `'${v}'` : String(v)))
  const more = allowed.length > max ? ` (and ${allowed.length - max} more)` : ''
  if (shown.length <= 1) return (shown[0] ?? '(none)') + more
  return `${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}${more}`
}

/** Throws a `NOT_REGISTERED`-style error for a name that is not one of `allowed`. */
export function unknownName(kind: string, name: string, allowed: readonly string[]): NasError {
  return new NasError({
    code: 'NOT_REGISTERED',
    message: `unknown ${kind} '${name}'; expected ${formatAllowed(allowed)}`,
    value: name,
    allowed,
  })
}

import { NasError, formatAllowed } from '@nasjs/core'
import type { z } from 'zod'
import type { SampleError } from './types.js'

/** Builds an `ARCH_INVALID` error. Internal. */
export function archError(
  message: string,
  value: unknown,
  allowed?: readonly unknown[],
  path?: readonly (string | number)[],
): NasError {
  return new NasError({
    code: 'ARCH_INVALID',
    message,
    value,
    ...(allowed ? { allowed } : {}),
    ...(path ? { path } : {}),
  })
}

/** Builds a `CONFIG_INVALID` error (a bad space definition). Internal. */
export function configError(message: string, value?: unknown): NasError {
  return new NasError({ code: 'CONFIG_INVALID', message, value })
}

/** Formats a path as `a.b[2].c`; the empty path is `(root)`. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)'
  let s = ''
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`
  return s
}

/** Renders a value for an error message, briefly. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'bigint') return `${value}n`
  if (value === undefined) return 'undefined'
  let s: string | undefined
  try {
    s = JSON.stringify(value)
  } catch {
    s = undefined
  }
  if (typeof s !== 'string') return Object.prototype.toString.call(value)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** Creates a {@link SampleError}. */
export function sampleError(
  path: readonly (string | number)[],
  message: string,
  value: unknown,
  allowed?: readonly unknown[],
): SampleError {
  return {
    path,
    message: `${formatPath(path)}: ${message}`,
    value,
    ...(allowed ? { allowed } : {}),
  }
}

/** A {@link SampleError} for a value that is not one of `allowed`. */
export function notAllowed(
  path: readonly (string | number)[],
  value: unknown,
  allowed: readonly unknown[],
): SampleError {
  return sampleError(path, `got ${show(value)}; expected ${formatAllowed(allowed)}`, value, allowed)
}

/** Turns a {@link SampleError} into the `ARCH_INVALID` NasError `validate` throws. */
export function toNasError(spaceId: string, e: SampleError): NasError {
  return archError(`not an architecture of space '${spaceId}': ${e.message}`, e.value, e.allowed, e.path)
}

/**
 * Converts the first zod issue to a {@link SampleError}. Used where a space validates with its zod
 * schema directly.
 */
export function zodIssueToSampleError(error: z.ZodError): SampleError {
  const issue = error.issues[0]
  if (issue === undefined) return sampleError([], 'invalid', undefined)
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
  const allowed = 'values' in issue && Array.isArray(issue.values) ? (issue.values as unknown[]) : undefined
  return sampleError(path, issue.message, 'input' in issue ? issue.input : undefined, allowed)
}

/**
 * The JSON envelope every space writes: `{ space, arch }`. The `space` tag lets `fromJSON` reject an
 * architecture of another space with `SPACE_MISMATCH`.
 */
export interface ArchEnvelope {
  readonly space: string
  readonly arch: unknown
}

/** Wraps an architecture's JSON form in the envelope. */
export function envelope(space: string, arch: unknown): ArchEnvelope {
  return { space, arch }
}

/** Opens an envelope written by `toJSON`, checking that it belongs to `space`. */
export function openEnvelope(space: string, json: unknown): unknown {
  if (
    typeof json !== 'object' ||
    json === null ||
    Array.isArray(json) ||
    !('space' in json) ||
    !('arch' in json)
  ) {
    throw archError(
      `a JSON architecture of space '${space}' is an object { space: '${space}', arch: ... }, got ${show(json)}`,
      json,
      undefined,
      [],
    )
  }
  const tag = (json as { space: unknown }).space
  if (tag !== space) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `the JSON architecture belongs to space ${show(tag)}, not '${space}'`,
      value: tag,
      allowed: [space],
      path: ['space'],
    })
  }
  return (json as { arch: unknown }).arch
}

/**
 * A 64-bit string hash (two independent 32-bit FNV-1a/murmur-mixed lanes), as 16 hex digits.
 * Stable across platforms; used to compress canonical forms into short keys.
 */
export function hash64(s: string): string {
  let h1 = 0x811c9dc5
  let h2 = 0x9747b28c
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x5bd1e995)
    h2 ^= h2 >>> 15
  }
  h1 ^= h1 >>> 16
  h1 = Math.imul(h1, 0x85ebca6b)
  h1 ^= h1 >>> 13
  h1 = Math.imul(h1, 0xc2b2ae35)
  h1 ^= h1 >>> 16
  h2 ^= h2 >>> 16
  h2 = Math.imul(h2, 0x7feb352d)
  h2 ^= h2 >>> 15
  h2 = Math.imul(h2, 0x846ca68b)
  h2 ^= h2 >>> 16
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0')
}

/** Throws the NasError for an unknown encoding kind. */
export function checkEncoding<K extends string>(spaceId: string, kind: string, supported: readonly K[]): K {
  if (!(supported as readonly string[]).includes(kind)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `space '${spaceId}' has no encoding '${kind}'; expected ${formatAllowed(supported)}`,
      value: kind,
      allowed: supported,
    })
  }
  return kind as K
}

/** Checks a decision list against sizes while building (shared by the decision trees). */
export function decisionError(spaceId: string, message: string, value: unknown, index: number): NasError {
  return new NasError({
    code: 'ARCH_INVALID',
    message: `space '${spaceId}': ${message}`,
    value,
    path: ['decisions', index],
  })
}

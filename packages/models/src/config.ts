import { NasError } from '@nasjs/core'
import type { z } from 'zod'

/**
 * `input` parsed by a strict zod object schema (absent input: every default), or one `CONFIG_INVALID`
 * NasError naming `what`, the first bad field, its value and the fields there are.
 * @since 0.1.0
 * @category config
 */
export function parseConfig<S extends z.ZodObject>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input ?? {})
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  const key = issue.path.join('.')
  const fields = Object.keys(schema.shape)
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `${what}${key === '' ? '' : ` '${key}'`}: ${issue.message}; the fields are ${fields.join(', ')}`,
    value: key === '' ? input : (input as Record<string, unknown>)[issue.path[0] as string],
    allowed: fields,
  })
}

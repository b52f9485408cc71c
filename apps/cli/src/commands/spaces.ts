import { Command } from '@commander-js/extra-typings'
import { Rng } from '@nasjs/core'
import { builtinSpaces, getSpace } from '@nasjs/search-space'
import { table, type Io } from '../context.js'
import { TABLE_SPACES } from '../targets.js'

/** `nas spaces` and `nas spaces show <id>`. */
export function spacesCommand(io: Io) {
  const cmd = new Command('spaces')
    .description('list the built-in search spaces, or show one')
    .option('--json', 'machine-readable output')
    .action((opts) => {
      const rows = builtinSpaces.map((s) => ({
        id: s.id,
        size: s.size().toString(),
        benchmark: TABLE_SPACES.includes(s.id),
        encodings: [...s.encodings],
      }))
      if (opts.json) return io.out(JSON.stringify({ ok: true, spaces: rows }))
      io.out(
        table(
          rows.map((r) => [r.id, sci(r.size), r.benchmark ? 'yes' : 'no', r.encodings.join(',')]),
          ['id', 'size', 'benchmark', 'encodings'],
        ),
      )
      io.out('\nnas spaces show <id> for dimensions and an example architecture')
    })
  cmd
    .command('show')
    .description('dimensions, size and an example architecture of a space')
    .argument('<id>', `space id (${builtinSpaces.map((s) => s.id).join(', ')})`)
    .option('--seed <n>', 'seed of the example architecture', '0')
    .option('--json', 'machine-readable output')
    .action((id, opts) => {
      const space = getSpace(id)
      const example = space.sample(new Rng(Number(opts.seed) || 0))
      const info = {
        id: space.id,
        size: space.size().toString(),
        encodings: Object.fromEntries(space.encodings.map((k) => [k, space.encodingLength(k)])),
        decisions: space.decisions.decide(example).length,
        description: space.describe(),
        example: { text: space.format(example), json: space.toJSON(example), hash: space.hash(example) },
      }
      if (opts.json) return io.out(JSON.stringify({ ok: true, space: info }))
      io.out(info.description)
      io.out(`\nsize: ${info.size} (${sci(info.size)})`)
      io.out(
        `encodings: ${Object.entries(info.encodings)
          .map(([k, n]) => `${k} (${n})`)
          .join(', ')}`,
      )
      io.out(`\nexample (seed ${opts.seed}):\n  ${info.example.text}\n  hash ${info.example.hash}`)
    })
  return cmd
}

/** 15625 -> "15,625"; huge sizes in scientific form. */
function sci(n: string): string {
  if (n.length <= 9) return Number(n).toLocaleString('en-US')
  return `${n[0]}.${n.slice(1, 3)}e${n.length - 1}`
}

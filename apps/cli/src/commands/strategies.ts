import { Command } from '@commander-js/extra-typings'
import { table, type Io } from '../context.js'
import { cliStrategyRegistry } from '../strategies.js'

/** `nas strategies`: every strategy with its config fields and defaults. */
export function strategiesCommand(io: Io) {
  return new Command('strategies')
    .description('list the strategies with their config fields and defaults (for nas search --config)')
    .argument('[name]', 'show one strategy and the JSON Schema of its config')
    .option('--json', 'machine-readable output')
    .action((name, opts) => {
      const registry = cliStrategyRegistry()
      const all = registry.describe()
      if (name !== undefined) {
        registry.get(name) // NOT_REGISTERED lists the names
        const d = all.find((s) => s.name === name)!
        const schema = registry.configJsonSchema(name)
        if (opts.json) return io.out(JSON.stringify({ ok: true, strategy: d, configSchema: schema }))
        io.out(`${d.name}: ${d.description}`)
        if (d.references.length) io.out(`references: ${d.references.join('; ')}`)
        io.out(
          `objectives: ${d.multiObjective ? 'one or more' : 'one'}${d.requiresFidelity ? ' · needs an evaluator with fidelities' : ''}`,
        )
        io.out('')
        io.out(
          table(
            d.fields.map((f) => [f.name, f.type, JSON.stringify(f.default) ?? '', f.description ?? '']),
            ['field', 'type', 'default', 'description'],
          ),
        )
        io.out(`\nconfig JSON Schema:\n${JSON.stringify(schema, null, 2)}`)
        return
      }
      if (opts.json) return io.out(JSON.stringify({ ok: true, strategies: all }))
      for (const d of all) {
        const tags = [
          d.multiObjective ? 'multi-objective' : '',
          d.requiresFidelity ? 'multi-fidelity' : '',
        ].filter(Boolean)
        io.out(`${d.name}${tags.length ? ` (${tags.join(', ')})` : ''}: ${d.description}`)
        for (const f of d.fields) {
          const type = f.type.length > 40 ? `${f.type.slice(0, 37)}...` : f.type
          io.out(`    ${f.name.padEnd(22)} ${type.padEnd(18)} default ${JSON.stringify(f.default) ?? '-'}`)
        }
      }
      io.out('\nnas strategies <name> for one strategy and its config JSON Schema')
    })
}

/** Replaces (or appends) the `## title` section of a markdown document. */
export function replaceSection(doc: string, title: string, body: string): string {
  const head = `## ${title}`
  const start = doc.indexOf(head)
  const section = `${head}\n\n${body.trim()}\n`
  if (start < 0) return `${doc.trimEnd()}\n\n${section}`
  const next = doc.indexOf('\n## ', start + head.length)
  return doc.slice(0, start) + section + (next < 0 ? '' : doc.slice(next))
}

// Scores result files of the http-cache-tests suite by kind.
//
//   node score.mjs SUITE_DIR NAME=RESULTS.json [NAME=RESULTS.json ...]
//
// Kinds come from the test definitions (`kind`: required when absent, optimal, check). The
// tests are those of the suite's index (tests/index.mjs); the command-line client also runs the
// Surrogate-Control tests, which belong to no RFC and are not scored. A test counts as passed
// when its result is `true`: this is how the published figures are counted (the result files
// shipped in 0.4.5 score Squid 134 required / 49 optimal, nginx 96 / 57), so ours are
// comparable. The suite's pages also grey out a test whose dependency (`depends_on`) failed;
// the row "required*" counts that way, for information.
//
// A result file that is missing or unreadable shows as "skipped". With FAILED=1 in the
// environment the required and optimal tests each one did not pass are listed, with the
// suite's reason.
import path from 'node:path'
import fs from 'node:fs'
import { pathToFileURL } from 'node:url'

const [suiteDir, ...pairs] = process.argv.slice(2)
if (!suiteDir || pairs.length === 0) {
  console.error('usage: node score.mjs SUITE_DIR NAME=RESULTS.json ...')
  process.exit(2)
}
const suites = (await import(pathToFileURL(path.join(suiteDir, 'tests/index.mjs')).href)).default
const tests = suites.flatMap(s => s.tests).filter(t => t.browser_only !== true)
const byId = new Map(tests.map(t => [t.id, t]))
const kindOf = t => t.kind || 'required'

const passed = (id, results) => results[id] === true
// With dependencies honoured, as lib/display.mjs `determineTestResult` does.
const passedStrict = (id, results) =>
  results[id] === true && (byId.get(id).depends_on || []).every(d => passedStrict(d, results))

const columns = pairs.map(p => {
  const eq = p.indexOf('=')
  let results = null
  try { results = JSON.parse(fs.readFileSync(p.slice(eq + 1), 'utf8')) } catch { results = null }
  return { name: p.slice(0, eq), results }
})

const width = Math.max(12, ...columns.map(c => c.name.length + 2))
const pad = (s, n) => String(s).padEnd(n)
const row = (label, kind, ok) => {
  const ofKind = tests.filter(t => kindOf(t) === kind)
  const cells = columns.map(c => c.results === null
    ? pad('skipped', width)
    : pad(`${ofKind.filter(t => ok(t.id, c.results)).length}/${ofKind.length}`, width))
  console.log(pad(label, 11) + cells.join(''))
}
console.log(pad('kind', 11) + columns.map(c => pad(c.name, width)).join(''))
row('required', 'required', passed)
row('optimal', 'optimal', passed)
row('check', 'check', passed)
row('required*', 'required', passedStrict)

if (process.env.FAILED === '1') {
  for (const c of columns) {
    if (c.results === null) continue
    for (const kind of ['required', 'optimal']) {
      const failed = tests.filter(t => kindOf(t) === kind && !passed(t.id, c.results))
      console.log(`\n${c.name}: ${kind} not passed (${failed.length})`)
      for (const t of failed) {
        const r = c.results[t.id]
        const why = r === undefined ? 'not run' : Array.isArray(r) ? r.join(': ') : String(r)
        console.log(`  ${t.id}  ${why.replace(/\s+/g, ' ').slice(0, 160)}`)
      }
    }
  }
}

// The documentation's links: in README.md, CONTRIBUTING.md and every docs/*.md, each relative
// Markdown link (`[text](path)`, `[text](path#anchor)`, `[text](#anchor)`, images, reference
// definitions) names a file or folder that exists, and an `#anchor` into a Markdown file names
// one of its headings, slugged as GitHub does. No build and no server: plain files.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function docFiles() {
  const docs = fs.readdirSync(path.join(root, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`);
  return ['README.md', 'CONTRIBUTING.md', ...docs.sort()];
}

// Lines outside fenced code blocks, with their line numbers.
function prose(text) {
  const out = [];
  let fence = null;
  text.split('\n').forEach((line, i) => {
    const m = line.match(/^\s{0,3}(`{3,}|~{3,})/);
    if (m) {
      if (!fence) fence = m[1];
      else if (m[1][0] === fence[0] && m[1].length >= fence.length) fence = null;
      return;
    }
    if (!fence) out.push({ line, n: i + 1 });
  });
  return out;
}

// Code spans hold no links: `[a](b)` in backticks is text. Keep a placeholder so that
// [`code`](target) still reads as a link.
const withoutCode = line => line.replace(/(`+)(?:(?!\1).)+?\1/g, 'code');

// GitHub's heading anchors: the heading's text, lower-case, everything but letters, digits,
// spaces, '-' and '_' dropped, spaces turned into '-'; a repeated slug gets -1, -2, ...
function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

function anchors(text) {
  const seen = new Map();
  const out = new Set();
  for (const { line } of prose(text)) {
    const h = line.match(/^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/);
    if (h) {
      const base = slug(h[1]);
      const count = seen.get(base) || 0;
      seen.set(base, count + 1);
      out.add(count ? `${base}-${count}` : base);
    }
    for (const a of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(a[1]);
  }
  return out;
}

function links(text) {
  const out = [];
  for (const { line, n } of prose(text)) {
    const plain = withoutCode(line);
    for (const m of plain.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1], n });
    const def = plain.match(/^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/);
    if (def) out.push({ target: def[1], n });
  }
  return out;
}

const external = target => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

// What is wrong with each relative link of `file` (a path under root), as messages.
function broken(file, text = fs.readFileSync(path.join(root, file), 'utf8')) {
  const problems = [];
  for (const { target, n } of links(text)) {
    if (external(target)) continue;
    const hash = target.indexOf('#');
    const rel = decodeURI(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const where = `${file}:${n}: (${target})`;
    let resolved = path.join(root, file);
    if (rel) {
      resolved = rel.startsWith('/') ? path.join(root, rel) : path.join(path.dirname(path.join(root, file)), rel);
      if (!fs.existsSync(resolved)) {
        problems.push(`${where}: no file ${path.relative(root, resolved)}`);
        continue;
      }
    }
    if (anchor === null) continue;
    if (!resolved.endsWith('.md')) continue; // anchors into other files (e.g. #L10) are GitHub's
    const target_text = rel ? fs.readFileSync(resolved, 'utf8') : text;
    if (!anchors(target_text).has(anchor)) {
      problems.push(`${where}: no heading #${anchor} in ${path.relative(root, resolved)}`);
    }
  }
  return problems;
}

test('the slugs are GitHub\'s', () => {
  assert.equal(slug('Two commands'), 'two-commands');
  assert.equal(slug('`$lookup`\'s `from`'), 'lookups-from');
  assert.equal(slug('Tables written before 2026-12'), 'tables-written-before-2026-12');
  assert.equal(slug('6. Memory of one request: bounded by the answer, not the class'), '6-memory-of-one-request-bounded-by-the-answer-not-the-class');
  assert.equal(slug('`check` reports and repairs damage'), 'check-reports-and-repairs-damage');
  assert.equal(slug('snake_case stays'), 'snake_case-stays');
  assert.deepEqual([...anchors('# A\n## A\n```\n# not a heading\n```\n### A\n')], ['a', 'a-1', 'a-2']);
});

test('the checker finds a broken link', () => {
  const text = [
    '# Here',
    '[ok](#here) [ok](docs/options.md#automatic-indexes) [`ok`](README.md) ![ok](docs/charts)',
    '[web](https://example.com/x#y) [mail](mailto:a@b.c)',
    '`[not a link](nowhere.md)`',
    '```',
    '[not a link](nowhere.md)',
    '```',
    '[no file](docs/nowhere.md) [no heading](docs/options.md#nowhere) [no heading here](#there)',
    '[def]: docs/gone.md',
  ].join('\n');
  const problems = broken('README.md', text);
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems[0], /no file docs\/nowhere\.md/);
  assert.match(problems[1], /no heading #nowhere in docs\/options\.md/);
  assert.match(problems[2], /no heading #there in README\.md/);
  assert.match(problems[3], /no file docs\/gone\.md/);
});

for (const file of docFiles()) {
  test(`every relative link in ${file} resolves`, () => {
    const problems = broken(file);
    assert.deepEqual(problems, [], `broken links:\n${problems.join('\n')}`);
  });
}

test('README.md links to every guide in docs/', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const linked = new Set(links(readme).map(l => l.target.split('#')[0]));
  for (const file of docFiles().filter(f => f.startsWith('docs/'))) assert.ok(linked.has(file), `README links to ${file}`);
  assert.ok(linked.has('CONTRIBUTING.md'), 'README links to CONTRIBUTING.md');
});

// The README shows the IAM policy (__test__/examples.test.js checks its actions against the
// code); docs/aws.md shows it with what each part is for. Both show the same one.
test('README.md and docs/aws.md show the same IAM policy', () => {
  const policy = file => {
    const m = fs.readFileSync(path.join(root, file), 'utf8').match(/```json\n(\{\n {2}"Version"[\s\S]*?)```/);
    assert.ok(m, `${file} shows a policy`);
    return JSON.parse(m[1]);
  };
  assert.deepEqual(policy('docs/aws.md'), policy('README.md'));
});

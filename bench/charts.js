#!/usr/bin/env node
// Draws the bench's numbers as SVG charts beside docs/performance.md: read units per query vs
// class size (table 5a, one line per query shape, log scales) and throughput ratios (table 2:
// this adapter / the old JS adapter; table 3: this adapter / PostgreSQL) as bars. Reads the
// markdown tables the bench prints (a saved run's output, or docs/performance.md by default).
//   node bench/charts.js [tables.md] [outDir]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const source = process.argv[2] || path.join(root, 'docs', 'performance.md');
const outDir = process.argv[3] || path.join(root, 'docs', 'charts');

/** The markdown tables of `text`, each {heading, header: [...], rows: [[...]]}. */
function tables(text) {
  const out = [];
  let heading = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^#+ /.test(lines[i])) heading = lines[i].replace(/^#+ /, '');
    if (lines[i].startsWith('|') && lines[i + 1] && /^\|[-| ]+\|$/.test(lines[i + 1])) {
      const cells = l => l.slice(1, -1).split('|').map(c => c.trim().replace(/\*\*/g, ''));
      const t = { heading, header: cells(lines[i]), rows: [] };
      i += 2;
      while (i < lines.length && lines[i].startsWith('|')) t.rows.push(cells(lines[i++]));
      out.push(t);
    }
  }
  return out;
}

const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/`/g, '');
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#ad494a'];

/** Lines of read units against class size, both on log scales. */
function costChart(t) {
  const sizes = t.header.slice(1, 4).map(h => Number(h.match(/^(\d+)/)[1]));
  const series = t.rows.map(r => ({ name: r[0], units: r.slice(1, 4).map(c => Number(c.split(' ')[0])) }));
  const W = 860, H = 450, L = 70, R = 290, T = 50, B = 50;
  const lx = v => L + ((Math.log10(v) - 3) / 2) * (W - L - R);
  const maxU = Math.max(...series.flatMap(s => s.units));
  const top = Math.ceil(Math.log10(maxU));
  const ly = v => T + (1 - Math.log10(Math.max(v, 1)) / top) * (H - T - B);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="20" font-size="14" font-weight="bold">Read units per query vs class size (no index declared; automatic indexes)</text>`,
    `<text x="${L}" y="34" fill="#555">Rising lines return a fixed share of the class (1 in 50: 20, 200, 2,000 rows): about one unit per row at every size</text>`];
  for (let e = 0; e <= top; e++) {
    const y = ly(10 ** e);
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#ddd"/>`, `<text x="${L - 8}" y="${y + 4}" text-anchor="end">${(10 ** e).toLocaleString('en')}</text>`);
  }
  for (const s of sizes) parts.push(`<line x1="${lx(s)}" x2="${lx(s)}" y1="${T}" y2="${H - B}" stroke="#ddd"/>`, `<text x="${lx(s)}" y="${H - B + 18}" text-anchor="middle">${s.toLocaleString('en')} objects</text>`);
  parts.push(`<text transform="translate(18 ${(H - B + T) / 2}) rotate(-90)" text-anchor="middle">read units (log)</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.units.map((u, k) => `${lx(sizes[k]).toFixed(1)},${ly(u).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
    s.units.forEach((u, k) => parts.push(`<circle cx="${lx(sizes[k]).toFixed(1)}" cy="${ly(u).toFixed(1)}" r="3" fill="${c}"/>`));
    parts.push(`<rect x="${W - R + 15}" y="${T + i * 20 - 9}" width="12" height="12" fill="${c}"/>`, `<text x="${W - R + 32}" y="${T + i * 20 + 1}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Horizontal bars of ratios, with the 1.0 line (as fast as the other). */
function ratioChart(title, bars) {
  const W = 760, rowH = 26, L = 330, R = 60, T = 44, H = T + bars.length * rowH + 40;
  const max = Math.max(1.5, ...bars.map(b => b.value));
  const x = v => L + (v / max) * (W - L - R);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="10" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = T + i * rowH;
    parts.push(`<text x="${L - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${L}" y="${y + 3}" width="${(x(b.value) - L).toFixed(1)}" height="${rowH - 8}" fill="${b.color}"/>`,
      `<text x="${(x(b.value) + 5).toFixed(1)}" y="${y + 15}">${b.value.toFixed(2)}×</text>`);
  });
  parts.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${T - 4}" y2="${H - 30}" stroke="#333" stroke-dasharray="4 3"/>`,
    `<text x="${x(1)}" y="${H - 14}" text-anchor="middle">1× (as fast)</text>`, '</svg>');
  return parts.join('\n');
}

function main() {
  const all = tables(fs.readFileSync(source, 'utf8'));
  fs.mkdirSync(outDir, { recursive: true });
  const written = [];
  // Found by their columns, in a run's output as in docs/performance.md (first of each).
  const cost = all.find(t => t.header[0] === 'query' && /objects: units/.test(t.header[1] || ''));
  if (cost) {
    fs.writeFileSync(path.join(outDir, 'query-cost.svg'), costChart(cost));
    written.push('query-cost.svg');
  }
  const legacy = all.find(t => t.header.includes('ours/old A'));
  const rest = all.find(t => t.header.includes('ours / Postgres'));
  if (legacy && rest) {
    const col = (t, name) => t.header.indexOf(name);
    const bars = [
      ...legacy.rows.map(r => ({ label: `vs old adapter: ${r[0]}`, value: Number(r[col(legacy, 'ours/old A')]), color: '#2ca02c' })),
      ...rest.rows.map(r => ({ label: `vs PostgreSQL: ${r[0].replace(/ \(.*\)$/, '')}`, value: Number(r[col(rest, 'ours / Postgres')]), color: '#1f77b4' })),
    ];
    fs.writeFileSync(path.join(outDir, 'throughput.svg'), ratioChart('Throughput of this adapter relative to the old JS adapter and to PostgreSQL', bars));
    written.push('throughput.svg');
  }
  console.log(`charts: ${written.map(w => path.join(path.relative(root, outDir), w)).join(', ') || 'no tables found'}`);
}

main();

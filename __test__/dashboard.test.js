// Parse Dashboard on `npm start` (scripts/start.js), driven in a real headless Chromium (the
// one npm package @sparticuz/chromium brings, through puppeteer-core): the class list, browsing
// a class, sorting by a column, a filter, editing a cell, adding a column and deleting a row,
// each effect checked through the REST API. Screenshots of each step go to a temporary folder
// (its path is printed).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const chromium = require('@sparticuz/chromium').default || require('@sparticuz/chromium');
const puppeteer = require('puppeteer-core');
const { startDemo } = require('./helpers');

const sleep = ms => new Promise(r => setTimeout(r, ms));

test('Parse Dashboard on npm start: browse, sort, filter, edit, add a column, delete a row', { timeout: 240000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psd-dashboard-'));
  const demo = await startDemo(dir);
  const port = demo.port;
  let browser;
  try {
    assert.match(demo.output(), /dashboard: http:\/\/localhost:\d+\/dashboard/, demo.output());
    const base = `http://localhost:${port}`;
    const headers = { 'X-Parse-Application-Id': 'demo-app', 'X-Parse-Master-Key': 'demo-master-key', 'Content-Type': 'application/json' };
    const rest = async (method, p, body) => {
      const r = await fetch(`${base}/parse${p}`, { method, headers, body: body && JSON.stringify(body) });
      return r.json();
    };
    for (const [player, score] of [['ann', 1337], ['bob', 42], ['cy', 500]]) await rest('POST', '/classes/GameScore', { player, score });
    const stored = async (query = '') => (await rest('GET', `/classes/GameScore${query}`)).results;

    browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    let step = 0;
    const shot = async name => page.screenshot({ path: path.join(dir, `${String(++step).padStart(2, '0')}-${name}.png`) });
    const byText = async (text, selector = '*') =>
      (
        await page.waitForFunction(
          (t, sel) => [...document.querySelectorAll(sel)].reverse().find(e => e.textContent.trim() === t && e.offsetParent !== null),
          { timeout: 15000 },
          text,
          selector
        )
      ).asElement();
    // The rows of the data browser, as the cells' texts (objectId first).
    const rows = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('input[type=checkbox]')]
          .filter(cb => cb.closest('span'))
          .map(cb => [...cb.closest('span').parentElement.children].slice(1).map(c => c.textContent.trim()))
          .filter(cells => /^[A-Za-z0-9]{10}$/.test(cells[0] || ''))
      );
    const ids = list => list.map(r => r.objectId);
    const shown = async n => {
      for (let i = 0; i < 50 && (await rows()).length !== n; i++) await sleep(200);
      return (await rows()).map(r => r[0]);
    };

    // 1. The class list: GameScore with its count.
    await page.goto(`${base}/dashboard/apps/Demo%20on%20DynamoDB/browser`, { waitUntil: 'networkidle0' });
    const link = await byText('GameScore', 'a');
    const count = await link.evaluate(a => a.parentElement.textContent);
    assert.match(count, /GameScore\s*3/, `the sidebar counts the class's objects: ${count}`);
    await shot('class-list');

    // 2. Browse the class: the objects REST answers.
    await link.click();
    assert.deepEqual((await shown(3)).sort(), ids(await stored()).sort());
    await shot('browse');

    // 3. Sort by a column: the order REST gives for that sort, both ways.
    await (await byText('score')).click();
    await sleep(500);
    const first = await shown(3);
    const desc = ids(await stored('?order=-score'));
    const asc = ids(await stored('?order=score'));
    assert.ok([JSON.stringify(desc), JSON.stringify(asc)].includes(JSON.stringify(first)), `sorted: ${first}`);
    await (await byText('score')).click();
    await sleep(1000);
    const second = await shown(3);
    assert.deepEqual(second, JSON.stringify(first) === JSON.stringify(desc) ? asc : desc, 'the other direction');
    await shot('sorted');

    // 4. A filter (player equals ann): the rows REST answers for that query.
    const filters = encodeURIComponent(JSON.stringify([{ field: 'player', constraint: 'eq', compareTo: 'ann' }]));
    await page.goto(`${base}/dashboard/apps/Demo%20on%20DynamoDB/browser/GameScore?filters=${filters}`, { waitUntil: 'networkidle0' });
    const where = encodeURIComponent(JSON.stringify({ player: 'ann' }));
    assert.deepEqual(await shown(1), ids(await stored(`?where=${where}`)));
    await shot('filtered');

    // 5. Edit a cell: bob becomes carol.
    await page.goto(`${base}/dashboard/apps/Demo%20on%20DynamoDB/browser/GameScore`, { waitUntil: 'networkidle0' });
    await shown(3);
    await (await byText('bob', 'span')).click({ count: 2 });
    await sleep(500);
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.type('carol');
    await page.keyboard.press('Enter');
    for (let i = 0; i < 50 && !(await stored()).some(o => o.player === 'carol'); i++) await sleep(200);
    assert.deepEqual((await stored()).map(o => o.player).sort(), ['ann', 'carol', 'cy']);
    await shot('edited');

    // 6. Add a column: the schema has it.
    await (await byText('Add a new column')).click();
    await page.waitForSelector('input[placeholder="Give it a good name..."]');
    await page.type('input[placeholder="Give it a good name..."]', 'level');
    await shot('add-column');
    await (await byText('Add', 'button')).click();
    let fields = {};
    for (let i = 0; i < 50 && !fields.level; i++) {
      await sleep(200);
      fields = (await rest('GET', '/schemas/GameScore')).fields || {};
    }
    assert.equal(fields.level.type, 'String');
    await shot('column-added');

    // 7. Delete a row: REST no longer has it.
    const cy = (await stored()).find(o => o.player === 'cy');
    const cell = await byText('cy', 'span');
    await (await cell.evaluateHandle(e => e.parentElement.querySelector('input[type=checkbox]'))).asElement().click();
    await (await byText('Edit')).click();
    await (await byText('Delete this row')).click();
    await sleep(500);
    await shot('delete-confirm');
    await (await byText('Delete', 'button')).click();
    for (let i = 0; i < 50 && (await stored()).some(o => o.objectId === cy.objectId); i++) await sleep(200);
    assert.deepEqual((await stored()).map(o => o.player).sort(), ['ann', 'carol']);
    await shot('deleted');
    console.log(`dashboard screenshots: ${dir}`);
  } finally {
    if (browser) await browser.close();
    await demo.stop();
  }
});

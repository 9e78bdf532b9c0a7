// ACL leak search: several users and roles, objects with random ACLs, and random
// $or/$and/$nor/$in/$nin/$ne queries through a real Parse Server, each result compared with an
// in-memory oracle of what that user may read. ACL_LEAK_QUERIES sets the number of queries
// (300 here; tests/stress/acl-leaks.sh runs 10,000).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

const QUERIES = Number(process.env.ACL_LEAK_QUERIES || 300);
let s;
let seed = 12345;
const rand = n => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
const pick = a => a[rand(a.length)];

before(async () => {
  s = await startStack();
});
after(async () => {
  await s.stop();
});

test(`no ACL leak in ${QUERIES} random queries`, async () => {
  const { Parse } = s;
  const users = [];
  for (let i = 0; i < 4; i++) users.push(await s.signUp(`leak${i}`));
  const roles = { A: [users[0]], B: [users[1], users[2]] };
  for (const [name, members] of Object.entries(roles)) {
    const role = new Parse.Role(name, new Parse.ACL());
    members.forEach(m => role.getUsers().add(m.user));
    await role.save(null, { useMasterKey: true });
  }
  const principals = ['*', ...users.map(u => u.id), 'role:A', 'role:B'];
  const objects = [];
  for (let i = 0; i < 60; i++) {
    const readers = principals.filter(() => rand(4) === 0);
    const acl = {};
    readers.forEach(p => (acl[p] = { read: true }));
    const fields = { k: rand(5), t: pick(['x', 'y', 'z']), arr: [rand(3), rand(3)] };
    objects.push({ fields, readers });
  }
  const saved = await Parse.Object.saveAll(
    objects.map(o => {
      const obj = new Parse.Object('Secret');
      obj.set(o.fields);
      const acl = new Parse.ACL();
      o.readers.forEach(p => (p.startsWith('role:') ? acl.setRoleReadAccess(p.slice(5), true) : p === '*' ? acl.setPublicReadAccess(true) : acl.setReadAccess(p, true)));
      obj.setACL(acl);
      return obj;
    }),
    { useMasterKey: true }
  );
  saved.forEach((o, i) => (objects[i].id = o.id));

  const leaf = () => {
    const f = pick(['k', 't', 'arr']);
    const v = f === 't' ? pick(['x', 'y', 'z', 'w']) : rand(5);
    switch (rand(5)) {
      case 0: return { [f]: v };
      case 1: return { [f]: { $ne: v } };
      case 2: return { [f]: { $in: [v, f === 't' ? 'y' : 1] } };
      case 3: return { [f]: { $nin: [v] } };
      default: return f === 't' ? { [f]: { $gt: v } } : { [f]: { $lte: v } };
    }
  };
  const query = depth => {
    if (depth > 1 || rand(2) === 0) return leaf();
    const op = pick(['$or', '$and', '$nor']);
    return { [op]: [query(depth + 1), query(depth + 1)] };
  };
  // The oracle: Mongo semantics for these operators (arrays match any element).
  const holds = (v, c) => {
    const vals = Array.isArray(v) ? v : [v];
    if (c !== null && typeof c === 'object') {
      if ('$ne' in c) return !vals.includes(c.$ne);
      if ('$in' in c) return vals.some(x => c.$in.includes(x));
      if ('$nin' in c) return !vals.some(x => c.$nin.includes(x));
      if ('$gt' in c) return vals.some(x => typeof x === typeof c.$gt && x > c.$gt);
      if ('$lte' in c) return vals.some(x => typeof x === typeof c.$lte && x <= c.$lte);
    }
    return vals.includes(c);
  };
  const matches = (o, q) =>
    Object.entries(q).every(([k, c]) => {
      if (k === '$or') return c.some(x => matches(o, x));
      if (k === '$and') return c.every(x => matches(o, x));
      if (k === '$nor') return !c.some(x => matches(o, x));
      return holds(o.fields[k], c);
    });
  const viewers = [null, ...users];
  const rolesOf = u => (u ? Object.entries(roles).filter(([, m]) => m.includes(u)).map(([n]) => `role:${n}`) : []);

  let leaks = 0;
  let misses = 0;
  for (let i = 0; i < QUERIES; i++) {
    const viewer = pick(viewers);
    const where = query(0);
    const allowed = new Set(['*', ...(viewer ? [viewer.id] : []), ...rolesOf(viewer)]);
    const expected = objects.filter(o => o.readers.some(r => allowed.has(r)) && matches(o, where)).map(o => o.id).sort();
    const headers = viewer ? { 'X-Parse-Session-Token': viewer.token } : {};
    const res = await s.rest('GET', `/classes/Secret?limit=1000&where=${encodeURIComponent(JSON.stringify(where))}`, undefined, headers);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const got = res.body.results.map(r => r.objectId).sort();
    leaks += got.filter(id => !expected.includes(id)).length;
    misses += expected.filter(id => !got.includes(id)).length;
    if (got.join() !== expected.join()) {
      assert.fail(`query ${JSON.stringify(where)} as ${viewer ? viewer.id : 'anonymous'}: got ${got}, expected ${expected}`);
    }
  }
  console.log(`acl-leaks: ${QUERIES} queries, ${leaks} leaked rows, ${misses} missing rows`);
  assert.equal(leaks, 0);
  assert.equal(misses, 0);
});

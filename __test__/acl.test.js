// Roles, ACLs (also inside $or) and relations larger than DynamoDB's batch sizes.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

let s;
let Parse;
before(async () => {
  s = await startStack();
  Parse = s.Parse;
});
after(async () => {
  await s.stop();
});

test('ACLs hide objects, also behind $or', async () => {
  const { user: alice, token: aliceToken } = await s.signUp('acl-alice');
  const { token: bobToken } = await s.signUp('acl-bob');

  const secret = new Parse.Object('Note');
  const acl = new Parse.ACL(alice);
  secret.setACL(acl);
  await secret.save({ kind: 'a', title: 'secret' }, { sessionToken: aliceToken });
  const open = new Parse.Object('Note');
  await open.save({ kind: 'b', title: 'open' }, { useMasterKey: true });

  const asBob = q => q.find({ sessionToken: bobToken });
  const or = () => Parse.Query.or(new Parse.Query('Note').equalTo('kind', 'a'), new Parse.Query('Note').equalTo('kind', 'b'));
  assert.deepEqual((await asBob(or())).map(o => o.get('title')), ['open']);
  const mine = await or().find({ sessionToken: aliceToken });
  assert.deepEqual(mine.map(o => o.get('title')).sort(), ['open', 'secret']);
  await assert.rejects(new Parse.Query('Note').get(secret.id, { sessionToken: bobToken }), err => err.code === Parse.Error.OBJECT_NOT_FOUND);
  // Bob cannot write it either.
  const hijack = Parse.Object.createWithoutData('Note', secret.id);
  await assert.rejects(hijack.save({ title: 'mine' }, { sessionToken: bobToken }), err => err.code === Parse.Error.OBJECT_NOT_FOUND);
});

test('roles grant access', async () => {
  const { user: carol, token: carolToken } = await s.signUp('acl-carol');
  const roleACL = new Parse.ACL();
  roleACL.setPublicReadAccess(true);
  const role = new Parse.Role('Editors', roleACL);
  role.getUsers().add(carol);
  await role.save(null, { useMasterKey: true });

  const doc = new Parse.Object('Doc');
  const acl = new Parse.ACL();
  acl.setRoleReadAccess('Editors', true);
  doc.setACL(acl);
  await doc.save({ t: 'for editors' }, { useMasterKey: true });

  const seen = await new Parse.Query('Doc').find({ sessionToken: carolToken });
  assert.deepEqual(seen.map(d => d.get('t')), ['for editors']);
  const anon = await new Parse.Query('Doc').find();
  assert.equal(anon.length, 0);
  await assert.rejects(new Parse.Role('Editors', roleACL).save(null, { useMasterKey: true }), err => err.code === Parse.Error.DUPLICATE_VALUE);
});

test('relations with more than 100 members', async () => {
  const members = [];
  for (let i = 0; i < 130; i++) members.push(new Parse.Object('Member').set('i', i));
  await Parse.Object.saveAll(members, { batchSize: 50 });
  const group = new Parse.Object('Group');
  const rel = group.relation('members');
  rel.add(members);
  await group.save();
  const q = rel.query();
  q.limit(1000);
  const found = await q.find();
  assert.equal(found.length, 130);
  assert.equal(await rel.query().count(), 130);
  // $relatedTo / $inQuery through the relation
  const groups = await new Parse.Query('Group').equalTo('members', members[120]).find();
  assert.deepEqual(groups.map(g => g.id), [group.id]);
  rel.remove(members.slice(0, 30));
  await group.save();
  assert.equal(await rel.query().count(), 100);
});

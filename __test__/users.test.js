// Users, sessions and uniqueness through a real Parse Server and the Parse JS SDK.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('./helpers');

let s;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s.stop();
});

test('sign up, log in, me, log out', async () => {
  const { Parse } = s;
  const user = new Parse.User();
  user.set({ username: 'alice', password: 'pw-1', email: 'alice@example.com' });
  await user.signUp();
  assert.ok(user.getSessionToken());
  await Parse.User.logOut();

  const logged = await Parse.User.logIn('alice', 'pw-1');
  assert.equal(logged.get('email'), 'alice@example.com');
  const me = await s.rest('GET', '/users/me', undefined, { 'X-Parse-Session-Token': logged.getSessionToken() });
  assert.equal(me.status, 200);
  assert.equal(me.body.username, 'alice');

  await assert.rejects(Parse.User.logIn('alice', 'wrong'), err => err.code === Parse.Error.OBJECT_NOT_FOUND);

  const token = logged.getSessionToken();
  await Parse.User.logOut();
  const after = await s.rest('GET', '/users/me', undefined, { 'X-Parse-Session-Token': token });
  assert.equal(after.body.code, Parse.Error.INVALID_SESSION_TOKEN);
});

test('sessions are stored and listed per user and installation', async () => {
  const { Parse } = s;
  await Parse.User.signUp('bob', 'pw', {});
  const u = await Parse.User.logIn('bob', 'pw'); // same installation: replaces the sign-up session
  const current = await Parse.Session.current();
  assert.equal(current.getSessionToken(), u.getSessionToken());
  for (const inst of ['inst-1', 'inst-2']) {
    const r = await s.rest('POST', '/login', { username: 'bob', password: 'pw' }, { 'X-Parse-Installation-Id': inst });
    assert.equal(r.status, 200);
  }
  const sessions = await new Parse.Query(Parse.Session).find({ sessionToken: u.getSessionToken() });
  assert.equal(sessions.length, 3);
  assert.ok(sessions.every(x => x.get('user').id === u.id));
  await Parse.User.logOut();
  const left = await new Parse.Query(Parse.Session).equalTo('user', u).count({ useMasterKey: true });
  assert.equal(left, 2);
});

test('username and email are unique (202, 203)', async () => {
  const { Parse } = s;
  await Parse.User.signUp('carol', 'pw', { email: 'carol@example.com' });
  await Parse.User.logOut();
  await assert.rejects(Parse.User.signUp('carol', 'pw2'), err => err.code === Parse.Error.USERNAME_TAKEN);
  await assert.rejects(
    Parse.User.signUp('carol2', 'pw2', { email: 'carol@example.com' }),
    err => err.code === Parse.Error.EMAIL_TAKEN
  );
});

test('20 parallel sign-ups with one username: exactly one wins', async () => {
  const { Parse } = s;
  const attempts = Array.from({ length: 20 }, (_, i) =>
    s.rest('POST', '/users', { username: 'racer', password: `pw${i}` })
  );
  const results = await Promise.all(attempts);
  const won = results.filter(r => r.status === 201);
  const lost = results.filter(r => r.status !== 201);
  assert.equal(won.length, 1);
  assert.ok(lost.every(r => r.body.code === Parse.Error.USERNAME_TAKEN), JSON.stringify(lost.map(r => r.body)));
  const count = await new Parse.Query(Parse.User).equalTo('username', 'racer').count({ useMasterKey: true });
  assert.equal(count, 1);
});

test('authData sign-up links one account per provider id', async () => {
  const { Parse } = s;
  // The "anonymous" provider needs no external service.
  const authData = { id: '2f6a9c4e-0000-4000-8000-000000000001' };
  const a = await s.rest('POST', '/users', { authData: { anonymous: authData } });
  assert.equal(a.status, 201);
  const b = await s.rest('POST', '/users', { authData: { anonymous: authData } });
  assert.equal(b.status, 200, 'second sign-up logs into the same user');
  assert.equal(b.body.objectId, a.body.objectId);
  const users = await new Parse.Query(Parse.User).find({ useMasterKey: true });
  assert.equal(users.filter(u => u.id === a.body.objectId).length, 1);
});

test('logins and session lookups are key reads, not class scans', async () => {
  const master = { 'X-Parse-Master-Key': s.masterKey };
  const explain = async (className, where) =>
    (await s.rest('GET', `/classes/${className}?explain=queryPlanner&where=${encodeURIComponent(JSON.stringify(where))}`, undefined, master)).body.results.queryPlanner.access;
  assert.equal((await explain('_User', { username: 'alice' })).via, 'unique value of username');
  assert.equal((await explain('_User', { email: 'alice@example.com' })).via, 'unique value of email');
  assert.equal((await explain('_Session', { sessionToken: 'r:abc' })).via, 'unique value of sessionToken');
  assert.equal((await explain('_User', { emailVerified: true })).operation, 'Query');
});

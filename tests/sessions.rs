//! Sessions by their token, against dynoxide: `_Session.sessionToken`'s sentinel holds a copy
//! of the session (written in the same transaction as the session, every time), so the read
//! Parse makes for every uncached token is one GetItem; the copy follows updates and deletes,
//! and a sentinel without one (a large session, an older version's) still finds its session.

mod common;

use common::must;
use parse_server_dynamodb::adapter::Adapter;
use serde_json::{json, Value};

fn schema() -> Value {
    json!({"fields": {"sessionToken": {"type": "String"}, "user": {"type": "Pointer", "targetClass": "_User"}}})
}

fn requests(u: &Value, op: &str) -> u64 {
    u["operations"][op]["requests"].as_u64().unwrap_or(0)
}

async fn by_token(a: &Adapter, token: &str) -> (Value, Value) {
    let before = must(a, "consumedCapacity", json!([])).await;
    let got = must(
        a,
        "find",
        json!(["_Session", schema(), {"sessionToken": token}, {"limit": 1}]),
    )
    .await;
    let after = must(a, "consumedCapacity", json!([])).await;
    // Reads only: the counter update of a create may still be on its way beside.
    let delta = json!({
        "GetItem": requests(&after, "GetItem") - requests(&before, "GetItem"),
        "BatchGetItem": requests(&after, "BatchGetItem") - requests(&before, "BatchGetItem"),
        "Query": requests(&after, "Query") - requests(&before, "Query"),
    });
    (got, delta)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_by_its_token_is_one_read() {
    let a = common::adapter().await;
    must(&a, "performInitialization", json!([])).await;
    let user = json!({"__type": "Pointer", "className": "_User", "objectId": "u1"});
    must(&a, "createObject", json!(["_Session", schema(), {"objectId": "s1", "sessionToken": "r:one", "user": user, "installationId": "i1"}])).await;
    let (got, cost) = by_token(&a, "r:one").await;
    assert_eq!(got[0]["objectId"], "s1");
    assert_eq!(got[0]["installationId"], "i1");
    assert_eq!(
        cost,
        json!({"GetItem": 1, "BatchGetItem": 0, "Query": 0}),
        "the sentinel alone"
    );
    // Another condition is still checked, on the copy.
    let other = json!({"__type": "Pointer", "className": "_User", "objectId": "u2"});
    let none = must(
        &a,
        "find",
        json!(["_Session", schema(), {"sessionToken": "r:one", "user": other}, {}]),
    )
    .await;
    assert_eq!(none, json!([]));

    // An update rewrites the copy with the session.
    must(
        &a,
        "findOneAndUpdate",
        json!(["_Session", schema(), {"objectId": "s1"}, {"installationId": "i2"}]),
    )
    .await;
    assert_eq!(by_token(&a, "r:one").await.0[0]["installationId"], "i2");
    // So does a transactional session's.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "findOneAndUpdate",
        json!(["_Session", schema(), {"objectId": "s1"}, {"installationId": "i3"}, s]),
    )
    .await;
    must(&a, "commitTransactionalSession", json!([s])).await;
    assert_eq!(by_token(&a, "r:one").await.0[0]["installationId"], "i3");
    // A new token moves the sentinel, copy and all.
    must(
        &a,
        "findOneAndUpdate",
        json!(["_Session", schema(), {"objectId": "s1"}, {"sessionToken": "r:two"}]),
    )
    .await;
    assert_eq!(by_token(&a, "r:one").await.0, json!([]));
    assert_eq!(by_token(&a, "r:two").await.0[0]["objectId"], "s1");
    // A deleted session is gone by its token.
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["_Session", schema(), {"objectId": "s1"}]),
    )
    .await;
    assert_eq!(by_token(&a, "r:two").await.0, json!([]));

    // A session too large to copy has a plain sentinel: found through its object (two reads).
    must(&a, "createObject", json!(["_Session", schema(), {"objectId": "s2", "sessionToken": "r:big", "user": user, "note": "x".repeat(9000)}])).await;
    let (got, cost) = by_token(&a, "r:big").await;
    assert_eq!(got[0]["objectId"], "s2");
    assert_eq!(cost["GetItem"], 2);
    // The copy changes nothing for an `$or` lookup that also finds it another way.
    let both = must(
        &a,
        "find",
        json!(["_Session", schema(), {"$or": [{"sessionToken": "r:big"}, {"objectId": "s2"}]}, {}]),
    )
    .await;
    assert_eq!(both.as_array().unwrap().len(), 1);
}

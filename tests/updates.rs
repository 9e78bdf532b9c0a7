//! Updates of one object by key, made in place (one conditional UpdateItem, no read first)
//! when nothing kept beside the object depends on what they write, against dynoxide: what they
//! send, that concurrent increments all count, that a query's ACL condition still decides, and
//! that what DynamoDB computes differently (decimal sums, types) ends as a whole rewrite would.

mod common;

use common::{c, must};
use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::codec::{item_tokens, TOKENS_KEPT};
use parse_server_dynamodb::error::code;
use serde_json::{json, Value};
use std::sync::Arc;

fn schema() -> Value {
    json!({"fields": {"n": {"type": "Number"}, "name": {"type": "String"}}})
}

fn requests(u: &Value, op: &str) -> u64 {
    u["operations"][op]["requests"].as_u64().unwrap_or(0)
}

async fn usage(a: &Adapter) -> Value {
    must(a, "consumedCapacity", json!([])).await
}

async fn get(a: &Adapter, class: &str, id: &str) -> Value {
    must(a, "find", json!([class, schema(), {"objectId": id}, {}])).await[0].clone()
}

async fn update(a: &Adapter, class: &str, query: Value, upd: Value) -> Value {
    must(a, "findOneAndUpdate", json!([class, schema(), query, upd])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_by_key_is_one_update_item_and_answers_the_new_object() {
    let a = common::adapter().await;
    must(
        &a,
        "createObject",
        json!(["Item", schema(), {"objectId": "a", "n": 1, "name": "x", "gone": true}]),
    )
    .await;
    // A count waits for the counter update sent beside the create, so none is in flight below.
    must(&a, "count", json!(["Item", schema(), {}])).await;
    let before = usage(&a).await;
    let got = update(
        &a,
        "Item",
        json!({"objectId": "a"}),
        json!({"n": {"__op": "Increment", "amount": 2}, "name": "y", "gone": {"__op": "Delete"},
               "tags": {"__op": "Add", "objects": ["t1"]}, "updatedAt": "2026-12-01T00:00:00.000Z"}),
    )
    .await;
    let after = usage(&a).await;
    assert_eq!(got["n"], 3);
    assert_eq!(got["name"], "y");
    assert_eq!(got["tags"], json!(["t1"]));
    assert!(got.get("gone").is_none(), "{got}");
    assert_eq!(got["updatedAt"], "2026-12-01T00:00:00.000Z");
    assert_eq!(
        requests(&after, "UpdateItem") - requests(&before, "UpdateItem"),
        1
    );
    assert_eq!(
        requests(&after, "GetItem"),
        requests(&before, "GetItem"),
        "no read first"
    );
    assert_eq!(requests(&after, "PutItem"), requests(&before, "PutItem"));
    assert_eq!(
        after["requests"].as_u64().unwrap() - before["requests"].as_u64().unwrap(),
        1
    );
    // Stored as a whole rewrite stores it (updatedAt a Date, as queries compare it).
    let stored = get(&a, "Item", "a").await;
    assert_eq!(stored, got);
    let by_date = must(&a, "count", json!(["Item", schema(), {"updatedAt": {"$gte": {"__type": "Date", "iso": "2026-11-30T00:00:00.000Z"}}}])).await;
    assert_eq!(by_date, 1);
    // Nothing there: null, and nothing created.
    let none = update(
        &a,
        "Item",
        json!({"objectId": "nope"}),
        json!({"n": {"__op": "Increment", "amount": 1}}),
    )
    .await;
    assert!(none.is_null());
    assert_eq!(must(&a, "count", json!(["Item", schema(), {}])).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_each_count_and_see_their_own_sum() {
    let a = Arc::new(common::adapter().await);
    must(
        &a,
        "createObject",
        json!(["Item", schema(), {"objectId": "c", "n": 0}]),
    )
    .await;
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move {
                update(
                    &a,
                    "Item",
                    json!({"objectId": "c"}),
                    json!({"n": {"__op": "Increment", "amount": 1}}),
                )
                .await["n"]
                    .as_i64()
                    .unwrap()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=24).collect::<Vec<_>>(),
        "each answer is its own sum"
    );
    assert_eq!(get(&a, "Item", "c").await["n"], 24);
    // The token list stays bounded: trimmed beside the answers, or rewritten when full.
    let item = a.store().get("Item", "c").await.unwrap().unwrap();
    assert!(
        item_tokens(&item).len() <= 2 * TOKENS_KEPT,
        "{}",
        item_tokens(&item).len()
    );
    for i in 0..40 {
        update(
            &a,
            "Item",
            json!({"objectId": "c"}),
            json!({"name": format!("v{i}")}),
        )
        .await;
    }
    let item = a.store().get("Item", "c").await.unwrap().unwrap();
    assert!(item_tokens(&item).len() <= 2 * TOKENS_KEPT);
    assert_eq!(get(&a, "Item", "c").await["name"], "v39");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_acl_in_the_query_still_decides() {
    let a = common::adapter().await;
    must(
        &a,
        "createObject",
        json!(["Item", schema(), {"objectId": "w", "n": 0, "_wperm": ["u2"], "_rperm": ["*"]}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Item", schema(), {"objectId": "open", "n": 0}]),
    )
    .await;
    let acl = |id: &str, user: &str| json!({"objectId": id, "_wperm": {"$in": [null, "*", user]}});
    let inc = json!({"n": {"__op": "Increment", "amount": 1}});
    assert!(
        update(&a, "Item", acl("w", "u1"), inc.clone())
            .await
            .is_null(),
        "u1 may not write"
    );
    assert_eq!(get(&a, "Item", "w").await["n"], 0);
    assert_eq!(
        update(&a, "Item", acl("w", "u2"), inc.clone()).await["n"],
        1
    );
    assert_eq!(
        update(&a, "Item", acl("open", "u1"), inc.clone()).await["n"],
        1,
        "no _wperm: anyone"
    );
    // A query the condition cannot say exactly is read first, and still decides.
    let q = json!({"objectId": "w", "n": {"$gt": 5}});
    assert!(update(&a, "Item", q, inc.clone()).await.is_null());
    assert_eq!(get(&a, "Item", "w").await["n"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_dynamodb_computes_otherwise_ends_as_a_rewrite_would() {
    let a = common::adapter().await;
    must(
        &a,
        "createObject",
        json!(["Item", schema(), {"objectId": "f", "n": 0.118, "name": "s"}]),
    )
    .await;
    // DynamoDB's decimal sum is 1.118; MongoDB's (and Parse's on it) double sum is not.
    let got = update(
        &a,
        "Item",
        json!({"objectId": "f"}),
        json!({"n": {"__op": "Increment", "amount": 1}}),
    )
    .await;
    assert_eq!(got["n"], json!(0.118f64 + 1.0));
    assert_eq!(get(&a, "Item", "f").await["n"], json!(0.118f64 + 1.0));
    // A type DynamoDB refuses to add to: Parse's error, nothing written.
    let err = c(&a, "findOneAndUpdate", json!(["Item", schema(), {"objectId": "f"}, {"name": {"__op": "Increment", "amount": 1}, "n": 5}]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), code::INCORRECT_TYPE);
    assert_eq!(get(&a, "Item", "f").await["n"], json!(0.118f64 + 1.0));
    // A unique field's write keeps its sentinel: a taken value is refused.
    must(&a, "ensureUniqueness", json!(["_User", {}, ["username"]])).await;
    must(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "u1", "username": "ann"}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "u2", "username": "bob"}]),
    )
    .await;
    let dup = c(
        &a,
        "findOneAndUpdate",
        json!(["_User", {}, {"objectId": "u2"}, {"username": "ann"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(dup.code(), code::DUPLICATE_VALUE);
}

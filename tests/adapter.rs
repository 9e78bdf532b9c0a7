//! The core against a real DynamoDB-compatible server (dynoxide), through `api::call` — the
//! same JSON entry point the Node binding uses.

mod common;

use common::{c, must};

use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::error::code;
use serde_json::{json, Value};
use std::sync::Arc;

fn user_schema() -> Value {
    json!({"fields": {"username": {"type": "String"}, "email": {"type": "String"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_find_and_delete() {
    let a = common::adapter().await;
    must(&a, "performInitialization", json!([])).await;
    for i in 0..5 {
        must(&a, "createObject", json!(["Item", {}, {
            "objectId": format!("id{i}"), "n": i, "tags": ["t", format!("x{i}")],
            "createdAt": "2020-01-01T00:00:00.000Z", "when": {"__type": "Date", "iso": format!("2020-01-0{}T00:00:00Z", i + 1)},
            "owner": {"__type": "Pointer", "className": "_User", "objectId": format!("u{}", i % 2)}
        }])).await;
    }
    let got = must(&a, "find", json!(["Item", {}, {"objectId": "id3"}, {}])).await;
    assert_eq!(got[0]["n"], 3);
    assert_eq!(got[0]["createdAt"], "2020-01-01T00:00:00.000Z");
    assert_eq!(
        got[0]["when"],
        json!({"__type": "Date", "iso": "2020-01-04T00:00:00.000Z"})
    );

    let by_ptr = must(&a, "find", json!(["Item", {}, {"owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"}}, {"sort": {"n": -1}}])).await;
    let ns: Vec<i64> = by_ptr
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![3, 1]);

    let dates = must(&a, "count", json!(["Item", {}, {"when": {"$gte": {"__type": "Date", "iso": "2020-01-03T00:00:00.000Z"}}}])).await;
    assert_eq!(dates, 3);
    let arr = must(&a, "count", json!(["Item", {}, {"tags": "x2"}])).await;
    assert_eq!(arr, 1);

    let dup = c(&a, "createObject", json!(["Item", {}, {"objectId": "id1"}]))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), code::DUPLICATE_VALUE);

    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Item", {}, {"n": {"$lt": 2}}]),
    )
    .await;
    assert_eq!(must(&a, "count", json!(["Item", {}, {}])).await, 3);
    let none = c(&a, "deleteObjectsByQuery", json!(["Item", {}, {"n": 99}]))
        .await
        .unwrap_err();
    assert_eq!(none.code(), code::OBJECT_NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_skip_limit_count_over_more_than_one_megabyte() {
    let a = Arc::new(common::adapter().await);
    let pad = "p".repeat(3000);
    let n = 420; // ~1.3 MB: DynamoDB pages at 1 MB
    let mut tasks = Vec::new();
    for i in 0..n {
        let a = a.clone();
        let pad = pad.clone();
        tasks.push(tokio::spawn(async move {
            must(&a, "createObject", json!(["Big", {}, {"objectId": format!("o{i:04}"), "rank": (i * 7919) % n, "even": i % 2 == 0, "pad": pad}])).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(must(&a, "count", json!(["Big", {}, {}])).await, n);
    assert_eq!(
        must(&a, "count", json!(["Big", {}, {"even": true}])).await,
        n / 2
    );
    let page = must(
        &a,
        "find",
        json!(["Big", {}, {}, {"sort": {"rank": -1}, "skip": 10, "limit": 5, "keys": ["rank"]}]),
    )
    .await;
    let ranks: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["rank"].as_i64().unwrap())
        .collect();
    let top = n as i64 - 1;
    assert_eq!(
        ranks,
        vec![top - 10, top - 11, top - 12, top - 13, top - 14]
    );
    assert!(
        page[0].get("pad").is_none(),
        "keys projection drops other fields"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_in_and_batch_get() {
    let a = common::adapter().await;
    for i in 0..150 {
        must(
            &a,
            "createObject",
            json!(["C", {}, {"objectId": format!("k{i}"), "v": format!("s{i}")}]),
        )
        .await;
    }
    let ids: Vec<Value> = (0..300).map(|i| json!(format!("k{i}"))).collect();
    assert_eq!(
        must(&a, "count", json!(["C", {}, {"objectId": {"$in": ids}}])).await,
        150
    );
    let vals: Vec<Value> = (0..1000).map(|i| json!(format!("s{}", i * 2))).collect();
    assert_eq!(
        must(&a, "count", json!(["C", {}, {"v": {"$in": vals.clone()}}])).await,
        75
    );
    assert_eq!(
        must(&a, "count", json!(["C", {}, {"v": {"$nin": vals}}])).await,
        75
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uniqueness_holds_under_parallel_writers() {
    let a = Arc::new(common::adapter().await);
    must(
        &a,
        "ensureUniqueness",
        json!(["_User", user_schema(), ["username"]]),
    )
    .await;
    must(
        &a,
        "ensureUniqueness",
        json!(["_User", user_schema(), ["email"]]),
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            c(&a, "createObject", json!(["_User", user_schema(), {"objectId": format!("u{i}"), "username": "same", "email": format!("e{i}@x")}])).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), code::DUPLICATE_VALUE);
                assert_eq!(e.to_json()["userInfo"]["duplicated_field"], "username");
            }
        }
    }
    assert_eq!(ok, 1);
    // Changing the email frees the old value and claims the new one.
    let winner = must(&a, "find", json!(["_User", {}, {"username": "same"}, {}])).await;
    let id = winner[0]["objectId"].as_str().unwrap().to_string();
    let old_email = winner[0]["email"].as_str().unwrap().to_string();
    must(
        &a,
        "findOneAndUpdate",
        json!(["_User", {}, {"objectId": id}, {"email": "new@x"}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "other", "username": "other", "email": old_email}]),
    )
    .await;
    let e = c(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "third", "username": "third", "email": "new@x"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.to_json()["userInfo"]["duplicated_field"], "email");
    // Deleting frees the username.
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["_User", {}, {"objectId": id}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "again", "username": "same"}]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_data_uniqueness() {
    let a = common::adapter().await;
    must(&a, "ensureAuthDataUniqueness", json!(["facebook"])).await;
    must(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "a", "_auth_data_facebook": {"id": "F1"}}]),
    )
    .await;
    let e = c(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "b", "_auth_data_facebook": {"id": "F1"}}]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_json()["userInfo"]["duplicated_field"],
        "_auth_data_facebook"
    );
    let found = must(
        &a,
        "find",
        json!(["_User", {}, {"authData.facebook.id": "F1"}, {}]),
    )
    .await;
    assert_eq!(found[0]["objectId"], "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_increments_and_array_ops_lose_nothing() {
    let a = Arc::new(common::adapter().await);
    let start = json!(["Counter", {}, {"objectId": "c", "n": 0, "list": [], "log": [], "bag": ["r0", "r1", "r2", "keep"]}]);
    must(&a, "createObject", start).await;
    let mut tasks = Vec::new();
    // 100 increments; 20 of them also AddUnique, Add and Remove on arrays of the same object.
    for i in 0..100 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            let mut upd = json!({"n": {"__op": "Increment", "amount": 1}});
            if i < 20 {
                upd["list"] = json!({"__op": "AddUnique", "objects": [i % 10, format!("s{i}")]});
                upd["log"] = json!({"__op": "Add", "objects": [i]});
                upd["bag"] = json!({"__op": "Remove", "objects": [format!("r{}", i % 3)]});
            }
            must(
                &a,
                "findOneAndUpdate",
                json!(["Counter", {}, {"objectId": "c"}, upd]),
            )
            .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let o = must(&a, "find", json!(["Counter", {}, {"objectId": "c"}, {}])).await;
    assert_eq!(o[0]["n"], 100);
    assert_eq!(o[0]["list"].as_array().unwrap().len(), 30);
    let mut log: Vec<i64> = o[0]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    log.sort();
    assert_eq!(log, (0..20).collect::<Vec<_>>());
    assert_eq!(o[0]["bag"], json!(["keep"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_writers_per_unique_field() {
    let a = Arc::new(common::adapter().await);
    for f in ["username", "email"] {
        must(&a, "ensureUniqueness", json!(["_User", {}, [f]])).await;
    }
    must(&a, "ensureAuthDataUniqueness", json!(["anon"])).await;
    for (field, make) in [
        (
            "username",
            (|i: usize| json!({"objectId": format!("u{i}"), "username": "same"}))
                as fn(usize) -> Value,
        ),
        (
            "email",
            |i| json!({"objectId": format!("e{i}"), "username": format!("e{i}"), "email": "same@x"}),
        ),
        (
            "_auth_data_anon",
            |i| json!({"objectId": format!("a{i}"), "username": format!("a{i}"), "_auth_data_anon": {"id": "same"}}),
        ),
    ] {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let a = a.clone();
            tasks.push(tokio::spawn(async move {
                c(&a, "createObject", json!(["_User", {}, make(i)])).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) => assert_eq!(e.to_json()["userInfo"]["duplicated_field"], field),
            }
        }
        assert_eq!(won, 1, "{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn or_with_acl_does_not_leak() {
    let a = common::adapter().await;
    must(
        &a,
        "createObject",
        json!(["Doc", {}, {"objectId": "pub", "t": "a", "_rperm": ["*"]}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Doc", {}, {"objectId": "priv", "t": "a", "_rperm": ["u1"]}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Doc", {}, {"objectId": "noacl", "t": "b"}]),
    )
    .await;
    let q = json!({"$and": [{"$or": [{"t": "a"}, {"t": "b"}]}, {"_rperm": {"$in": [null, "*", "u2"]}}]});
    let rows = must(&a, "find", json!(["Doc", {}, q, {"sort": {"objectId": 1}}])).await;
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["objectId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["noacl", "pub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_lifecycle() {
    let a = common::adapter().await;
    assert_eq!(must(&a, "classExists", json!(["Game"])).await, false);
    let s = must(&a, "createClass", json!(["Game", {"className": "Game", "fields": {"score": {"type": "Number"}, "_rperm": {"type": "Array"}}}])).await;
    assert_eq!(s["fields"], json!({"score": {"type": "Number"}}));
    assert_eq!(s["classLevelPermissions"]["find"], json!({"*": true}));
    let e = c(&a, "createClass", json!(["Game", {"fields": {}}]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code::DUPLICATE_VALUE);
    must(
        &a,
        "addFieldIfNotExists",
        json!(["Game", "name", {"type": "String"}]),
    )
    .await;
    // Added again with the same type (another server did it first): fine; another type: 111.
    must(
        &a,
        "addFieldIfNotExists",
        json!(["Game", "name", {"type": "String"}]),
    )
    .await;
    let e = c(
        &a,
        "addFieldIfNotExists",
        json!(["Game", "name", {"type": "Number"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), code::INCORRECT_TYPE);
    must(
        &a,
        "setClassLevelPermissions",
        json!(["Game", {"find": {}, "get": {"*": true}}]),
    )
    .await;
    let g = must(&a, "getClass", json!(["Game"])).await;
    assert_eq!(g["fields"]["name"], json!({"type": "String"}));
    assert_eq!(g["classLevelPermissions"]["find"], json!({}));
    must(
        &a,
        "createObject",
        json!(["Game", {}, {"objectId": "g", "score": 1, "name": "n"}]),
    )
    .await;
    must(&a, "deleteFields", json!(["Game", {}, ["name"]])).await;
    let o = must(&a, "find", json!(["Game", {}, {}, {}])).await;
    assert!(o[0].get("name").is_none());
    assert_eq!(
        must(&a, "getAllClasses", json!([]))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    must(&a, "deleteClass", json!(["Game"])).await;
    assert_eq!(must(&a, "count", json!(["Game", {}, {}])).await, 0);
    assert_eq!(must(&a, "getClass", json!(["Game"])).await, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_rows_upsert_idempotently() {
    let a = common::adapter().await;
    let row = json!({"owningId": "o1", "relatedId": "r1"});
    for _ in 0..3 {
        must(
            &a,
            "upsertOneObject",
            json!(["_Join:likes:Post", {}, row, row]),
        )
        .await;
    }
    let rows = must(
        &a,
        "find",
        json!(["_Join:likes:Post", {}, {"owningId": "o1"}, {}]),
    )
    .await;
    assert_eq!(rows, json!([{"owningId": "o1", "relatedId": "r1"}]));
    // A legacy numeric objectId (Parse's `_GlobalConfig` 1) is the same object as "1".
    must(
        &a,
        "upsertOneObject",
        json!(["_GlobalConfig", {}, {"objectId": 1}, {"params": {"n": 1}}]),
    )
    .await;
    let cfg = must(
        &a,
        "find",
        json!(["_GlobalConfig", {}, {"objectId": "1"}, {}]),
    )
    .await;
    assert_eq!(cfg[0]["params"], json!({"n": 1}));
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["_GlobalConfig", {}, {"objectId": 1}]),
    )
    .await;
    // A relation class has no schema; it exists while it holds rows.
    assert_eq!(
        must(&a, "classExists", json!(["_Join:likes:Post"])).await,
        true
    );
    assert_eq!(
        must(&a, "classExists", json!(["_Join:other:Post"])).await,
        false
    );
    must(
        &a,
        "upsertOneObject",
        json!(["_GlobalConfig", {}, {"objectId": "1"}, {"params": {"a": 1}}]),
    )
    .await;
    let cfg = must(
        &a,
        "find",
        json!(["_GlobalConfig", {}, {"objectId": "1"}, {}]),
    )
    .await;
    assert_eq!(cfg[0]["params"], json!({"a": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_error_and_writes_nothing() {
    let a = common::adapter().await;
    // A bad constraint is INVALID_JSON, a bad top-level operator INVALID_QUERY (as on Mongo).
    let e = c(&a, "find", json!(["X", {}, {"a": {"$where": "1"}}, {}]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code::INVALID_JSON);
    let e = c(&a, "find", json!(["X", {}, {"$where": "1"}, {}]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code::INVALID_QUERY);
    // Over MongoDB's 16 MB (`{"blob":"…"}` is 11 bytes around the text).
    let big = "x".repeat(16 * 1024 * 1024 - 10);
    let e = c(
        &a,
        "createObject",
        json!(["X", {}, {"objectId": "big", "blob": big}]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), code::OBJECT_TOO_LARGE);
    assert_eq!(must(&a, "count", json!(["X", {}, {}])).await, 0);
    let e = c(
        &a,
        "createObject",
        json!(["X", {}, {"objectId": "n", "v": 1e200}]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), code::INVALID_JSON);
    let e = c(
        &a,
        "aggregate",
        json!(["X", {}, [{"$lookup": {"from": "Y"}}]]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), code::INVALID_QUERY, "$lookup without its fields");
    let e = c(
        &a,
        "aggregate",
        json!(["X", {}, [{"$lookup": {"from": "Y", "pipeline": [], "as": "y"}}]]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.code(),
        code::COMMAND_UNAVAILABLE,
        "$lookup with a pipeline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_uniqueness_claims_existing_values_and_refuses_duplicates() {
    let a = common::adapter().await;
    must(
        &a,
        "createObject",
        json!(["Tag", {}, {"objectId": "t1", "name": "red"}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Tag", {}, {"objectId": "t2", "name": "blue"}]),
    )
    .await;
    must(&a, "ensureUniqueness", json!(["Tag", {}, ["name"]])).await;
    // Registered again (as at every server start): nothing changes.
    must(&a, "ensureUniqueness", json!(["Tag", {}, ["name"]])).await;
    let e = c(
        &a,
        "createObject",
        json!(["Tag", {}, {"objectId": "t3", "name": "red"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.to_json()["userInfo"]["duplicated_field"], "name");

    must(
        &a,
        "createObject",
        json!(["Dup", {}, {"objectId": "d1", "k": "same"}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Dup", {}, {"objectId": "d2", "k": "same"}]),
    )
    .await;
    let e = c(&a, "ensureUniqueness", json!(["Dup", {}, ["k"]]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code::DUPLICATE_VALUE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_sessions_are_all_or_nothing() {
    let a = common::adapter().await;
    must(&a, "ensureUniqueness", json!(["_User", {}, ["username"]])).await;
    must(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "taken", "username": "bob"}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Acc", {}, {"objectId": "a1", "balance": 10}]),
    )
    .await;

    // Committed: a create, two updates of one object (the second sees the first), a delete.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "createObject",
        json!(["Acc", {}, {"objectId": "a2", "balance": 1}, s]),
    )
    .await;
    let mid = must(
        &a,
        "findOneAndUpdate",
        json!(["Acc", {}, {"objectId": "a1"}, {"balance": {"__op": "Increment", "amount": -3}}, s]),
    )
    .await;
    assert_eq!(mid["balance"], 7, "post-image computed locally");
    let end = must(
        &a,
        "findOneAndUpdate",
        json!(["Acc", {}, {"objectId": "a1"}, {"balance": {"__op": "Increment", "amount": -2}}, s]),
    )
    .await;
    assert_eq!(end["balance"], 5);
    assert_eq!(
        must(&a, "count", json!(["Acc", {}, {"objectId": "a2"}])).await,
        0,
        "nothing visible before commit"
    );
    must(&a, "commitTransactionalSession", json!([s])).await;
    let rows = must(
        &a,
        "find",
        json!(["Acc", {}, {}, {"sort": {"objectId": 1}}]),
    )
    .await;
    assert_eq!(
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["balance"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![5, 1]
    );

    // Failing: the second write breaks uniqueness, so the first lands neither.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "findOneAndUpdate",
        json!(["Acc", {}, {"objectId": "a1"}, {"balance": 100}, s]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["_User", {}, {"objectId": "u2", "username": "bob"}, s]),
    )
    .await;
    let e = c(&a, "commitTransactionalSession", json!([s]))
        .await
        .unwrap_err();
    assert_eq!(e.to_json()["userInfo"]["duplicated_field"], "username");
    let a1 = must(&a, "find", json!(["Acc", {}, {"objectId": "a1"}, {}])).await;
    assert_eq!(a1[0]["balance"], 5);

    // A concurrent change outside the session makes the commit fail whole.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "findOneAndUpdate",
        json!(["Acc", {}, {"objectId": "a1"}, {"balance": 0}, s]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Acc", {}, {"objectId": "a3", "balance": 3}, s]),
    )
    .await;
    must(
        &a,
        "findOneAndUpdate",
        json!(["Acc", {}, {"objectId": "a1"}, {"balance": 6}]),
    )
    .await;
    assert!(c(&a, "commitTransactionalSession", json!([s]))
        .await
        .is_err());
    assert_eq!(
        must(&a, "count", json!(["Acc", {}, {"objectId": "a3"}])).await,
        0
    );

    // Aborted: nothing written.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Acc", {}, {"objectId": "a1"}, s]),
    )
    .await;
    must(&a, "abortTransactionalSession", json!([s])).await;
    assert_eq!(
        must(&a, "count", json!(["Acc", {}, {"objectId": "a1"}])).await,
        1
    );

    // More than 100 items: a clear error, nothing written.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    for i in 0..101 {
        must(
            &a,
            "createObject",
            json!(["Many", {}, {"objectId": format!("m{i}")}, s]),
        )
        .await;
    }
    let e = c(&a, "commitTransactionalSession", json!([s]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code::COMMAND_UNAVAILABLE);
    assert_eq!(must(&a, "count", json!(["Many", {}, {}])).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equality_on_a_unique_field_reads_two_items_not_the_class() {
    let a = common::adapter().await;
    must(&a, "ensureUniqueness", json!(["_User", {}, ["username"]])).await;
    for i in 0..30 {
        must(&a, "createObject", json!(["_User", {}, {"objectId": format!("u{i}"), "username": format!("name{i}"), "n": i}])).await;
    }
    let plan = must(
        &a,
        "explain",
        json!(["_User", {}, {"username": "name7"}, {"explain": "queryPlanner"}]),
    )
    .await;
    assert_eq!(
        plan["queryPlanner"]["access"]["via"],
        "unique value of username"
    );
    let found = must(
        &a,
        "find",
        json!(["_User", {}, {"username": "name7", "n": 7}, {}]),
    )
    .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["objectId"], "u7");
    // The rest of the query still applies, and a renamed user is found by the new name only.
    assert_eq!(
        must(
            &a,
            "count",
            json!(["_User", {}, {"username": "name7", "n": 8}])
        )
        .await,
        0
    );
    must(
        &a,
        "findOneAndUpdate",
        json!(["_User", {}, {"objectId": "u7"}, {"username": "renamed"}]),
    )
    .await;
    assert_eq!(
        must(&a, "count", json!(["_User", {}, {"username": "name7"}])).await,
        0
    );
    assert_eq!(
        must(&a, "count", json!(["_User", {}, {"username": "renamed"}])).await,
        1
    );
    assert_eq!(
        must(&a, "count", json!(["_User", {}, {"username": "nobody"}])).await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumed_capacity_is_counted_per_operation() {
    let a = common::adapter().await;
    must(&a, "ensureUniqueness", json!(["_User", {}, ["username"]])).await;
    let start = must(&a, "consumedCapacity", json!([])).await;
    for i in 0..50 {
        must(
            &a,
            "createObject",
            json!(["_User", {}, {"objectId": format!("u{i}"), "username": format!("n{i}")}]),
        )
        .await;
    }
    let before = must(&a, "consumedCapacity", json!([])).await;
    let found = must(&a, "find", json!(["_User", {}, {"username": "n7"}, {}])).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let after = must(&a, "consumedCapacity", json!([])).await;
    let gets = |v: &Value| v["operations"]["GetItem"]["requests"].as_u64().unwrap_or(0);
    let queries = |v: &Value| v["operations"]["Query"]["requests"].as_u64().unwrap_or(0);
    assert_eq!(
        gets(&after) - gets(&before),
        2,
        "a login-style lookup is two GetItems"
    );
    assert_eq!(queries(&after), queries(&before), "and no Query");
    // A create with a unique value: its claim, then the object (one PutItem each), no
    // transaction.
    assert_eq!(
        after["operations"]["TransactWriteItems"]["requests"]
            .as_u64()
            .unwrap_or(0),
        0,
        "a create with a unique value is no transaction"
    );
    assert_eq!(
        after["operations"]["PutItem"]["requests"]
            .as_u64()
            .unwrap_or(0)
            - start["operations"]["PutItem"]["requests"]
                .as_u64()
                .unwrap_or(0),
        100,
        "a create with a unique value is two PutItems: the claim, then the object"
    );
    eprintln!("capacity: {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_with_mongo_style_names() {
    let a = common::adapter().await;
    for (id, day) in [("x1", "2020-05-01"), ("x2", "2021-06-02")] {
        let created = json!({"__type": "Date", "iso": format!("{day}T00:00:00.000Z")});
        must(
            &a,
            "createObject",
            json!(["Agg", {}, {"objectId": id, "createdAt": created, "score": 2}]),
        )
        .await;
    }
    let one = must(
        &a,
        "aggregate",
        json!(["Agg", {}, [{"$match": {"_id": "x2"}}]]),
    )
    .await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["objectId"], "x2");
    let years = must(
        &a,
        "aggregate",
        json!(["Agg", {}, [
            {"$group": {"_id": {"year": {"$year": "$_created_at"}}, "n": {"$sum": 1}}},
            {"$sort": {"_id.year": 1}}
        ]]),
    )
    .await;
    assert_eq!(
        years,
        json!([{"objectId": {"year": 2020}, "n": 1}, {"objectId": {"year": 2021}, "n": 1}])
    );
    let empty = must(
        &a,
        "aggregate",
        json!(["Agg", {}, [{"$group": {"_id": []}}]]),
    )
    .await;
    assert_eq!(empty, json!([{"objectId": null}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relation_rows_are_read_by_key_ranges_both_ways() {
    let a = common::adapter().await;
    let class = "_Join:users:_Role";
    for (o, r) in [
        ("roleA", "u1"),
        ("roleA", "u2"),
        ("roleB", "u1"),
        ("roleC", "u3"),
    ] {
        let row = json!({"owningId": o, "relatedId": r});
        must(&a, "upsertOneObject", json!([class, {}, row, row])).await;
    }
    let ids = |v: Value, f: &str| {
        let mut x: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[f].as_str().unwrap().to_string())
            .collect();
        x.sort();
        x
    };
    let roles_of_u1 = must(&a, "find", json!([class, {}, {"relatedId": "u1"}, {}])).await;
    assert_eq!(ids(roles_of_u1, "owningId"), vec!["roleA", "roleB"]);
    let users_of_a = must(&a, "find", json!([class, {}, {"owningId": "roleA"}, {}])).await;
    assert_eq!(ids(users_of_a, "relatedId"), vec!["u1", "u2"]);
    let either = must(
        &a,
        "find",
        json!([class, {}, {"relatedId": {"$in": ["u2", "u3"]}}, {}]),
    )
    .await;
    assert_eq!(ids(either, "owningId"), vec!["roleA", "roleC"]);
    let plan = must(
        &a,
        "explain",
        json!([class, {}, {"relatedId": "u1"}, {"explain": "queryPlanner"}]),
    )
    .await;
    assert_eq!(plan["queryPlanner"]["access"]["then"], "BatchGetItem");
    // Removing a relation removes its mirror too.
    must(
        &a,
        "deleteObjectsByQuery",
        json!([class, {}, {"owningId": "roleA", "relatedId": "u1"}]),
    )
    .await;
    let roles_of_u1 = must(&a, "find", json!([class, {}, {"relatedId": "u1"}, {}])).await;
    assert_eq!(ids(roles_of_u1, "owningId"), vec!["roleB"]);
    assert_eq!(must(&a, "count", json!([class, {}, {}])).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_serve_equality_in_and_case_insensitive_lookups() {
    let a = common::adapter().await;
    for i in 0..40 {
        let obj = json!({"objectId": format!("o{i}"), "name": format!("Name{}", i % 10), "n": i % 4, "tags": [format!("t{}", i % 3)],
            "owner": {"__type": "Pointer", "className": "_User", "objectId": format!("u{}", i % 5)}});
        must(&a, "createObject", json!(["Thing", {}, obj])).await;
    }
    // Indexed after the data exists: the first registration indexes what is stored.
    for (f, ci) in [
        ("name", true),
        ("n", false),
        ("owner", false),
        ("tags", false),
    ] {
        must(&a, "ensureIndex", json!(["Thing", {}, [f], null, ci])).await;
    }
    let count = |q: Value| {
        let a = &a;
        async move { must(a, "count", json!(["Thing", {}, q])).await }
    };
    assert_eq!(count(json!({"n": 2})).await, 10);
    assert_eq!(count(json!({"n": 2.0})).await, 10, "numbers by value");
    assert_eq!(count(json!({"n": {"$in": [1, 3]}})).await, 20);
    assert_eq!(
        count(json!({"tags": "t1"})).await,
        13,
        "arrays: one entry per element"
    );
    assert_eq!(
        count(json!({"owner": {"__type": "Pointer", "className": "_User", "objectId": "u3"}}))
            .await,
        8
    );
    assert_eq!(
        count(json!({"owner": "u3"})).await,
        8,
        "pointer by objectId"
    );
    let ci = must(
        &a,
        "find",
        json!(["Thing", {}, {"name": "NAME7"}, {"caseInsensitive": true}]),
    )
    .await;
    assert_eq!(ci.as_array().unwrap().len(), 4);
    let plan = must(
        &a,
        "explain",
        json!(["Thing", {}, {"n": 2}, {"explain": "queryPlanner"}]),
    )
    .await;
    assert_eq!(plan["queryPlanner"]["access"]["via"], "index n");
    // Entries follow updates and deletes.
    must(&a, "findOneAndUpdate", json!(["Thing", {}, {"objectId": "o2"}, {"n": 3, "tags": {"__op": "Add", "objects": ["t9"]}}])).await;
    assert_eq!(count(json!({"n": 2})).await, 9);
    assert_eq!(count(json!({"tags": "t9"})).await, 1);
    must(&a, "deleteObjectsByQuery", json!(["Thing", {}, {"n": 3}])).await;
    assert_eq!(count(json!({"n": 3})).await, 0);
    assert_eq!(count(json!({"tags": "t9"})).await, 0);
    // New objects are indexed as they are written, also in transactions.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "createObject",
        json!(["Thing", {}, {"objectId": "new", "n": 3, "name": "Fresh"}, s]),
    )
    .await;
    must(&a, "commitTransactionalSession", json!([s])).await;
    assert_eq!(count(json!({"n": 3})).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_serve_ranges_prefixes_and_sorted_pages() {
    let a = common::adapter().await;
    let n = 600;
    let mut batch = Vec::new();
    for i in 0..n {
        let obj = json!({"objectId": format!("s{i:04}"), "score": (i * 7919) % n, "name": format!("player{:03}", i % 1000),
            "at": {"__type": "Date", "iso": format!("2026-01-01T00:{:02}:{:02}.000Z", (i / 60) % 60, i % 60)}});
        batch.push(c(&a, "createObject", json!(["Score", {}, obj])));
        if batch.len() == 50 {
            for r in in_turn(std::mem::take(&mut batch)).await {
                r.unwrap();
            }
        }
    }
    for f in ["score", "name", "at"] {
        must(&a, "ensureIndex", json!(["Score", {}, [f], null, false])).await;
    }
    let logs = a.log().drain();
    assert!(
        logs.iter().any(|r| r
            .message
            .contains("indexing Score.score: done, 600 objects")),
        "back-fill logged: {logs:?}"
    );
    let find = |q: Value, o: Value| {
        let a = &a;
        async move {
            let rows = must(a, "find", json!(["Score", {}, q, o])).await;
            rows.as_array()
                .unwrap()
                .iter()
                .map(|r| r["score"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };
    let reads = |a: &Adapter| a.store().usage();
    // Top 5 by score, descending: read from the index's end, not the 600 objects.
    let before = reads(&a);
    assert_eq!(
        find(json!({}), json!({"sort": {"score": -1}, "limit": 5})).await,
        vec![599, 598, 597, 596, 595]
    );
    let after = reads(&a);
    let got = |op: &str, u: &parse_server_dynamodb::store::Usage| {
        u.operations.get(op).map(|o| o.requests).unwrap_or(0)
    };
    // One Query of the index; and, when this test has run longer than the count's freshness
    // (adapter/stats.rs `FRESH`, 30 s: a loaded machine), the class's background count read.
    let queries = got("Query", &after) - got("Query", &before);
    assert!((1..=2).contains(&queries), "{queries} Queries");
    assert!(
        after.read_units - before.read_units < 10.0,
        "read {} units",
        after.read_units - before.read_units
    );
    // A deep skip: the skipped rows are read (an entry alone cannot tell whether its object
    // still sorts there; see `query/exec/in_order.rs`), so the planner reads the cheaper of the
    // index's first 503 objects and the class partition (600 small objects in a few pages).
    let before = reads(&a);
    assert_eq!(
        find(
            json!({}),
            json!({"sort": {"score": 1}, "skip": 500, "limit": 3})
        )
        .await,
        vec![500, 501, 502]
    );
    let after = reads(&a);
    assert!(
        after.read_units - before.read_units < 25.0,
        "skip 500 read {} units",
        after.read_units - before.read_units
    );
    // Ranges, with other conditions checked by the evaluator, sorted by the ranged field.
    assert_eq!(
        find(
            json!({"score": {"$gte": 100, "$lt": 104}, "name": {"$ne": "x"}}),
            json!({"sort": {"score": 1}, "limit": 10})
        )
        .await,
        vec![100, 101, 102, 103]
    );
    let plan = must(&a,
        "explain",
        json!(["Score", {}, {"score": {"$gt": 590}}, {"sort": {"score": -1}, "limit": 3, "explain": "queryPlanner"}]),
    ).await;
    assert_eq!(
        plan["queryPlanner"]["access"]["partition"],
        "~i:Score:score"
    );
    assert_eq!(plan["queryPlanner"]["access"]["scanIndexForward"], false);
    // Unsorted ranges and prefixes are index range reads too.
    let count = |q: Value| {
        let a = &a;
        async move { must(a, "count", json!(["Score", {}, q])).await }
    };
    let before = reads(&a);
    assert_eq!(count(json!({"score": {"$lt": 10}})).await, 10);
    assert_eq!(count(json!({"name": {"$regex": "^player01"}})).await, 10);
    assert_eq!(
        count(json!({"at": {"$gte": {"__type": "Date", "iso": "2026-01-01T00:09:50.000Z"}}})).await,
        10
    );
    let after = reads(&a);
    assert!(
        after.read_units - before.read_units < 60.0,
        "three small ranges read {} units",
        after.read_units - before.read_units
    );
    // Dropping the index deletes its entries; queries still answer, from the partition.
    assert_eq!(
        must(&a, "dropIndex", json!(["Score", "score"])).await,
        json!(true)
    );
    assert!(!a.store().any("~i:Score:score").await.unwrap());
    assert_eq!(
        find(json!({}), json!({"sort": {"score": -1}, "limit": 2})).await,
        vec![599, 598]
    );
    let names: Vec<Value> = common::index_names(&a, "Score").await;
    assert!(!names.contains(&json!("score_kept")), "{names:?}");
    assert!(names.contains(&json!("name_kept")), "{names:?}");
}

async fn in_turn<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    for f in fs {
        out.push(f.await);
    }
    out
}

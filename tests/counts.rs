//! Object counts against dynoxide: `count` with an empty query is one small Query at any class
//! size and stays exact through creates, deletes, upserts, transactional sessions, parallel
//! writers, a class whose objects predate its counters, and deleting the class.

mod common;

use aws_sdk_dynamodb::types::AttributeValue::S;
use common::must;

use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::api::call;
use serde_json::{json, Value};
use std::sync::Arc;

/// The empty count of `class`, and the read units it cost.
async fn count(a: &Adapter, class: &str) -> (u64, f64) {
    let before = a.store().usage().read_units;
    let n = must(a, "count", json!([class, {}, {}])).await;
    (
        n.as_u64().expect("a count"),
        a.store().usage().read_units - before,
    )
}

/// The count by reading every object (what the counters must agree with).
async fn real(a: &Adapter, class: &str) -> u64 {
    must(
        a,
        "count",
        json!([class, {}, {"objectId": {"$exists": true}}]),
    )
    .await
    .as_u64()
    .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_counts_are_one_small_query_and_exact() {
    let a = Arc::new(common::adapter().await);
    assert_eq!(count(&a, "Thing").await.0, 0);
    // 50 parallel creates.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            must(
                &a,
                "createObject",
                json!(["Thing", {}, {"objectId": format!("t{i:03}"), "n": i, "pad": "x".repeat(250)}]),
            )
            .await;
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let (n, units) = count(&a, "Thing").await;
    assert_eq!(n, 50);
    assert!(units <= 2.0, "an empty count read {units} units");
    // A duplicate create counts nothing; deletes, upserts and updates count as they change.
    assert!(call(
        &a,
        "createObject",
        json!(["Thing", {}, {"objectId": "t001"}])
            .as_array()
            .unwrap()
    )
    .await
    .is_err());
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Thing", {}, {"n": {"$lt": 10}}]),
    )
    .await;
    must(
        &a,
        "upsertOneObject",
        json!(["Thing", {}, {"objectId": "new1"}, {"n": 100}]),
    )
    .await;
    must(
        &a,
        "upsertOneObject",
        json!(["Thing", {}, {"objectId": "new1"}, {"n": 101}]),
    )
    .await;
    must(
        &a,
        "updateObjectsByQuery",
        json!(["Thing", {}, {"n": {"$gte": 40}}, {"n": 0}]),
    )
    .await;
    assert_eq!(count(&a, "Thing").await.0, 41);
    assert_eq!(real(&a, "Thing").await, 41);
    // A transactional session counts what it commits, and nothing when it fails.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "createObject",
        json!(["Thing", {}, {"objectId": "s1"}, s]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Thing", {}, {"objectId": "s2"}, s]),
    )
    .await;
    must(
        &a,
        "updateObjectsByQuery",
        json!(["Thing", {}, {"objectId": "t021"}, {"n": 7}, s]),
    )
    .await;
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Thing", {}, {"objectId": "t020"}, s]),
    )
    .await;
    must(&a, "commitTransactionalSession", json!([s])).await;
    assert_eq!(count(&a, "Thing").await.0, 42);
    let s = must(&a, "createTransactionalSession", json!([])).await;
    must(
        &a,
        "createObject",
        json!(["Thing", {}, {"objectId": "s3"}, s]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Thing", {}, {"objectId": "t030"}, s]),
    )
    .await;
    let failed = call(
        &a,
        "commitTransactionalSession",
        json!([s]).as_array().unwrap(),
    )
    .await;
    assert!(failed.is_err(), "t030 exists: the transaction fails");
    assert_eq!(count(&a, "Thing").await.0, 42);
    assert_eq!(real(&a, "Thing").await, 42);
    // Deleting the class resets its count.
    must(&a, "deleteClass", json!(["Thing"])).await;
    assert_eq!(count(&a, "Thing").await.0, 0);
    must(
        &a,
        "createObject",
        json!(["Thing", {}, {"objectId": "again"}]),
    )
    .await;
    assert_eq!(count(&a, "Thing").await.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_older_than_the_counters_are_counted_once() {
    let a = common::adapter().await;
    for i in 0..120 {
        must(
            &a,
            "createObject",
            json!(["Old", {}, {"objectId": format!("o{i:03}"), "pad": "x".repeat(300)}]),
        )
        .await;
    }
    // As a table written before counters existed: no counter items.
    let keys = a.store().partition_keys("~c:Old").await.unwrap();
    assert!(!keys.is_empty());
    a.store().batch_delete(&keys).await.unwrap();
    // The first count reads the class once and sets the base…
    let (n, first) = count(&a, "Old").await;
    assert_eq!(n, 120);
    // …later ones read the counters only, and follow the writes.
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Old", {}, {"objectId": "o007"}]),
    )
    .await;
    must(&a, "createObject", json!(["Old", {}, {"objectId": "p1"}])).await;
    must(&a, "createObject", json!(["Old", {}, {"objectId": "p2"}])).await;
    let (n, later) = count(&a, "Old").await;
    assert_eq!(n, 121);
    assert!(
        later <= 2.0 && first > 5.0,
        "first count {first} units, later {later}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_through_an_index_reads_the_objects_it_counts() {
    let a = common::adapter().await;
    let fields =
        json!({"category": {"type": "String"}, "tags": {"type": "Array"}, "n": {"type": "Number"}});
    let schema = json!({"fields": fields, "indexes": {"by_category": {"category": 1}, "by_tags": {"tags": 1}}});
    must(&a, "createClass", json!(["Doc", schema])).await;
    for i in 0..90 {
        let obj = json!({"objectId": format!("d{i:02}"), "category": format!("c{}", i % 3),
            "tags": [format!("t{}", i % 3), "all"], "n": i, "pad": "x".repeat(1500)});
        must(&a, "createObject", json!(["Doc", {}, obj])).await;
    }
    let count = |q: Value| {
        let a = &a;
        let schema = json!({"fields": fields.clone()});
        async move {
            let before = a.store().usage().read_units;
            let n = must(a, "count", json!(["Doc", schema, q])).await;
            (n.as_u64().unwrap(), a.store().usage().read_units - before)
        }
    };
    // One equality on an indexed field: the index range, and the 30 objects it names (entries
    // alone could count one a write cut off left, see `write`), not the 90 of the class.
    let (n, units) = count(json!({"category": "c1"})).await;
    assert_eq!(n, 30);
    assert!(
        (30.0..=34.0).contains(&units),
        "counting 30 objects read {units} units"
    );
    // An entry of an object that does not exist (a create cut off after its entries) counts
    // nothing.
    let obj = json!({"category": "c1"});
    let e = parse_server_dynamodb::layout::index::entries(
        obj.as_object().unwrap(),
        "category",
        "ghost",
    )
    .remove(0);
    let item = std::collections::HashMap::from([
        (
            "_pk_className".to_string(),
            S(parse_server_dynamodb::layout::entry_pk(
                "Doc", "category", "ghost",
            )),
        ),
        ("_sk_id".to_string(), S(e.sk)),
        ("key".to_string(), S("ghost".into())),
    ]);
    a.store().put(item, None).await.unwrap();
    assert_eq!(count(json!({"category": "c1"})).await.0, 30);
    // An array field, or more conditions: the objects are read and checked.
    let (n, units) = count(json!({"tags": "t1"})).await;
    assert_eq!(n, 30);
    assert!(units >= 30.0, "{units}");
    let (n, _) = count(json!({"category": "c1", "n": {"$lt": 45}})).await;
    assert_eq!(n, 15);
    // Moved and deleted objects are counted where they are now.
    must(
        &a,
        "updateObjectsByQuery",
        json!(["Doc", {}, {"objectId": "d01"}, {"category": "c2"}]),
    )
    .await;
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Doc", {}, {"objectId": "d04"}]),
    )
    .await;
    assert_eq!(count(json!({"category": "c1"})).await.0, 28);
    assert_eq!(count(json!({"category": "c2"})).await.0, 31);
}

/// Who may read object `i` of the counted class: one in ten is private.
fn rperm(i: usize) -> Value {
    if i.is_multiple_of(10) {
        json!(["u1"])
    } else {
        json!(["*"])
    }
}

/// A count with conditions DynamoDB can evaluate exactly (equalities on fields the schema says
/// never hold arrays, `$in`, `$exists`, the ACL) is counted by DynamoDB: no item comes back.
/// Every count, exact or not, answers what the evaluator counts over the stored objects (a Date
/// equality included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_dynamodb_can_evaluate_send_no_items_and_all_counts_are_exact() {
    let a = common::adapter().await;
    let schema = json!({"fields": {
        "done": {"type": "Boolean"}, "kind": {"type": "String"}, "n": {"type": "Number"},
        "tags": {"type": "Array"}, "note": {"type": "String"}, "when": {"type": "Date"}}});
    for i in 0..120 {
        let kind = ["a", "b", "c", "d"][i % 4];
        let mut obj = json!({"objectId": format!("c{i:03}"), "done": i % 3 == 0,
            "kind": kind, "n": i % 7, "tags": [format!("t{}", i % 5), "all"],
            "_rperm": rperm(i)});
        obj["when"] =
            json!({"__type": "Date", "iso": format!("2026-01-0{}T00:00:00.000Z", 1 + i % 3)});
        if i % 6 == 0 {
            obj["note"] = json!(null);
        } else if i % 6 == 1 {
            obj["note"] = json!("x");
        }
        must(&a, "createObject", json!(["Task", schema, obj])).await;
    }
    let stored = must(&a, "find", json!(["Task", schema, {}, {}])).await;
    let stored = stored.as_array().expect("rows");
    assert_eq!(stored.len(), 120);
    let acl = json!({"$in": [null, "*"]});
    let cases = [
        (json!({"done": true}), true),
        (json!({"kind": {"$in": ["a", "c"]}, "_rperm": acl}), true),
        (json!({"n": 3, "done": false}), true),
        (json!({"note": null}), true),
        (json!({"note": {"$exists": false}}), true),
        (json!({"note": {"$in": [null, "x"]}}), true),
        (json!({"tags": {"$in": ["t1", "t2"]}}), true),
        // Missing, null and other values all pass `$ne` (Parse's push counts so).
        (json!({"note": {"$ne": "x"}}), true),
        (
            json!({"kind": {"$ne": "a"}, "note": {"$exists": true}}),
            true,
        ),
        (json!({"n": {"$ne": 3}, "done": {"$ne": true}}), true),
        // On an Array field `$ne` refuses arrays holding the value: read and evaluated.
        (json!({"tags": {"$ne": "t1"}}), false),
        // An equality on an Array field matches elements: read and evaluated.
        (json!({"tags": "t3"}), false),
        (json!({"n": {"$gte": 5}}), false),
        // A Date is stored in another form than the query's value: read and evaluated.
        (
            json!({"when": {"__type": "Date", "iso": "2026-01-02T00:00:00.000Z"}}),
            false,
        ),
    ];
    for (q, exact) in cases {
        let expr = parse_server_dynamodb::query::parse_query(&q, false).expect("query");
        let expected = stored
            .iter()
            .filter(|o| {
                // The stored form the evaluator sees (Parse JSON here has no ACL lists).
                let id = o["objectId"].as_str().unwrap();
                let i: usize = id[1..].parse().unwrap();
                let mut row = o.as_object().unwrap().clone();
                row.insert("_rperm".into(), rperm(i));
                parse_server_dynamodb::query::eval::matches(&expr, &row)
            })
            .count() as u64;
        let before = a.store().usage().items;
        let n = must(&a, "count", json!(["Task", schema, q])).await;
        let sent = a.store().usage().items - before;
        assert_eq!(n.as_u64(), Some(expected), "count of {q}");
        if exact {
            assert_eq!(sent, 0, "{q}: DynamoDB counted, no item came back");
        } else {
            assert!(sent >= expected, "{q}: read and evaluated ({sent} items)");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_whose_first_objects_raced_its_creation_is_counted_by_its_counters() {
    // Parse's first batch of saves of a new class: every save asks for the class, one creates
    // it, and the others' objects may land before the winner is done. They were counted in the
    // shards all the same: the new class's base is 0, and its count reads its counters only.
    let a = common::adapter().await;
    let body = "x".repeat(3000);
    for i in 0..20 {
        let obj = json!({"objectId": format!("r{i}"), "body": body});
        must(&a, "createObject", json!(["Raced", {}, obj])).await;
    }
    must(
        &a,
        "createClass",
        json!(["Raced", {"fields": {"body": {"type": "String"}}}]),
    )
    .await;
    for i in 20..30 {
        let obj = json!({"objectId": format!("r{i}"), "body": body});
        must(&a, "createObject", json!(["Raced", {}, obj])).await;
    }
    let (n, units) = count(&a, "Raced").await;
    assert_eq!(n, 30);
    assert!(
        units < 3.0,
        "its counters, not its 30 objects of 3 KB: {units} units"
    );
}

//! Index entries written outside the object's transaction (issue 33), against dynoxide: what a
//! write bills (one unit per item it changes), the fence that keeps a slow writer from
//! removing an entry a later revision put back, an indexed array far past a transaction's 100
//! items, and a create cut off after its entries, which no answer shows and `check` counts as
//! a leftover (removed by a fix once old enough to be no create under way).

mod common;

use aws_sdk_dynamodb::types::AttributeValue::{N, S};
use common::{c, ids, must};
use parse_server_dynamodb::codec::item_to_stored;
use parse_server_dynamodb::layout::{entry_pk, index, ENTRY_REV};
use parse_server_dynamodb::store::{Condition, Usage, Written};
use serde_json::json;

/// Write units (requests refused included, as AWS bills them) between two usages.
fn units(before: &Usage, after: &Usage) -> f64 {
    after.write_units - before.write_units
}

async fn indexed_class(a: &parse_server_dynamodb::adapter::Adapter, class: &str, fields: &[&str]) {
    let mut f = serde_json::Map::new();
    for name in fields {
        f.insert(name.to_string(), json!({"type": "String"}));
    }
    must(a, "createClass", json!([class, {"fields": f}])).await;
    for name in fields {
        must(a, "ensureIndex", json!([class, {}, [name], null, false])).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_bills_one_unit_per_item_it_changes() {
    let a = common::adapter().await;
    indexed_class(&a, "Three", &["a", "b", "c"]).await;
    must(
        &a,
        "createClass",
        json!(["Zero", {"fields": {"a": {"type": "String"}}}]),
    )
    .await;
    // Counters are written beside the answer: a count waits for those in flight (and bills
    // reads only), so each measure holds its write's counter too.
    let settle = |class: &'static str| {
        let a = &a;
        async move {
            must(a, "count", json!([class, {}, {}])).await;
        }
    };
    for (class, k) in [("Zero", 0.0), ("Three", 3.0)] {
        let u0 = a.store().usage();
        must(
            &a,
            "createObject",
            json!([class, {}, {"objectId": "x1", "a": "1", "b": "1", "c": "1"}]),
        )
        .await;
        settle(class).await;
        let u1 = a.store().usage();
        // The object, its k entries, its count's shard.
        assert_eq!(units(&u0, &u1), 1.0 + k + 1.0, "{class} create");
        must(
            &a,
            "updateObjectsByQuery",
            json!([class, {}, {"objectId": "x1"}, {"a": "2"}]),
        )
        .await;
        settle(class).await;
        let u2 = a.store().usage();
        // The object, and for a changed indexed value its new entry and the old one removed.
        let changed = if k > 0.0 { 2.0 } else { 0.0 };
        assert_eq!(units(&u1, &u2), 1.0 + changed, "{class} update");
        must(
            &a,
            "deleteObjectsByQuery",
            json!([class, {}, {"objectId": "x1"}]),
        )
        .await;
        settle(class).await;
        let u3 = a.store().usage();
        assert_eq!(units(&u2, &u3), 1.0 + k + 1.0, "{class} delete");
        // Nothing kept is a transaction now.
        let tx = |u: &Usage| {
            u.operations
                .get("TransactWriteItems")
                .map_or(0, |o| o.requests)
        };
        assert_eq!(tx(&u3), tx(&u0), "{class}: no transaction");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_writers_removal_never_takes_an_entry_a_later_revision_put_back() {
    let a = common::adapter().await;
    indexed_class(&a, "Flip", &["v"]).await;
    must(
        &a,
        "createObject",
        json!(["Flip", {}, {"objectId": "f1", "v": "a"}]),
    )
    .await;
    let store = a.store();
    let rev = |item| item_to_stored(&item).unwrap().rev;
    let r0 = rev(store.get("Flip", "f1").await.unwrap().unwrap());
    // Writer 1 moves v from a to b; writer 2 moves it back before writer 1's removal of a's
    // entry lands. That removal, fenced at writer 1's base revision, is refused.
    must(
        &a,
        "updateObjectsByQuery",
        json!(["Flip", {}, {"objectId": "f1"}, {"v": "b"}]),
    )
    .await;
    must(
        &a,
        "updateObjectsByQuery",
        json!(["Flip", {}, {"objectId": "f1"}, {"v": "a"}]),
    )
    .await;
    let obj = json!({"v": "a"});
    let entry = index::entries(obj.as_object().unwrap(), "v", "f1").remove(0);
    let late = store
        .delete(
            &entry_pk("Flip", "v", "f1"),
            &entry.sk,
            Some(Condition::at_most(ENTRY_REV, r0)),
        )
        .await
        .unwrap();
    assert_eq!(
        late,
        Written::ConditionFailed(0),
        "the late removal is refused"
    );
    assert_eq!(
        ids(&must(&a, "find", json!(["Flip", {}, {"v": "a"}, {}])).await),
        ["f1"]
    );
    // Without the fence the entry would be gone, and the object lost to the index.
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");

    // Many writers flipping one object at once: whatever it ends at, the index finds it there,
    // and nothing is missing.
    let flips = (0..24).map(|i| {
        let a = &a;
        async move {
            let v = if i % 2 == 0 { "b" } else { "a" };
            c(
                a,
                "updateObjectsByQuery",
                json!(["Flip", {}, {"objectId": "f1"}, {"v": v}]),
            )
            .await
        }
    });
    for r in futures::future::join_all(flips).await {
        r.unwrap();
    }
    let now = must(&a, "find", json!(["Flip", {}, {"objectId": "f1"}, {}])).await;
    let v = now[0]["v"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&must(&a, "find", json!(["Flip", {}, {"v": v}, {}])).await),
        ["f1"]
    );
    let other = if v == "a" { "b" } else { "a" };
    assert!(ids(&must(&a, "find", json!(["Flip", {}, {"v": other}, {}])).await).is_empty());
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indexed_array_of_500_distinct_values_saves_and_is_found_by_each() {
    let a = common::adapter().await;
    must(
        &a,
        "createClass",
        json!(["Tagged", {"fields": {"tags": {"type": "Array"}}}]),
    )
    .await;
    must(
        &a,
        "ensureIndex",
        json!(["Tagged", {}, ["tags"], null, false]),
    )
    .await;
    let tags: Vec<String> = (0..500).map(|i| format!("tag{i:03}")).collect();
    must(
        &a,
        "createObject",
        json!(["Tagged", {}, {"objectId": "t1", "tags": tags}]),
    )
    .await;
    must(
        &a,
        "createObject",
        json!(["Tagged", {}, {"objectId": "t2", "tags": ["tag007"]}]),
    )
    .await;
    let finds = tags.iter().map(|t| {
        let a = &a;
        async move {
            (
                t.clone(),
                must(
                    a,
                    "find",
                    json!(["Tagged", {}, {"tags": t}, {"keys": ["objectId"]}]),
                )
                .await,
            )
        }
    });
    for (t, rows) in futures::future::join_all(finds).await {
        let want: Vec<&str> = if t == "tag007" {
            vec!["t1", "t2"]
        } else {
            vec!["t1"]
        };
        assert_eq!(ids(&rows), want, "{t}");
    }
    // Changing half the elements writes only what changed; each is found where it is now.
    let half: Vec<String> = (250..750).map(|i| format!("tag{i:03}")).collect();
    must(
        &a,
        "updateObjectsByQuery",
        json!(["Tagged", {}, {"objectId": "t1"}, {"tags": half}]),
    )
    .await;
    assert!(ids(&must(&a, "find", json!(["Tagged", {}, {"tags": "tag100"}, {}])).await).is_empty());
    assert_eq!(
        ids(&must(&a, "find", json!(["Tagged", {}, {"tags": "tag700"}, {}])).await),
        ["t1"]
    );
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(report["leftovers"], json!([]), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_cut_off_after_its_entries_leaves_nothing_an_answer_shows() {
    let a = common::adapter().await;
    indexed_class(&a, "Cut", &["v"]).await;
    must(
        &a,
        "createObject",
        json!(["Cut", {}, {"objectId": "c1", "v": "m"}]),
    )
    .await;
    let store = a.store();
    // What a create killed between its entries and its object leaves: entries of "c0", which
    // does not exist; one just written (a create may still be under way), one from long ago.
    let now_rev = {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        ms * 1024
    };
    for (key, value, rev) in [("c0", "m", now_rev), ("c9", "a", 1)] {
        let obj = json!({"v": value});
        let e = index::entries(obj.as_object().unwrap(), "v", key).remove(0);
        let mut item = std::collections::HashMap::from([
            ("_pk_className".to_string(), S(entry_pk("Cut", "v", key))),
            ("_sk_id".to_string(), S(e.sk.clone())),
            ("key".to_string(), S(key.into())),
            (ENTRY_REV.to_string(), N(rev.to_string())),
        ]);
        if e.ord.is_some() {
            item.insert("ord".into(), S("e".into()));
        }
        store.put(item, None).await.unwrap();
    }
    // No answer shows them: equality, sorted pages (with skip), counts.
    assert_eq!(
        ids(&must(&a, "find", json!(["Cut", {}, {"v": "m"}, {}])).await),
        ["c1"]
    );
    let sorted = must(
        &a,
        "find",
        json!(["Cut", {}, {}, {"sort": {"v": 1}, "limit": 5}]),
    )
    .await;
    assert_eq!(ids(&sorted), ["c1"]);
    let skipped = must(
        &a,
        "find",
        json!(["Cut", {}, {}, {"sort": {"v": 1}, "skip": 1, "limit": 5}]),
    )
    .await;
    assert_eq!(ids(&skipped), Vec::<String>::new());
    assert_eq!(
        must(&a, "count", json!(["Cut", {}, {"v": "m"}])).await,
        json!(1)
    );
    // `check` counts them as leftovers, not problems; a fix removes the old one only.
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
    let mut kinds = common::leftover_kinds(&report);
    kinds.sort();
    assert_eq!(
        kinds,
        ["index-entry-underway", "stale-index-entry"],
        "{report}"
    );
    must(&a, "check", json!([true])).await;
    let after = must(&a, "check", json!([false])).await;
    let left: Vec<&str> = after["leftovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["index-entry-underway"], "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relation_row_and_its_mirror_are_written_beside_each_other_at_their_floor() {
    let a = common::adapter().await;
    let join = "_Join:roles:_User";
    // A count waits for the counter updates in flight (see the test above).
    let settle = || async {
        must(&a, "count", json!([join, {}, {}])).await;
    };
    let row = |o: &str, r: &str| json!({"owningId": o, "relatedId": r});
    must(&a, "createObject", json!([join, {}, row("u0", "r0")])).await;
    settle().await;
    let u0 = a.store().usage();
    must(&a, "createObject", json!([join, {}, row("u1", "r1")])).await;
    settle().await;
    let u1 = a.store().usage();
    // The row, its mirror, its count's shard; no transaction.
    assert_eq!(units(&u0, &u1), 3.0);
    must(
        &a,
        "deleteObjectsByQuery",
        json!([join, {}, row("u1", "r1")]),
    )
    .await;
    settle().await;
    let u2 = a.store().usage();
    assert_eq!(units(&u1, &u2), 3.0);
    let tx = |u: &Usage| {
        u.operations
            .get("TransactWriteItems")
            .map_or(0, |o| o.requests)
    };
    assert_eq!(tx(&u2), tx(&u0));
    // Added again, removed again, added again: the mirror follows, and the role walk finds
    // what is there.
    for _ in 0..2 {
        must(&a, "createObject", json!([join, {}, row("u1", "r1")])).await;
        must(
            &a,
            "deleteObjectsByQuery",
            json!([join, {}, row("u1", "r1")]),
        )
        .await;
    }
    must(&a, "createObject", json!([join, {}, row("u1", "r1")])).await;
    let of_r1 = must(&a, "find", json!([join, {}, {"relatedId": "r1"}, {}])).await;
    assert_eq!(of_r1, json!([{"owningId": "u1", "relatedId": "r1"}]));
    // A mirror whose row was never written (a create cut off after it) names no answer.
    let ghost = parse_server_dynamodb::layout::join_mirror(
        join,
        "u9:r1",
        row("u9", "r1").as_object().unwrap(),
        Some(1),
    )
    .unwrap();
    a.store().put(ghost, None).await.unwrap();
    let of_r1 = must(&a, "find", json!([join, {}, {"relatedId": "r1"}, {}])).await;
    assert_eq!(of_r1, json!([{"owningId": "u1", "relatedId": "r1"}]));
    let report = must(&a, "check", json!([true])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
    let kinds: Vec<&str> = report["leftovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["orphaned-mirror"], "{report}");
    assert_eq!(report["leftovers"][0]["fixed"], true, "{report}");
}

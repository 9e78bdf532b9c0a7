//! The consistency check against dynoxide: a table damaged on purpose (a user's object deleted
//! but not its username, so the name can never sign up again; a sentinel lost; index entries
//! deleted, so an indexed query misses an object; a stale entry; relation mirrors lost and
//! orphaned; two objects sharing a unique value; items of a class that is gone) is reported
//! kind by kind; `fix` repairs all but the duplicate (a decision for a person) and a second
//! check finds nothing else.

mod common;

use aws_sdk_dynamodb::types::AttributeValue::S;
use common::{c, must};
use parse_server_dynamodb::codec::{object_to_item, SK};
use parse_server_dynamodb::error::code;
use parse_server_dynamodb::layout::{index_pks, join_mirror_pk, sentinel_item, unique_pk};
use parse_server_dynamodb::store::Condition;
use serde_json::{json, Value};

fn kinds(report: &Value, fixed: Option<bool>) -> Vec<String> {
    listed(report, "problems", fixed)
}

/// The leftovers a report counts (index entries no answer shows), as `kinds` lists problems.
fn leftovers(report: &Value, fixed: Option<bool>) -> Vec<String> {
    listed(report, "leftovers", fixed)
}

fn listed(report: &Value, list: &str, fixed: Option<bool>) -> Vec<String> {
    let mut out: Vec<String> = report[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| fixed.is_none_or(|f| p["fixed"] == f))
        .map(|p| {
            format!(
                "{} {}",
                p["kind"].as_str().unwrap(),
                p["what"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_planted_damage_and_fix_repairs_it() {
    // A claim whose owner does not hold its value stands this long (a write under way), then
    // is a leftover the next claim takes over; short here, so the test sees both.
    const GRACE_MS: u64 = 3000;
    std::env::set_var("PSD_CLAIM_GRACE_MS", GRACE_MS.to_string());
    let a = common::adapter().await;
    let started = std::time::Instant::now();
    let users = json!({"fields": {"username": {"type": "String"}}});
    must(&a, "createClass", json!(["_User", users])).await;
    must(
        &a,
        "ensureUniqueness",
        json!(["_User", users, ["username"]]),
    )
    .await;
    for (id, name) in [("u1", "alice"), ("u2", "bob"), ("u3", "carol")] {
        must(
            &a,
            "createObject",
            json!(["_User", users, {"objectId": id, "username": name}]),
        )
        .await;
    }
    must(
        &a,
        "createClass",
        json!(["Item", {"fields": {"n": {"type": "Number"}}}]),
    )
    .await;
    must(&a, "ensureIndex", json!(["Item", {}, ["n"], "n_1", false])).await;
    for i in 0..5 {
        must(
            &a,
            "createObject",
            json!(["Item", {}, {"objectId": format!("i{i}"), "n": i}]),
        )
        .await;
    }
    let join = "_Join:members:Folder";
    for (o, r) in [("f1", "m1"), ("f1", "m2")] {
        must(
            &a,
            "createObject",
            json!([join, {}, {"owningId": o, "relatedId": r}]),
        )
        .await;
    }
    let clean = must(&a, "check", json!([false])).await;
    assert_eq!(kinds(&clean, None), Vec::<String>::new(), "{clean}");

    // Damage, each as a crash or a foreign tool could leave it.
    let store = a.store();
    // 1. alice's object gone, her username's claim left: the name is blocked while the claim
    // is young enough to be a write under way.
    store.delete("_User", "u1", None).await.unwrap();
    let e = c(
        &a,
        "createObject",
        json!(["_User", users, {"objectId": "u9", "username": "alice"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.code(),
        code::DUPLICATE_VALUE,
        "a young claim blocks the name"
    );
    // 2. bob's sentinel lost: another bob could be created.
    store
        .delete(&unique_pk("_User", "username"), "=bob", None)
        .await
        .unwrap();
    // 3. two objects sharing carol (written around the sentinels).
    let dup = object_to_item(
        "_User",
        "u4",
        1,
        json!({"username": "carol"}).as_object().unwrap(),
    )
    .unwrap();
    store.put(dup, Some(Condition::absent())).await.unwrap();
    // 4. Item i3's index entries deleted: the indexed query misses it.
    let mut entries = Vec::new();
    store
        .query(&index_pks("Item", "n")[0], None, |item| {
            if matches!(item.get("key"), Some(S(k)) if k == "i3") {
                if let Some(S(sk)) = item.get(SK) {
                    entries.push(sk.clone());
                }
            }
            Ok(true)
        })
        .await
        .unwrap();
    assert!(!entries.is_empty());
    for sk in &entries {
        store
            .delete(&index_pks("Item", "n")[0], sk, None)
            .await
            .unwrap();
    }
    let found = must(&a, "find", json!(["Item", {}, {"n": 3}, {}])).await;
    assert_eq!(found, json!([]), "the indexed query misses i3");
    // 5. a stale entry pointing at an object that does not exist.
    let stale = std::collections::HashMap::from([
        (
            "_pk_className".to_string(),
            S(index_pks("Item", "n").remove(0)),
        ),
        ("_sk_id".to_string(), S("zz-stale".into())),
        ("key".to_string(), S("ghost".into())),
    ]);
    store.put(stale, None).await.unwrap();
    // 6. a relation mirror lost, and one left for a row that is gone.
    store
        .delete(&join_mirror_pk(join), "m1:f1", None)
        .await
        .unwrap();
    store.delete(join, "f1:m2", None).await.unwrap();
    // 7. items kept for a class that no longer exists.
    store
        .put(sentinel_item("Gone", "email", "=x@y", "g1"), None)
        .await
        .unwrap();

    // Past the grace, alice's claim is no write under way: a leftover that blocks nothing.
    tokio::time::sleep(
        std::time::Duration::from_millis(GRACE_MS + 200).saturating_sub(started.elapsed()),
    )
    .await;
    let found = must(&a, "check", json!([false])).await;
    assert_eq!(
        kinds(&found, None),
        [
            "duplicate-unique username",
            "left-over ~u:Gone:email",
            "missing-index-entry n",
            "missing-mirror ~jr:_Join:members:Folder",
            "missing-sentinel username",
        ],
        "{found}"
    );
    assert_eq!(found["unfixed"], 5);
    // Leftovers no answer shows: the entry of no object (it names no revision: an old one), and
    // the mirror of the row deleted behind the adapter's back (written seconds ago: as far as a
    // check can tell, a row's create may still be under way, so it stays for 10 minutes).
    assert_eq!(
        leftovers(&found, Some(false)),
        [
            "mirror-underway ~jr:_Join:members:Folder",
            "orphaned-sentinel username",
            "stale-index-entry n"
        ],
        "{found}"
    );

    let fixed = must(&a, "check", json!([true])).await;
    assert_eq!(
        kinds(&fixed, Some(false)),
        ["duplicate-unique username"],
        "{fixed}"
    );
    assert_eq!(
        leftovers(&fixed, Some(true)),
        ["orphaned-sentinel username", "stale-index-entry n"],
        "{fixed}"
    );
    let again = must(&a, "check", json!([false])).await;
    assert_eq!(
        kinds(&again, None),
        ["duplicate-unique username"],
        "{again}"
    );
    assert_eq!(
        leftovers(&again, None),
        ["mirror-underway ~jr:_Join:members:Folder"],
        "{again}"
    );
    // The repairs are real: alice can sign up again, bob is held, the query finds i3.
    must(
        &a,
        "createObject",
        json!(["_User", users, {"objectId": "u9", "username": "alice"}]),
    )
    .await;
    let e = c(
        &a,
        "createObject",
        json!(["_User", users, {"objectId": "u8", "username": "bob"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), code::DUPLICATE_VALUE);
    let found = must(&a, "find", json!(["Item", {}, {"n": 3}, {}])).await;
    assert_eq!(found[0]["objectId"], "i3");
    // A person resolves the duplicate; then the table is clean.
    store.delete("_User", "u4", None).await.unwrap();
    let last = must(&a, "check", json!([false])).await;
    assert_eq!(kinds(&last, None), Vec::<String>::new(), "{last}");
}

/// A table written before entry texts were cut at `index::MAX_TEXT` (they were cut at 800
/// bytes): the entry of a 600-byte string holds its whole text, which an equality lookup no
/// longer reads. `check` reports it, and `fix` puts the object's entries right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_cut_the_old_way_are_reported_and_fixed() {
    let a = common::adapter().await;
    must(
        &a,
        "createClass",
        json!(["Text", {"fields": {"s": {"type": "String"}}}]),
    )
    .await;
    must(&a, "ensureIndex", json!(["Text", {}, ["s"], "s_1", false])).await;
    let long = "x".repeat(600);
    must(
        &a,
        "createObject",
        json!(["Text", {}, {"objectId": "t1", "s": long}]),
    )
    .await;
    let store = a.store();
    let pk = index_pks("Text", "s").remove(0);
    for (_, sk) in store.partition_keys(&pk).await.unwrap() {
        store.delete(&pk, &sk, None).await.unwrap();
    }
    let old = std::collections::HashMap::from([
        ("_pk_className".to_string(), S(pk.clone())),
        ("_sk_id".to_string(), S(format!("2{long}\u{1}\u{1}t1"))),
        ("key".to_string(), S("t1".into())),
        ("ord".to_string(), S("1".into())),
    ]);
    store.put(old, None).await.unwrap();
    let found = must(&a, "find", json!(["Text", {}, {"s": long}, {}])).await;
    assert_eq!(
        found,
        json!([]),
        "the old entry is not where a lookup reads"
    );
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(kinds(&report, None), ["missing-index-entry s"], "{report}");
    assert_eq!(
        leftovers(&report, None),
        ["stale-index-entry s"],
        "{report}"
    );
    must(&a, "check", json!([true])).await;
    let found = must(&a, "find", json!(["Text", {}, {"s": long}, {}])).await;
    assert_eq!(found[0]["objectId"], "t1");
    let again = must(&a, "check", json!([false])).await;
    assert_eq!(kinds(&again, None), Vec::<String>::new(), "{again}");
    assert_eq!(leftovers(&again, None), Vec::<String>::new(), "{again}");
}

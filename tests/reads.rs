//! Read consistency against dynoxide: a query whose read preference allows a secondary reads
//! eventually consistent (half the read units), as does the adapter's `readPreference` option
//! for the app's own classes; Parse's own classes and unknown preferences are not.

mod common;

use common::must;

use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::api::{call, config_from_json, options_from_json};
use serde_json::{json, Value};

/// The read units `method` costs with these arguments, and its answer.
async fn units(a: &Adapter, method: &str, args: Value) -> (f64, Value) {
    let before = a.store().usage().read_units;
    let out = must(a, method, args).await;
    (a.store().usage().read_units - before, out)
}

async fn fill(a: &Adapter, class: &str) {
    for i in 0..40 {
        let obj = json!({"objectId": format!("o{i:02}"), "n": i, "pad": "x".repeat(900)});
        must(a, "createObject", json!([class, {}, obj])).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secondary_reads_cost_half() {
    let a = common::adapter().await;
    fill(&a, "Item").await;
    let q = json!({"n": {"$gte": 0}});
    let (strong, rows) = units(&a, "find", json!(["Item", {}, q, {}])).await;
    let (eventual, same) = units(
        &a,
        "find",
        json!(["Item", {}, q, {"readPreference": "SECONDARY"}]),
    )
    .await;
    assert_eq!(rows, same);
    assert_eq!(rows.as_array().unwrap().len(), 40);
    assert!(strong >= 8.0, "a 40 KB partition read {strong} units");
    assert!(
        (eventual - strong / 2.0).abs() <= 1.0,
        "{eventual} vs {strong}"
    );
    let (primary, _) = units(
        &a,
        "find",
        json!(["Item", {}, q, {"readPreference": "primary"}]),
    )
    .await;
    assert_eq!(primary, strong);
    // Counts and aggregations take the preference too.
    let (c_strong, n) = units(&a, "count", json!(["Item", {}, q])).await;
    let (c_eventual, m) = units(&a, "count", json!(["Item", {}, q, "NEAREST"])).await;
    assert_eq!((n, m), (json!(40), json!(40)));
    assert!(c_eventual < c_strong);
    let pipeline = json!([{"$match": {"n": {"$lt": 100}}}, {"$count": "total"}]);
    let (g_strong, _) = units(&a, "aggregate", json!(["Item", {}, pipeline])).await;
    let (g_eventual, _) = units(
        &a,
        "aggregate",
        json!(["Item", {}, pipeline, "SECONDARY_PREFERRED"]),
    )
    .await;
    assert!(g_eventual < g_strong);
    // An unknown preference is Parse's INVALID_QUERY, as on MongoDB.
    let bad = call(
        &a,
        "find",
        json!(["Item", {}, q, {"readPreference": "FASTEST"}])
            .as_array()
            .unwrap(),
    )
    .await
    .expect_err("an unknown read preference is refused");
    assert_eq!(
        bad.code(),
        parse_server_dynamodb::error::code::INVALID_QUERY
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_option_sets_the_default_for_the_apps_classes() {
    let table = format!("t{}", common::rand_suffix());
    let json = json!({
        "table": table, "endpoint": common::endpoint(), "region": "us-east-1",
        "readPreference": "SECONDARY"
    });
    let cfg = config_from_json(&json).expect("config");
    let options = options_from_json(&json).expect("options");
    let a = Adapter::connect_with(cfg, options).await.expect("connect");
    fill(&a, "Item").await;
    fill(&a, "_User").await;
    let q = json!({"n": {"$gte": 0}});
    let (app_default, _) = units(&a, "find", json!(["Item", {}, q, {}])).await;
    let (app_primary, _) = units(
        &a,
        "find",
        json!(["Item", {}, q, {"readPreference": "PRIMARY"}]),
    )
    .await;
    assert!(
        (app_default - app_primary / 2.0).abs() <= 1.0,
        "{app_default} vs {app_primary}"
    );
    // Parse's own classes stay strongly consistent unless the query asks.
    let (users, _) = units(&a, "find", json!(["_User", {}, q, {}])).await;
    assert_eq!(users, app_primary);
    let bad = options_from_json(&json!({"table": "tbl", "readPreference": "SOMETIMES"}));
    assert!(bad.is_err());
    let bad = options_from_json(&json!({"table": "tbl", "autoIndex": "sometimes"}));
    assert!(bad.is_err());
}

/// The class partition is in objectId order: a page sorted by objectId (Parse's push and
/// `each` page through a class so) reads in that order and stops at the page, in pages sized
/// to it, instead of reading the class and sorting it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_sorted_by_object_id_reads_about_the_page() {
    let a = common::adapter().await;
    for i in 0..200 {
        let obj = json!({"objectId": format!("o{i:03}"), "n": i, "pad": "x".repeat(900)});
        must(&a, "createObject", json!(["Item", {}, obj])).await;
    }
    let all = json!({});
    let (whole, _) = units(&a, "find", json!(["Item", {}, all, {}])).await;
    assert!(whole >= 45.0, "the 200 KB class read {whole} units");
    let sorted = |skip: usize, ascending: bool| json!(["Item", {}, {"n": {"$gte": 3}}, {"skip": skip, "limit": 5, "sort": {"objectId": if ascending { 1 } else { -1 }}}]);
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["objectId"].as_str().unwrap().to_string())
            .collect()
    };
    let (first, page) = units(&a, "find", sorted(0, true)).await;
    assert_eq!(ids(&page), ["o003", "o004", "o005", "o006", "o007"]);
    assert!(
        first <= 6.0,
        "a page of 5 rows read {first} units (the class: {whole})"
    );
    let (later, page) = units(&a, "find", sorted(20, true)).await;
    assert_eq!(ids(&page), ["o023", "o024", "o025", "o026", "o027"]);
    assert!(
        later <= 15.0,
        "skip 20 read {later} units (the class: {whole})"
    );
    // Descending is not the key order: read and sorted, the same answer as before.
    let (_, page) = units(&a, "find", sorted(0, false)).await;
    assert_eq!(ids(&page), ["o199", "o198", "o197", "o196", "o195"]);
}

//! A sharded index against dynoxide: an index on a date that only grows is spread over 16
//! shard partitions (built beside the old one from the stored objects, which it then
//! replaces), and then answers sorted pages, ranges and equalities exactly as before, each
//! shard read once for a small page; creates, updates and deletes keep its entries in the
//! shard their object's key picks; `check` finds an entry planted in another shard and `fix`
//! removes it; dropping the index deletes every shard.

mod common;

use aws_sdk_dynamodb::types::AttributeValue::S;
use common::must;
use parse_server_dynamodb::layout::{entry_pk, index_pks};
use serde_json::{json, Value};

fn at(i: usize) -> Value {
    json!({"__type": "Date", "iso": format!("2026-01-01T00:{:02}:{:02}.000Z", i / 60, i % 60)})
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| o["objectId"].as_str().unwrap().to_string())
        .collect()
}

fn requests(v: &Value, op: &str) -> u64 {
    v["operations"][op]["requests"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_index_answers_as_the_plain_one_did() {
    // SAFETY: set before any registry is read, in this test binary's only test.
    unsafe { std::env::set_var("PSD_REGISTRY_TTL_MS", "300") };
    let a = common::adapter().await;
    let schema = json!({"fields": {"at": {"type": "Date"}, "n": {"type": "Number"}}});
    must(&a, "createClass", json!(["Event", schema])).await;
    a.ensure_index("Event", "at", false).await.unwrap();
    for i in 0..200 {
        let obj = json!({"objectId": format!("e{i:03}"), "at": at(i), "n": i % 7});
        must(&a, "createObject", json!(["Event", schema, obj])).await;
    }
    let newest = |limit: usize| json!(["Event", schema, {}, {"sort": {"at": -1}, "limit": limit}]);
    let before = ids(&must(&a, "find", newest(10)).await);
    assert_eq!(before[0], "e199");

    a.shard_index("Event", "at").await.unwrap();
    let kept = a.kept("Event").await.unwrap();
    assert_eq!(
        kept.indexes,
        ["at@16"],
        "the sharded twin replaced the index"
    );
    assert!(kept.building.is_empty());
    let store = a.store();
    let plain = store.partition_keys("~i:Event:at").await.unwrap();
    assert!(plain.is_empty(), "the old index's entries are gone");
    let mut per_shard = Vec::new();
    for pk in index_pks("Event", "at@16") {
        per_shard.push(store.partition_keys(&pk).await.unwrap().len());
    }
    // Each object has one entry (its order entry); random keys spread over all 16 shards.
    assert_eq!(per_shard.iter().sum::<usize>(), 200);
    assert!(per_shard.iter().all(|n| *n > 0), "{per_shard:?}");

    // A sorted page reads every shard once (one round trip) and only about its rows.
    let c0 = must(&a, "consumedCapacity", json!([])).await;
    let after = ids(&must(&a, "find", newest(10)).await);
    let c1 = must(&a, "consumedCapacity", json!([])).await;
    assert_eq!(after, before);
    let queries = requests(&c1, "Query") - requests(&c0, "Query");
    assert!(
        (16..=20).contains(&queries),
        "{queries} Queries for a page of 10"
    );
    let plan = must(
        &a,
        "explain",
        json!(["Event", schema, {}, {"sort": {"at": -1}, "limit": 10}, "queryPlanner"]),
    )
    .await;
    assert_eq!(plan["queryPlanner"]["access"]["shards"], 16, "{plan}");
    // Ascending, skipped, ranges and equalities answer as the objects say.
    let oldest = must(
        &a,
        "find",
        json!(["Event", schema, {}, {"sort": {"at": 1}, "skip": 5, "limit": 3}]),
    )
    .await;
    assert_eq!(ids(&oldest), ["e005", "e006", "e007"]);
    let range = json!({"at": {"$gte": at(50), "$lt": at(60)}});
    let found = must(
        &a,
        "find",
        json!(["Event", schema, range, {"sort": {"at": 1}}]),
    )
    .await;
    assert_eq!(
        ids(&found),
        (50..60).map(|i| format!("e{i:03}")).collect::<Vec<_>>()
    );
    let one = must(&a, "find", json!(["Event", schema, {"at": at(123)}, {}])).await;
    assert_eq!(ids(&one), ["e123"]);
    let count = must(&a, "count", json!(["Event", schema, {"at": at(123)}])).await;
    assert_eq!(count, 1);

    // Writes on the sharded layout: new objects, a moved date, a deleted object.
    for i in 200..220 {
        let obj = json!({"objectId": format!("e{i:03}"), "at": at(i)});
        must(&a, "createObject", json!(["Event", schema, obj])).await;
    }
    must(
        &a,
        "updateObjectsByQuery",
        json!(["Event", schema, {"objectId": "e003"}, {"at": at(500)}]),
    )
    .await;
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Event", schema, {"objectId": "e219"}]),
    )
    .await;
    let top = ids(&must(&a, "find", newest(3)).await);
    assert_eq!(top, ["e003", "e218", "e217"]);
    let report = a.check(false).await.unwrap().to_json();
    assert_eq!(report["problems"], json!([]), "{report}");

    // An entry in a shard its key does not pick is found, and fixed.
    let wrong = index_pks("Event", "at@16")
        .into_iter()
        .find(|pk| *pk != entry_pk("Event", "at@16", "e010"))
        .unwrap();
    let mut planted = None;
    store
        .query(&entry_pk("Event", "at@16", "e010"), None, |item| {
            if item.get("key") == Some(&S("e010".into())) {
                planted = Some(item);
            }
            Ok(true)
        })
        .await
        .unwrap();
    let mut planted = planted.expect("e010's entry");
    planted.insert("_pk_className".into(), S(wrong));
    store.put(planted, None).await.unwrap();
    let report = a.check(false).await.unwrap().to_json();
    let kinds: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["misplaced-index-entry"], "{report}");
    a.check(true).await.unwrap();
    let report = a.check(false).await.unwrap().to_json();
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(ids(&must(&a, "find", newest(200)).await).len(), 200);

    // Parse sees one index; dropping it deletes every shard.
    let listed = a.get_indexes("Event").await.unwrap();
    let kept_ix: Vec<&Value> = listed.iter().filter(|ix| ix["name"] == "at_kept").collect();
    assert_eq!(kept_ix.len(), 1, "{listed:?}");
    assert_eq!(kept_ix[0]["shards"], 16);
    assert!(a.drop_index("Event", "at").await.unwrap());
    assert!(a.kept("Event").await.unwrap().indexes.is_empty());
    for pk in index_pks("Event", "at@16") {
        assert!(store.partition_keys(&pk).await.unwrap().is_empty());
    }
    assert_eq!(ids(&must(&a, "find", newest(3)).await), top);
}

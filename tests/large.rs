//! Objects over DynamoDB's 400 KB item, up to 16 MB (`store::chunks`), against dynoxide: every
//! read path answers them whole (a get, a filter on a field in the head and on one in the
//! chunks, a count, an index), updates in place touch the head alone, other updates write a new
//! version and remove the old one, a delete leaves no chunk, a transaction is all-or-nothing,
//! 16 MB + 1 byte is refused with nothing written, readers beside a writer never see two
//! versions mixed, and `check --fix` removes the chunks of a write cut off.

mod common;

use common::{c, leftover_kinds, must};
use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::error::code;
use parse_server_dynamodb::store::chunks::CHUNK_PARTITION;
use serde_json::{json, Value};

const MB: usize = 1024 * 1024;

fn schema() -> Value {
    json!({"fields": {"tag": {"type": "String"}, "blob": {"type": "String"}, "list": {"type": "Array"}, "n": {"type": "Number"}}})
}

/// The chunk items in the table.
async fn chunks(a: &Adapter) -> usize {
    let keys = a.store().scan_keys().await.expect("scan");
    keys.iter()
        .filter(|(pk, _)| pk.starts_with(CHUNK_PARTITION))
        .count()
}

async fn find(a: &Adapter, query: Value) -> Vec<Value> {
    must(a, "find", json!(["Big", schema(), query, {}]))
        .await
        .as_array()
        .expect("rows")
        .clone()
}

/// Text deflate shrinks to about three quarters, as it does random ids or encoded bytes:
/// pseudo-random letters and digits, the same for the same seed.
fn noise(n: usize, seed: u64) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ABC[(x % 64) as usize] as char
        })
        .collect()
}

/// The `i`th id of the list of version `v`.
fn list_id(v: &str, i: usize) -> String {
    format!(
        "{v}{}",
        noise(1000, u64::from(v.as_bytes()[0]) * 100_000 + i as u64)
    )
}

/// An object of about `mb` megabytes: a long text and a long list, both of version `v` (they
/// start with it, and the rest is the version's own).
fn object(id: &str, tag: &str, mb: usize, v: &str) -> Value {
    let list: Vec<String> = (0..mb * 1024 / 2).map(|i| list_id(v, i)).collect();
    let blob = format!("{v}{}", noise(mb * MB / 2 - 1, u64::from(v.as_bytes()[0])));
    json!({"objectId": id, "tag": tag, "n": 1, "blob": blob, "list": list})
}

/// Writes `objects` to the class `Big`, in this order (in transactional session `session`).
async fn big(a: &Adapter, objects: &[Value], session: Option<&Value>) {
    for o in objects {
        let mut args = json!(["Big", schema(), o]);
        if let Some(s) = session {
            args.as_array_mut().unwrap().push(s.clone());
        }
        must(a, "createObject", args).await;
    }
}

/// A fresh adapter with the class `Big`.
async fn with_class() -> Adapter {
    let a = common::adapter().await;
    must(&a, "performInitialization", json!([])).await;
    must(&a, "createClass", json!(["Big", schema()])).await;
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_objects_read_update_query_and_delete_whole() {
    let a = with_class().await;
    let small = json!({"objectId": "small", "tag": "a", "n": 1, "blob": "A"});
    let objects = [
        object("one", "a", 1, "A"),
        object("five", "b", 5, "B"),
        small,
    ];
    big(&a, &objects, None).await;
    // Deflated to about three quarters: 2 and 10 chunks of 400,000 bytes (3 and 13 as they are).
    assert_eq!(chunks(&a).await, 2 + 10);

    // By key, and by a field the head holds.
    let got = find(&a, json!({"objectId": "five"})).await;
    assert_eq!(got[0]["blob"].as_str().unwrap().len(), 5 * MB / 2);
    assert_eq!(got[0]["list"].as_array().unwrap().len(), 5 * 1024 / 2);

    let want = object("five", "b", 5, "B");
    assert_eq!(got[0]["blob"], want["blob"]);
    assert_eq!(got[0]["list"], want["list"]);
    let mut tagged: Vec<String> = find(&a, json!({"tag": "a"}))
        .await
        .iter()
        .map(|o| o["objectId"].as_str().unwrap().to_string())
        .collect();
    tagged.sort();
    assert_eq!(tagged, ["one", "small"]);
    // By a field in the chunks: the filter lets their heads through, judged whole.
    let one_blob = object("one", "a", 1, "A")["blob"].clone();
    let by_blob = find(&a, json!({"blob": one_blob})).await;
    assert_eq!(by_blob.len(), 1);
    assert_eq!(by_blob[0]["objectId"], "one");
    let in_list = find(&a, json!({"list": list_id("B", 7)})).await;
    assert_eq!(in_list.len(), 1);
    assert_eq!(in_list[0]["objectId"], "five");
    let counted = must(&a, "count", json!(["Big", schema(), {"blob": one_blob}])).await;
    assert_eq!(
        counted, 1,
        "a count DynamoDB makes leaves the chunked heads to be judged whole"
    );
    let counted = must(&a, "count", json!(["Big", schema(), {"tag": "b"}])).await;
    assert_eq!(counted, 1);
    // A condition too long to name each field in DynamoDB's filter: every chunked head passes
    // it, and each is judged whole.
    let mut long = serde_json::Map::new();
    long.insert("tag".into(), json!("none"));
    for i in 0..60 {
        long.insert(format!("absent_field_{i:03}"), json!({"$exists": false}));
    }
    let counted = must(&a, "count", json!(["Big", schema(), long])).await;
    assert_eq!(counted, 0, "no object is tagged none");
    // A condition on a field the chunks hold, written in place: judged on the whole object.
    let none = must(&a, "findOneAndUpdate", json!(["Big", schema(), {"objectId": "five", "list": {"$exists": false}}, {"n": {"__op": "Increment", "amount": 1}}])).await;
    assert_eq!(none, Value::Null, "five has a list");

    // An index on a field of a large object.
    must(&a, "ensureIndex", json!(["Big", schema(), ["tag"]])).await;
    let mut indexed = Vec::new();
    for _ in 0..100 {
        let plan = must(&a, "explain", json!(["Big", schema(), {"tag": "b"}, {}])).await;
        indexed = find(&a, json!({"tag": "b"})).await;
        if plan.to_string().contains("index") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(indexed.len(), 1);
    assert_eq!(indexed[0]["blob"].as_str().unwrap().len(), 5 * MB / 2);

    // An increment of a field the head holds: in place, the chunks as they were.
    let before = chunks(&a).await;
    let used = must(&a, "consumedCapacity", json!([])).await;
    let up = must(
        &a,
        "findOneAndUpdate",
        json!(["Big", schema(), {"objectId": "five"}, {"n": {"__op": "Increment", "amount": 2}}]),
    )
    .await;
    assert_eq!(up["n"], 3);
    assert_eq!(up["blob"].as_str().unwrap().len(), 5 * MB / 2);
    let after = must(&a, "consumedCapacity", json!([])).await;
    let written = after["writeUnits"].as_f64().unwrap() - used["writeUnits"].as_f64().unwrap();
    assert!(
        written < 100.0,
        "an increment wrote {written} units, not the 5 MB again"
    );
    assert_eq!(chunks(&a).await, before);

    // A change of an indexed field the head holds (not in place: its entries change with it):
    // the head names the same chunks, none written or removed.
    let keys = a.store().scan_keys().await.expect("scan");
    let used = must(&a, "consumedCapacity", json!([])).await;
    must(
        &a,
        "findOneAndUpdate",
        json!(["Big", schema(), {"objectId": "five"}, {"tag": "b2"}]),
    )
    .await;
    let after = must(&a, "consumedCapacity", json!([])).await;
    let written = after["writeUnits"].as_f64().unwrap() - used["writeUnits"].as_f64().unwrap();
    assert!(written < 100.0, "a change of the tag wrote {written} units");
    let same = |k: &Vec<(String, String)>| -> Vec<String> {
        k.iter()
            .filter(|(p, _)| p.starts_with(CHUNK_PARTITION))
            .map(|(p, _)| p.clone())
            .collect()
    };
    assert_eq!(
        same(&a.store().scan_keys().await.expect("scan")),
        same(&keys)
    );
    let got = find(&a, json!({"tag": "b2"})).await;
    assert_eq!(got[0]["list"], object("five", "b", 5, "B")["list"]);
    assert_eq!(got[0]["n"], 3);

    // AddUnique to the list in the chunks: a new version, the old one removed.
    let up = must(&a, "findOneAndUpdate", json!(["Big", schema(), {"objectId": "one"}, {"list": {"__op": "AddUnique", "objects": ["new"]}}])).await;
    assert_eq!(up["list"].as_array().unwrap().last().unwrap(), "new");
    assert_eq!(chunks(&a).await, before, "one version each");
    let got = find(&a, json!({"objectId": "one"})).await;
    assert_eq!(got[0]["list"].as_array().unwrap().len(), 512 + 1);
    assert_eq!(got[0]["n"], 1);

    // Shrunk under 400 KB: one item again, its chunks removed.
    must(&a, "findOneAndUpdate", json!(["Big", schema(), {"objectId": "one"}, {"blob": {"__op": "Delete"}, "list": {"__op": "Delete"}}])).await;
    let got = find(&a, json!({"objectId": "one"})).await;
    assert_eq!(got[0]["tag"], "a");
    assert!(got[0].get("blob").is_none());
    assert!(chunks(&a).await < before);

    // Deleted: nothing of it stays.
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Big", schema(), {"objectId": "five"}]),
    )
    .await;
    assert_eq!(chunks(&a).await, 0);
    assert_eq!(
        find(&a, json!({"objectId": "five"})).await,
        Vec::<Value>::new()
    );

    // 16 MB + 1 byte: refused, nothing written. `{"blob":"…","tag":"x"}` is 21 bytes around it.
    let over = json!({"objectId": "over", "tag": "x", "blob": "x".repeat(16 * MB - 21 + 1)});
    match c(&a, "createObject", json!(["Big", schema(), over])).await {
        Err(e) => assert_eq!(e.code(), code::OBJECT_TOO_LARGE, "{e}"),
        Ok(_) => panic!("16 MB + 1 byte was stored"),
    }
    let at = json!({"objectId": "at", "tag": "x", "blob": "x".repeat(16 * MB - 21)});
    must(&a, "createObject", json!(["Big", schema(), at])).await;
    let got = find(&a, json!({"objectId": "at"})).await;
    assert_eq!(got[0]["blob"].as_str().unwrap().len(), 16 * MB - 21);
    must(
        &a,
        "deleteObjectsByQuery",
        json!(["Big", schema(), {"objectId": "at"}]),
    )
    .await;
    assert_eq!(chunks(&a).await, 0);
    assert_eq!(
        find(&a, json!({"objectId": "over"})).await,
        Vec::<Value>::new()
    );

    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(report["leftovers"], json!([]), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_with_large_objects_is_all_or_nothing() {
    let a = with_class().await;
    big(&a, &[object("kept", "k", 1, "K")], None).await;
    let base = chunks(&a).await;
    // Fails at commit (a duplicate key): nothing written, its chunks removed.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    let dup = json!({"objectId": "kept", "tag": "dup"});
    big(&a, &[object("t1", "t", 1, "T"), dup], Some(&s)).await;
    let e = c(&a, "commitTransactionalSession", json!([s]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code::DUPLICATE_VALUE, "{e}");
    assert_eq!(
        find(&a, json!({"objectId": "t1"})).await,
        Vec::<Value>::new()
    );
    assert_eq!(chunks(&a).await, base);
    // Lands: both objects whole, the replaced version removed.
    let s = must(&a, "createTransactionalSession", json!([])).await;
    big(&a, &[object("t2", "t", 1, "T")], Some(&s)).await;
    must(
        &a,
        "findOneAndUpdate",
        json!(["Big", schema(), {"objectId": "kept"}, {"blob": "k".repeat(MB)}, s]),
    )
    .await;
    must(&a, "commitTransactionalSession", json!([s])).await;
    let kept = find(&a, json!({"objectId": "kept"})).await;
    assert_eq!(kept[0]["blob"].as_str().unwrap(), "k".repeat(MB));
    assert_eq!(kept[0]["list"].as_array().unwrap().len(), 512);
    assert_eq!(
        find(&a, json!({"objectId": "t2"})).await[0]["blob"]
            .as_str()
            .unwrap()
            .len(),
        MB / 2
    );
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["leftovers"], json!([]), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_beside_a_writer_never_see_two_versions_mixed() {
    let a = std::sync::Arc::new(with_class().await);
    big(&a, &[object("x", "A", 1, "A")], None).await;
    let writer = {
        let a = a.clone();
        tokio::spawn(async move {
            for i in 0..12 {
                let v = ["B", "C", "D"][i % 3];
                let o = object("x", "x", 1, v);
                must(&a, "findOneAndUpdate", json!(["Big", schema(), {"objectId": "x"}, {"blob": o["blob"], "list": o["list"], "tag": v}])).await;
            }
        })
    };
    let versions: std::collections::HashMap<String, Value> = ["A", "B", "C", "D"]
        .iter()
        .map(|v| (v.to_string(), object("x", v, 1, v)))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    while !writer.is_finished() {
        for o in find(&a, json!({"objectId": "x"})).await {
            let tag = o["tag"].as_str().unwrap().to_string();
            assert!(
                o["blob"] == versions[&tag]["blob"],
                "a text of another version than {tag}"
            );
            assert!(
                o["list"] == versions[&tag]["list"],
                "a list of another version than {tag}"
            );
            seen.insert(tag);
        }
    }
    writer.await.unwrap();
    assert!(seen.len() >= 2, "the readers saw {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fix_removes_the_chunks_of_a_write_cut_off() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let a = with_class().await;
    big(&a, &[object("x", "x", 1, "A")], None).await;
    // A version written an hour ago whose head never landed, and one just written.
    let hour_ago = parse_server_dynamodb::layout::now_ms() - 3_600_000;
    let chunk = |version: String| {
        std::collections::HashMap::from([
            (
                "_pk_className".to_string(),
                AttributeValue::S(format!("{CHUNK_PARTITION}{version}:0")),
            ),
            ("_sk_id".to_string(), AttributeValue::S("c".into())),
            ("_d".to_string(), AttributeValue::B(b"{}".to_vec().into())),
        ])
    };
    let now = parse_server_dynamodb::layout::now_ms();
    a.store()
        .batch_put(vec![
            chunk(format!("{hour_ago:011x}{:021x}", 7)),
            chunk(format!("{now:011x}{:021x}", 8)),
        ])
        .await
        .unwrap();
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
    let kinds = leftover_kinds(&report);
    assert_eq!(kinds, ["unnamed-chunks", "chunks-underway"], "{report}");
    let fixed = must(&a, "check", json!([true])).await;
    assert_eq!(fixed["leftovers"][0]["fixed"], true, "{fixed}");
    let again = must(&a, "check", json!([false])).await;
    assert_eq!(leftover_kinds(&again), ["chunks-underway"], "{again}");
    assert_eq!(
        find(&a, json!({"objectId": "x"})).await[0]["blob"]
            .as_str()
            .unwrap()
            .len(),
        MB / 2
    );
}

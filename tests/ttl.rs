//! Expired sessions deleted by DynamoDB's TTL (on the embedded store, whose sweep stands in
//! for DynamoDB's): a `_Session` and every item kept for it (the token's sentinel with its
//! copy, its index entries) carry the TTL attribute at its `expiresAt`, also after an update
//! moves it, so TTL deletes them together and `check` finds nothing dangling; the class's
//! count loses them with them. Its own test binary: the sweep's pace is set before the
//! embedded store starts.

mod common;

use common::must;
use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::codec::EXPIRES;
use parse_server_dynamodb::store::StoreConfig;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn iso_in(seconds: i64) -> (Value, i64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let at = now + seconds;
    let iso = chrono::DateTime::from_timestamp(at, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    (json!({"__type": "Date", "iso": iso}), at)
}

fn schema() -> Value {
    json!({"className": "_Session", "fields": {
        "sessionToken": {"type": "String"},
        "user": {"type": "Pointer", "targetClass": "_User"},
        "expiresAt": {"type": "Date"},
        "installationId": {"type": "String"}
    }})
}

/// Every item of the table: (partition, sort key, its TTL expiry).
async fn items(a: &Adapter) -> Vec<(String, String, Option<i64>)> {
    let mut out = Vec::new();
    for (pk, sk) in a.store().scan_keys().await.expect("scan") {
        let item = a
            .store()
            .get(&pk, &sk)
            .await
            .expect("get")
            .unwrap_or_default();
        let at = match item.get(EXPIRES) {
            Some(aws_sdk_dynamodb::types::AttributeValue::N(n)) => n.parse().ok(),
            _ => None,
        };
        out.push((pk, sk, at));
    }
    out
}

async fn count(a: &Adapter) -> u64 {
    must(a, "count", json!(["_Session", schema(), {}]))
        .await
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_and_what_is_kept_for_them_go_together() {
    std::env::set_var("PSD_TTL_SWEEP_MS", "300");
    std::env::set_var("PSD_TTL_COUNT_PERIOD_S", "2");
    let a = Adapter::connect(StoreConfig {
        table: "ttl".into(),
        create_table: true,
        max_attempts: 3,
        operation_timeout_ms: 10_000,
        embedded: Some(":memory:".into()),
        ..StoreConfig::default()
    })
    .await
    .expect("connect");
    must(&a, "performInitialization", json!([])).await;
    let mut declared = schema();
    declared["indexes"] = json!({"by_user": {"_p_user": 1}});
    must(&a, "createClass", json!(["_Session", declared])).await;
    let user = json!({"__type": "Pointer", "className": "_User", "objectId": "u1"});
    let session = |id: &str, token: &str, at: &Value| json!({"objectId": id, "sessionToken": token, "user": user, "expiresAt": at, "installationId": format!("i-{id}")});
    let (soon, soon_at) = iso_in(2);
    let (later, later_at) = iso_in(86_400);
    for (id, token, at) in [
        ("s1", "r:one", &soon),
        ("s2", "r:two", &soon),
        ("s3", "r:three", &later),
        ("s4", "r:four", &later),
    ] {
        must(
            &a,
            "createObject",
            json!(["_Session", schema(), session(id, token, at)]),
        )
        .await;
    }
    // s3's expiry moves to 3 s from now (Parse's `extendSessionOnUse` moves it the other way).
    let (moved, moved_at) = iso_in(3);
    must(
        &a,
        "findOneAndUpdate",
        json!(["_Session", schema(), {"objectId": "s3"}, {"expiresAt": moved}]),
    )
    .await;

    // An index added now is back-filled: its entries carry their objects' expiries too.
    must(
        &a,
        "ensureIndex",
        json!(["_Session", schema(), ["installationId"], null, false]),
    )
    .await;
    // The object, its token's sentinel and its index entries carry its expiry; none is a field.
    let all = items(&a).await;
    for (id, token, at) in [
        ("s1", "r:one", soon_at),
        ("s3", "r:three", moved_at),
        ("s4", "r:four", later_at),
    ] {
        let its: Vec<_> = all
            .iter()
            .filter(|(pk, sk, _)| !pk.starts_with("~c:") && (sk.contains(id) || sk.contains(token)))
            .collect();
        assert!(
            its.iter().any(|(pk, _, _)| pk.starts_with("~u:_Session")),
            "{id}: {all:?}"
        );
        assert!(its.len() >= 4, "{id}: {its:?}");
        assert!(its.iter().all(|(_, _, e)| *e == Some(at)), "{id}: {its:?}");
    }
    let rows = must(
        &a,
        "find",
        json!(["_Session", schema(), {"sessionToken": "r:one"}, {}]),
    )
    .await;
    assert!(
        rows[0].get(EXPIRES).is_none() && rows[0]["objectId"] == "s1",
        "{rows}"
    );
    assert_eq!(count(&a).await, 4);
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");

    // Past the expiries (and the count's 2-second periods), the sweep has deleted s1-s3 and
    // everything kept for them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let gone = !items(&a).await.iter().any(|(pk, sk, _)| {
            !pk.starts_with("~c:")
                && ["s1", "s2", "s3", "r:one", "r:two", "r:three"]
                    .iter()
                    .any(|x| sk.contains(x))
        });
        if gone && count(&a).await == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not swept: {:?}",
            items(&a).await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let rows = must(
        &a,
        "find",
        json!(["_Session", schema(), {"user": user}, {}]),
    )
    .await;
    assert_eq!(rows.as_array().map(|r| r.len()), Some(1));
    assert_eq!(rows[0]["objectId"], "s4");
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(
        (&report["problems"], &report["leftovers"]),
        (&json!([]), &json!([])),
        "{report}"
    );
}

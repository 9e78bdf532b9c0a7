//! Two servers on one table when one of them registers an index: the other learns of it within
//! the registry's time to live, and the objects it wrote meanwhile (without entries, or with
//! entries of values it then changed) are put right by the second back-fill, so index reads
//! (equality and sorted pages with skip counted in the index) miss nothing and count nothing
//! twice.

mod common;

use parse_server_dynamodb::adapter::{Adapter, FindOptions};
use serde_json::{json, Value};
use std::time::Duration;

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["objectId"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_registered_by_another_server_is_complete_after_its_settling_time() {
    // Set before any adapter reads its registry (this test binary holds this one test).
    unsafe { std::env::set_var("PSD_REGISTRY_TTL_MS", "300") };
    let table = format!("reg{}", common::rand_suffix());
    let a = Adapter::connect(common::config(&table)).await.expect("a");
    let b = Adapter::connect(common::config(&table)).await.expect("b");
    for i in 0..5 {
        b.create_object("Item", &json!({"objectId": format!("o{i}"), "n": i}), None)
            .await
            .expect("create");
    }
    // b has read the registry (no index yet); a registers one now.
    a.ensure_index("Item", "n", false).await.expect("index");
    // Within b's stale window: a new object without entries, and a value changed without
    // moving its entry.
    b.create_object("Item", &json!({"objectId": "late", "n": 7}), None)
        .await
        .expect("late create");
    b.update_many("Item", &json!({"objectId": "o1"}), &json!({"n": 9}), None)
        .await
        .expect("stale update");
    // After the settling time (twice the TTL) and the second back-fill:
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let find = |q: Value, o: FindOptions| {
        let a = &a;
        async move { a.find("Item", &json!({}), &q, &o).await.expect("find") }
    };
    assert_eq!(
        ids(&find(json!({"n": 7}), FindOptions::default()).await),
        ["late"]
    );
    assert_eq!(
        ids(&find(json!({"n": 9}), FindOptions::default()).await),
        ["o1"]
    );
    assert!(find(json!({"n": 1}), FindOptions::default())
        .await
        .is_empty());
    let page = FindOptions {
        sort: Some(json!({"n": 1})),
        skip: 2,
        limit: Some(3),
        ..FindOptions::default()
    };
    // Sorted by n: o0(0) o2(2) o3(3) o4(4) late(7) o1(9); skip 2 → o3 o4 late.
    assert_eq!(ids(&find(json!({}), page).await), ["o3", "o4", "late"]);
    let plan = a
        .explain(
            "Item",
            &json!({}),
            &json!({}),
            &FindOptions {
                sort: Some(json!({"n": 1})),
                limit: Some(3),
                ..FindOptions::default()
            },
            &json!("queryPlanner"),
        )
        .await
        .expect("explain");
    assert_eq!(plan["queryPlanner"]["access"]["partition"], "~i:Item:n");
    // b now knows the index: its writes keep entries at once.
    b.create_object("Item", &json!({"objectId": "fresh", "n": 42}), None)
        .await
        .expect("fresh");
    assert_eq!(
        ids(&find(json!({"n": 42}), FindOptions::default()).await),
        ["fresh"]
    );
    let logs = a.log().drain();
    assert!(
        logs.iter()
            .any(|r| r.message.contains("re-indexing Item.n: done")),
        "{logs:?}"
    );
}

//! The in-process store (feature `embedded`): the adapter serves from dynoxide inside this
//! process, in memory or in a data file that a later adapter reopens.

use parse_server_dynamodb::adapter::{Adapter, FindOptions};
use parse_server_dynamodb::store::StoreConfig;
use serde_json::json;

fn config(table: &str, embedded: &str) -> StoreConfig {
    StoreConfig {
        table: table.into(),
        create_table: true,
        max_attempts: 3,
        operation_timeout_ms: 10_000,
        embedded: Some(embedded.into()),
        ..StoreConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_live_in_the_embedded_store_and_its_file() {
    let dir = std::env::temp_dir().join(format!("psd-embedded-{}", std::process::id()));
    let file = dir.join("store.db").to_string_lossy().to_string();
    let a = Adapter::connect(config("app", &file))
        .await
        .expect("connect");
    assert_eq!(a.store().embedded(), Some(file.as_str()));
    a.create_object("Note", &json!({"objectId": "n1", "text": "kept"}), None)
        .await
        .expect("create");
    // A second adapter on the same file shares the one server (and so sees the object).
    let b = Adapter::connect(config("app", &file))
        .await
        .expect("connect again");
    let rows = b
        .find(
            "Note",
            &json!({}),
            &json!({"text": "kept"}),
            &FindOptions::default(),
        )
        .await
        .expect("find");
    assert_eq!(rows.len(), 1);
    assert!(std::fs::metadata(&file).expect("data file").len() > 0);
    // In memory: nothing shared with the file.
    let m = Adapter::connect(config("app", ":memory:"))
        .await
        .expect("memory");
    let rows = m
        .find("Note", &json!({}), &json!({}), &FindOptions::default())
        .await
        .expect("find");
    assert!(rows.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

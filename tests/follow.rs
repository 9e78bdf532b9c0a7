//! The table's stream against dynoxide: a server following it learns of another server's schema
//! changes within a second (the version `schema_changes` answers passes), and of an index
//! another server registered at once, not after its registry refresh (5 s by default).

mod common;

use common::must;
use parse_server_dynamodb::adapter::Adapter;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_servers_schema_and_registry_changes_arrive_through_the_stream() {
    let table = format!("f{}", rand::random::<u32>());
    let a = Adapter::connect(common::config(&table)).await.unwrap();
    let b = Adapter::connect(common::config(&table)).await.unwrap();
    must(
        &a,
        "createClass",
        json!(["Seen", {"fields": {"n": {"type": "Number"}}}]),
    )
    .await;
    // B starts following (nothing new yet: the wait runs out).
    let v0 = b
        .schema_changes(0, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(b.kept("Seen").await.unwrap().indexes.is_empty());

    let t = Instant::now();
    must(
        &a,
        "addFieldIfNotExists",
        json!(["Seen", "title", {"type": "String"}]),
    )
    .await;
    let v1 = b.schema_changes(v0, Duration::from_secs(5)).await.unwrap();
    assert!(v1 > v0, "no schema change seen");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let seen = must(&b, "getClass", json!(["Seen"])).await;
    assert_eq!(seen["fields"]["title"]["type"], "String");

    // A registers an index: B keeps it well before its 5 s registry refresh.
    a.ensure_index("Seen", "n", false).await.unwrap();
    let t = Instant::now();
    while !b
        .kept("Seen")
        .await
        .unwrap()
        .indexes
        .contains(&"n".to_string())
    {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the index did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.handle_shutdown().await;
    // Stopped: a wait is answered at once.
    let t = Instant::now();
    b.schema_changes(u64::MAX - 1, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// A table made without a stream (as by an older version, or by hand).
async fn table_without_stream(table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(parse_server_dynamodb::store::http_client())
        .endpoint_url(common::endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(attr("_pk_className"))
        .attribute_definitions(attr("_sk_id"))
        .key_schema(key("_pk_className", KeyType::Hash))
        .key_schema(key("_sk_id", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_gets_its_stream_when_a_follower_needs_it() {
    // A table the adapter creates has none (a local store keeping every stream record slows
    // down with each write): writes alone never turn it on.
    let table = format!("h{}", rand::random::<u32>());
    let a = Adapter::connect(common::config(&table)).await.unwrap();
    must(&a, "createClass", json!(["Plain", {"fields": {}}])).await;
    must(
        &a,
        "createObject",
        json!(["Plain", {"fields": {}}, {"objectId": "p1"}]),
    )
    .await;
    assert!(a.store().stream_arn().await.unwrap().is_none());
    // The first follower (schema hooks here) turns it on, and hears changes through it.
    let b = Adapter::connect(common::config(&table)).await.unwrap();
    let v0 = b
        .schema_changes(0, Duration::from_millis(1500))
        .await
        .unwrap();
    assert!(
        a.store().stream_arn().await.unwrap().is_some(),
        "the follower turned the stream on"
    );
    must(&a, "createClass", json!(["Late", {"fields": {}}])).await;
    let v1 = b.schema_changes(v0, Duration::from_secs(5)).await.unwrap();
    assert!(v1 > v0, "the change arrived through the new stream");
    // A second server following turns on nothing more, and hears it too.
    let c = Adapter::connect(common::config(&table)).await.unwrap();
    let w0 = c
        .schema_changes(0, Duration::from_millis(500))
        .await
        .unwrap();
    must(&a, "createClass", json!(["Later", {"fields": {}}])).await;
    assert!(c.schema_changes(w0, Duration::from_secs(5)).await.unwrap() > w0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_option_turns_on_the_stream_at_start() {
    let table = format!("g{}", rand::random::<u32>());
    table_without_stream(&table).await;
    let a = Adapter::connect(common::config(&table)).await.unwrap();
    must(&a, "classExists", json!(["Any"])).await;
    assert!(a.store().stream_arn().await.unwrap().is_none());
    let options = parse_server_dynamodb::adapter::Options {
        enable_stream: true,
        ..Default::default()
    };
    let b = Adapter::connect_with(common::config(&table), options)
        .await
        .unwrap();
    must(&b, "classExists", json!(["Any"])).await;
    assert!(
        a.store().stream_arn().await.unwrap().is_some(),
        "the stream was turned on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_query_messages_reach_another_server_in_order() {
    let table = format!("l{}", rand::random::<u32>());
    let a = Adapter::connect(common::config(&table)).await.unwrap();
    let b = Adapter::connect(common::config(&table)).await.unwrap();
    // B listens from now on.
    let (start, none) = b.live_query_messages(None, Duration::ZERO).await.unwrap();
    assert!(none.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..5 {
        a.live_query_publish("appafterSave", &format!("{{\"n\":{i}}}"))
            .await
            .unwrap();
    }
    a.live_query_publish("appafterDelete", "{\"gone\":1}")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut cursor = start;
    let t = Instant::now();
    while got.len() < 6 && t.elapsed() < Duration::from_secs(5) {
        let (c, batch) = b
            .live_query_messages(Some(cursor), Duration::from_secs(2))
            .await
            .unwrap();
        cursor = c;
        got.extend(batch);
    }
    let saves: Vec<&str> = got
        .iter()
        .filter(|(c, _)| c == "appafterSave")
        .map(|(_, m)| m.as_str())
        .collect();
    assert_eq!(
        saves,
        [
            "{\"n\":0}",
            "{\"n\":1}",
            "{\"n\":2}",
            "{\"n\":3}",
            "{\"n\":4}"
        ]
    );
    assert!(got
        .iter()
        .any(|(c, m)| c == "appafterDelete" && m == "{\"gone\":1}"));
    // Over DynamoDB's item size: sent by reference (its text in chunks), heard whole.
    let big = "x".repeat(410 * 1024);
    a.live_query_publish("appafterSave", &big).await.unwrap();
    let mut whole = false;
    let t = Instant::now();
    while !whole && t.elapsed() < Duration::from_secs(10) {
        let (c, batch) = b
            .live_query_messages(Some(cursor), Duration::from_secs(2))
            .await
            .unwrap();
        cursor = c;
        whole |= batch.iter().any(|(c, m)| c == "appafterSave" && *m == big);
    }
    assert!(whole, "the 410 KB message was heard whole");
    // Over 16 MB: refused, clearly.
    let e = a
        .live_query_publish("appafterSave", &"x".repeat(16 * 1024 * 1024))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("16 MB"), "{e}");
}

//! Benchmark: the adapter core against the raw aws-sdk-dynamodb client, on the same endpoint
//! and table, side by side in one run. The raw side makes the fewest requests a hand-written
//! client would for the same answer (conditional PutItem; GetItem; one filtered Query of the
//! class partition; a Query of the index entries plus BatchGetItem), so the ratio is what the
//! adapter's planning, codec and evaluator cost. The adapter side goes through `api::call`, the
//! JSON entry point the Node binding uses. Rounds alternate raw/adapter; the best of three
//! rounds of each is printed.
//!
//! Run by `npm run bench` (which starts dynoxide and sets DYNAMODB_ENDPOINT), or
//! `DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo bench --no-default-features --bench raw_client`.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::api::call;
use parse_server_dynamodb::store::StoreConfig;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const CONCURRENCY: usize = 16;
const OBJECTS: usize = 2000;
const CATEGORIES: usize = 50;

/// Runs `total` calls of `f(i)` on CONCURRENCY tasks; answers calls per second.
async fn throughput<F, Fut>(total: usize, f: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                f(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn object(i: usize) -> Value {
    json!({"objectId": format!("b{i:05}"), "n": i, "category": format!("c{}", i % CATEGORIES), "name": format!("object number {i}")})
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("set DYNAMODB_ENDPOINT");
    let table = format!("bench{}", std::process::id());
    let adapter = Arc::new(
        Adapter::connect(StoreConfig {
            table: table.clone(),
            endpoint: Some(endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some("bench".into()),
            secret_access_key: Some("bench".into()),
            session_token: None,
            create_table: true,
            max_attempts: 5,
            operation_timeout_ms: 30_000,
            embedded: None,
        })
        .await
        .expect("adapter"),
    );
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(parse_server_dynamodb::store::http_client())
        .endpoint_url(&endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .build();
    let raw = Arc::new(Client::from_conf(conf));
    let table = Arc::new(table);

    // Data the reads use: Plain (no index) and Indexed (index on category), written by the adapter.
    let a = adapter.clone();
    c(
        &a,
        "ensureIndex",
        json!(["Indexed", {}, ["category"], null, false]),
    )
    .await;
    throughput(OBJECTS, move |i| {
        let a = a.clone();
        async move {
            c(&a, "createObject", json!(["Plain", {}, object(i)])).await;
            c(&a, "createObject", json!(["Indexed", {}, object(i)])).await;
        }
    })
    .await;

    let mut rows: Vec<(&str, f64, f64)> = Vec::new();
    let created = Arc::new(AtomicUsize::new(0));
    // BENCH_OPS=get,create picks operations (e.g. to profile one).
    let only = std::env::var("BENCH_OPS").unwrap_or_default();
    let ops: Vec<&str> = ["create", "get", "filtered find", "indexed find"]
        .into_iter()
        .filter(|o| only.is_empty() || only.split(',').any(|x| x == *o))
        .collect();
    for op in ops {
        let (mut best_raw, mut best_ours) = (0f64, 0f64);
        for _round in 0..3 {
            let (r, t) = (raw.clone(), table.clone());
            let n = match op {
                "create" => 1000,
                "get" => 2000,
                "filtered find" => 60,
                _ => 400,
            };
            let base = created.fetch_add(n, Ordering::Relaxed);
            let raw_rate = match op {
                "create" => {
                    throughput(n, move |i| {
                        let (r, t) = (r.clone(), t.clone());
                        async move {
                            let o = object(base + i);
                            r.put_item()
                                .table_name(t.as_str())
                                .item("_pk_className", s("RawCreated"))
                                .item("_sk_id", s(o["objectId"].as_str().unwrap_or("")))
                                .item("n", AttributeValue::N(o["n"].to_string()))
                                .item("category", s(o["category"].as_str().unwrap_or("")))
                                .item("name", s(o["name"].as_str().unwrap_or("")))
                                .item("createdAt", s("2026-11-27T00:00:00.000Z"))
                                .item("updatedAt", s("2026-11-27T00:00:00.000Z"))
                                .condition_expression("attribute_not_exists(#sk)")
                                .expression_attribute_names("#sk", "_sk_id")
                                .send()
                                .await
                                .expect("put");
                        }
                    })
                    .await
                }
                "get" => {
                    throughput(n, move |i| {
                        let (r, t) = (r.clone(), t.clone());
                        async move {
                            let out = r
                                .get_item()
                                .table_name(t.as_str())
                                .key("_pk_className", s("Plain"))
                                .key("_sk_id", s(&format!("b{:05}", (i * 7919) % OBJECTS)))
                                .consistent_read(true)
                                .send()
                                .await
                                .expect("get");
                            assert!(out.item.is_some());
                        }
                    })
                    .await
                }
                "filtered find" => {
                    throughput(n, move |i| {
                        let (r, t) = (r.clone(), t.clone());
                        async move {
                            let mut found = 0;
                            let mut start = None;
                            loop {
                                let out = r
                                    .query()
                                    .table_name(t.as_str())
                                    .key_condition_expression("#pk = :pk")
                                    .filter_expression("#c = :c")
                                    .expression_attribute_names("#pk", "_pk_className")
                                    .expression_attribute_names("#c", "category")
                                    .expression_attribute_values(":pk", s("Plain"))
                                    .expression_attribute_values(
                                        ":c",
                                        s(&format!("c{}", i % CATEGORIES)),
                                    )
                                    .consistent_read(true)
                                    .set_exclusive_start_key(start)
                                    .send()
                                    .await
                                    .expect("query");
                                found += out.items.map_or(0, |v| v.len());
                                start = out.last_evaluated_key.filter(|k| !k.is_empty());
                                if start.is_none() {
                                    break;
                                }
                            }
                            assert_eq!(found, OBJECTS / CATEGORIES);
                        }
                    })
                    .await
                }
                _ => {
                    throughput(n, move |i| {
                        let (r, t) = (r.clone(), t.clone());
                        async move {
                            // The entries of value c<k> in the adapter's index, then the objects.
                            let text = format!("2c{}\u{1}\u{1}", i % CATEGORIES);
                            let out = r
                                .query()
                                .table_name(t.as_str())
                                .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
                                .expression_attribute_names("#pk", "_pk_className")
                                .expression_attribute_names("#sk", "_sk_id")
                                .expression_attribute_values(":pk", s("~i:Indexed:category"))
                                .expression_attribute_values(":p", s(&text))
                                .consistent_read(true)
                                .send()
                                .await
                                .expect("index query");
                            let keys: Vec<HashMap<String, AttributeValue>> = out
                                .items
                                .unwrap_or_default()
                                .into_iter()
                                .filter_map(|e| e.get("key").cloned())
                                .map(|k| {
                                    HashMap::from([
                                        ("_pk_className".to_string(), s("Indexed")),
                                        ("_sk_id".to_string(), k),
                                    ])
                                })
                                .collect();
                            let mut found = 0;
                            for chunk in keys.chunks(100) {
                                let ka = KeysAndAttributes::builder()
                                    .set_keys(Some(chunk.to_vec()))
                                    .consistent_read(true)
                                    .build()
                                    .expect("keys");
                                let got = r
                                    .batch_get_item()
                                    .request_items(t.as_str(), ka)
                                    .send()
                                    .await
                                    .expect("batch get");
                                found += got
                                    .responses
                                    .and_then(|mut m| m.remove(t.as_str()))
                                    .map_or(0, |v| v.len());
                            }
                            assert_eq!(found, OBJECTS / CATEGORIES);
                        }
                    })
                    .await
                }
            };
            let a = adapter.clone();
            let ours_rate = match op {
                "create" => {
                    throughput(n, move |i| {
                        let a = a.clone();
                        async move {
                            c(&a, "createObject", json!(["Created", {}, object(base + i)])).await;
                        }
                    })
                    .await
                }
                "get" => {
                    throughput(n, move |i| {
                        let a = a.clone();
                        async move {
                            let id = format!("b{:05}", (i * 7919) % OBJECTS);
                            let r = c(&a, "find", json!(["Plain", {}, {"objectId": id}, {}])).await;
                            assert_eq!(r.as_array().map(Vec::len), Some(1));
                        }
                    })
                    .await
                }
                "filtered find" => {
                    throughput(n, move |i| {
                        let a = a.clone();
                        async move {
                            let q = json!({"category": format!("c{}", i % CATEGORIES)});
                            let r = c(&a, "find", json!(["Plain", {}, q, {}])).await;
                            assert_eq!(r.as_array().map(Vec::len), Some(OBJECTS / CATEGORIES));
                        }
                    })
                    .await
                }
                _ => {
                    throughput(n, move |i| {
                        let a = a.clone();
                        async move {
                            let q = json!({"category": format!("c{}", i % CATEGORIES)});
                            let r = c(&a, "find", json!(["Indexed", {}, q, {}])).await;
                            assert_eq!(r.as_array().map(Vec::len), Some(OBJECTS / CATEGORIES));
                        }
                    })
                    .await
                }
            };
            best_raw = best_raw.max(raw_rate);
            best_ours = best_ours.max(ours_rate);
        }
        rows.push((op, best_raw, best_ours));
    }
    println!(
        "\nadapter core vs raw aws-sdk-dynamodb client ({OBJECTS} objects, {CATEGORIES} categories, {CONCURRENCY} concurrent callers, best of 3 alternating rounds)"
    );
    println!("| operation | raw client ops/s | adapter ops/s | adapter / raw |");
    println!("|---|---|---|---|");
    for (op, r, o) in rows {
        println!("| {op} | {r:.0} | {o:.0} | {:.2} |", o / r);
    }
}

async fn c(a: &Adapter, method: &str, args: Value) -> Value {
    call(a, method, args.as_array().expect("args"))
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

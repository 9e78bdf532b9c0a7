//! Automatic indexes against dynoxide: a query that reads far more of a class than it answers
//! makes the adapter build the index that would serve it, in the background, while writes go
//! on; queries stay exact before, during and after, and use the index once it is ready; a
//! second server keeps and uses it; the policy's threshold and cap hold.

mod common;

use common::{ids, must};

use parse_server_dynamodb::adapter::{Adapter, Options};
use parse_server_dynamodb::indexes::AutoIndexPolicy;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn adapter(table: &str, enabled: bool) -> Adapter {
    let options = Options {
        auto_index: AutoIndexPolicy {
            enabled,
            min_units: 20.0,
            ratio: 2.0,
            max_per_class: 2,
        },
        ..Options::default()
    };
    Adapter::connect_with(common::config(table), options)
        .await
        .expect("connect")
}

/// The objectIds of the objects whose `field` is `value`, from every object (the evaluator's
/// answer, without any index).
async fn expected(a: &Adapter, class: &str, field: &str, value: &Value) -> Vec<String> {
    let all = must(a, "find", json!([class, {}, {}, {}])).await;
    let mut out: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| &o[field] == value)
        .map(|o| o["objectId"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// The index `spec` of `class` as `getIndexes` lists it, once it is there and ready.
async fn wait_ready(a: &Adapter, class: &str, spec: &str) -> Value {
    let started = Instant::now();
    loop {
        let listed = must(a, "getIndexes", json!([class])).await;
        let found = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == format!("{spec}_kept"))
            .cloned();
        if let Some(ix) = found.filter(|ix| ix.get("building").is_none()) {
            return ix;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "index {spec} of {class} not ready: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_that_scan_build_the_index_they_need() {
    // Servers re-read the registry every 300 ms here (5 s by default).
    unsafe { std::env::set_var("PSD_REGISTRY_TTL_MS", "300") };
    let table = format!("t{}", common::rand_suffix());
    let a = Arc::new(adapter(&table, true).await);
    for i in 0..300 {
        let obj = json!({"objectId": format!("o{i:03}"), "category": format!("c{}", i % 30),
            "color": format!("k{}", i % 7), "size": i % 11, "score": i, "pad": "x".repeat(1000)});
        must(&a, "createObject", json!(["Item", {}, obj])).await;
    }
    // A small class never gets one.
    for i in 0..50 {
        must(
            &a,
            "createObject",
            json!(["Small", {}, {"category": format!("c{}", i % 5)}]),
        )
        .await;
    }
    must(&a, "find", json!(["Small", {}, {"category": "c1"}, {}])).await;

    // The first equality query reads the class, answers exactly, and starts the build.
    let c3 = json!("c3");
    let before = a.store().usage().read_units;
    let first = must(&a, "find", json!(["Item", {}, {"category": "c3"}, {}])).await;
    let scan = a.store().usage().read_units - before;
    assert_eq!(ids(&first), expected(&a, "Item", "category", &c3).await);
    // Writes go on while it builds: categories move, objects come and go.
    let writer = {
        let a = a.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                let id = format!("o{:03}", (i * 7) % 300);
                let upd = json!({"category": format!("c{}", (i * 3) % 30)});
                must(
                    &a,
                    "updateObjectsByQuery",
                    json!(["Item", {}, {"objectId": id}, upd]),
                )
                .await;
                if i % 10 == 0 {
                    let obj = json!({"objectId": format!("n{i:03}"), "category": "c3", "score": 1000 + i});
                    must(&a, "createObject", json!(["Item", {}, obj])).await;
                    must(
                        &a,
                        "deleteObjectsByQuery",
                        json!(["Item", {}, {"objectId": format!("o{:03}", 299 - i)}]),
                    )
                    .await;
                }
                // Answers stay exact while the index is building.
                let now = must(&a, "find", json!(["Item", {}, {"category": "c3"}, {}])).await;
                assert_eq!(
                    ids(&now),
                    expected(&a, "Item", "category", &json!("c3")).await
                );
            }
        })
    };
    writer.await.expect("writer");
    let listed = wait_ready(&a, "Item", "category").await;
    assert_eq!(listed["automatic"], true, "{listed}");
    // Now the query reads the index, and answers as every object says.
    let plan = must(
        &a,
        "explain",
        json!(["Item", {}, {"category": "c3"}, {"explain": "queryPlanner"}]),
    )
    .await;
    assert_eq!(plan["queryPlanner"]["access"]["via"], "index category");
    for c in 0..30 {
        let v = json!(format!("c{c}"));
        let got = must(&a, "find", json!(["Item", {}, {"category": v}, {}])).await;
        assert_eq!(
            ids(&got),
            expected(&a, "Item", "category", &v).await,
            "category c{c}"
        );
    }
    let before = a.store().usage().read_units;
    let rows = must(&a, "find", json!(["Item", {}, {"category": "c3"}, {}])).await;
    let indexed = a.store().usage().read_units - before;
    let n = rows.as_array().unwrap().len() as f64;
    assert!(
        indexed <= n + 2.0 && indexed * 2.0 < scan,
        "the indexed query read {indexed} units for {n} rows; the scan {scan}"
    );

    // A second server keeps the index in its writes and reads it.
    let b = adapter(&table, true).await;
    must(
        &b,
        "createObject",
        json!(["Item", {}, {"objectId": "fromb", "category": "c3"}]),
    )
    .await;
    let got = must(&b, "find", json!(["Item", {}, {"category": "c3"}, {}])).await;
    assert!(ids(&got).contains(&"fromb".to_string()));
    assert_eq!(ids(&got), expected(&b, "Item", "category", &c3).await);
    let got = must(&a, "find", json!(["Item", {}, {"category": "c3"}, {}])).await;
    assert_eq!(ids(&got), expected(&a, "Item", "category", &c3).await);

    // A sorted page with an equality builds the compound index; the cap (2) stops a third.
    let feed = json!({"color": "k2"});
    let opts = json!({"sort": {"score": -1}, "limit": 3});
    let page = must(&a, "find", json!(["Item", {}, feed, opts])).await;
    let scores: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["score"].as_i64().unwrap())
        .collect();
    let mut want: Vec<i64> = must(&a, "find", json!(["Item", {}, {}, {}]))
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["color"] == "k2")
        .map(|o| o["score"].as_i64().unwrap())
        .collect();
    want.sort_by(|x, y| y.cmp(x));
    assert_eq!(scores, want[..3].to_vec());
    wait_ready(&a, "Item", "color,score").await;
    let plan = must(
        &a,
        "explain",
        json!(["Item", {}, feed, {"sort": {"score": -1}, "limit": 3, "explain": "queryPlanner"}]),
    )
    .await;
    assert_eq!(
        plan["queryPlanner"]["access"]["partition"],
        format!("~i:Item:color,score")
    );
    assert_eq!(
        must(&a, "find", json!(["Item", {}, feed, opts])).await,
        page
    );
    must(&a, "find", json!(["Item", {}, {"size": 4}, {}])).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let names: Vec<Value> = common::index_names(&a, "Item").await;
    assert!(
        !names.contains(&json!("size_kept")),
        "the cap holds: {names:?}"
    );
    let small: Vec<Value> = must(&a, "getIndexes", json!(["Small"]))
        .await
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(small.len(), 1, "a small class gets none: {small:?}");
    // The log says what it did.
    let logs = a.log().drain_json().to_string();
    assert!(logs.contains("automatic index Item.category"), "{logs}");
    // Dropping an automatic index works as for any index.
    assert_eq!(
        must(&a, "dropIndex", json!(["Item", "category"])).await,
        json!(true)
    );
    let got = must(&a, "find", json!(["Item", {}, {"category": "c4"}, {}])).await;
    assert_eq!(
        ids(&got),
        expected(&a, "Item", "category", &json!("c4")).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_means_off() {
    let table = format!("t{}", common::rand_suffix());
    let a = adapter(&table, false).await;
    for i in 0..150 {
        must(
            &a,
            "createObject",
            json!(["Item", {}, {"category": format!("c{}", i % 30)}]),
        )
        .await;
    }
    must(&a, "find", json!(["Item", {}, {"category": "c3"}, {}])).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        must(&a, "getIndexes", json!(["Item"]))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_or_of_two_fields_gets_an_index_for_each() {
    // Parse's check before each installation is saved: `$or` of installationId and deviceToken.
    unsafe { std::env::set_var("PSD_REGISTRY_TTL_MS", "300") };
    let a = adapter(&format!("t{}", common::rand_suffix()), true).await;
    for i in 0..300 {
        let obj = json!({"objectId": format!("i{i:04}"), "installationId": format!("inst{i}"),
            "deviceToken": format!("tok{i}"), "pad": "x".repeat(1200)});
        must(&a, "createObject", json!(["_Installation", {}, obj])).await;
    }
    let q = json!({"$or": [{"installationId": "inst7"}, {"deviceToken": "tok9"}]});
    async fn read(a: &Adapter, q: &Value) -> (Vec<String>, f64) {
        let before = a.store().usage().read_units;
        let rows = must(a, "find", json!(["_Installation", {}, q, {}])).await;
        (ids(&rows), a.store().usage().read_units - before)
    }
    let (first, scan) = read(&a, &q).await;
    assert_eq!(first, ["i0007", "i0009"]);
    wait_ready(&a, "_Installation", "installationId").await;
    // The first index alone does not serve the $or: the next scan asks for the second.
    let (second, _) = read(&a, &q).await;
    assert_eq!(second, first);
    wait_ready(&a, "_Installation", "deviceToken").await;
    let (third, indexed) = read(&a, &q).await;
    assert_eq!(third, first);
    assert!(
        indexed <= 6.0 && indexed * 10.0 < scan,
        "with both indexes the $or read {indexed} units; the scan {scan}"
    );
}

/// A query planned while an index was still building (here or on another server, whose view
/// of the registry is up to `registry_ttl` old) asks to resume its build after the build has
/// finished: nothing is built again, and the class is not read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_build_is_not_resumed() {
    use parse_server_dynamodb::indexes::Indexes;
    use parse_server_dynamodb::layout::Kept;
    use parse_server_dynamodb::log::Log;
    let table = format!("t{}", common::rand_suffix());
    let a = adapter(&table, false).await;
    for i in 0..200 {
        let obj = json!({"objectId": format!("o{i:03}"), "category": format!("c{}", i % 20), "pad": "x".repeat(1000)});
        must(&a, "createObject", json!(["Item", {}, obj])).await;
    }
    must(&a, "ensureIndex", json!(["Item", {}, ["category"]])).await;
    wait_ready(&a, "Item", "category").await;
    // Another server's view from before it was ready: kept, still building.
    let stale = Kept {
        indexes: vec!["category".into()],
        building: vec!["category".into()],
        auto: vec!["category".into()],
        ..Kept::default()
    };
    let log = Arc::new(Log::default());
    let store = parse_server_dynamodb::store::Store::connect(&common::config(&table))
        .await
        .expect("connect");
    let other = Arc::new(Indexes::new(
        store.clone(),
        log.clone(),
        AutoIndexPolicy {
            enabled: true,
            min_units: 20.0,
            ratio: 2.0,
            max_per_class: 2,
        },
    ));
    other.consider("Item", "category", &stale, 60.0, 10);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let logs = log.drain_json().to_string();
    assert!(!logs.contains("building it"), "{logs}");
    assert!(!logs.contains("indexing"), "{logs}");
    // It read the registry to learn the index is ready, and not the class.
    let ops = store.usage().operations;
    assert!(ops.contains_key("GetItem"), "{ops:?}");
    assert!(
        !ops.contains_key("Query"),
        "the class was read again: {ops:?}"
    );
}

/// A query in natural order (Parse's limit 100, no sort) whose condition matches few objects,
/// on a class with a `createdAt` index: reading that index in order would fetch the whole
/// class one object at a time to fill the page, so the cost model takes the partition Query
/// (about a tenth of the units: explain lists both, with their estimates); the policy sees
/// what the partition read cost for 5 rows and builds the index of the condition, after which
/// the query reads about its rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_query_in_natural_order_reads_the_cheapest_path_then_gets_its_index() {
    let table = format!("t{}", common::rand_suffix());
    let a = adapter(&table, true).await;
    must(&a, "ensureIndex", json!(["Item", {}, ["createdAt"]])).await;
    let pad = "x".repeat(1000);
    for i in 0..300 {
        let obj = json!({"objectId": format!("o{i:03}"), "score": i * 10, "pad": pad,
            "createdAt": format!("2026-01-01T00:{:02}:{:02}.000Z", i / 60, i % 60)});
        must(&a, "createObject", json!(["Item", {}, obj])).await;
    }
    wait_ready(&a, "Item", "createdAt").await;
    // The schema says `score` holds numbers, not arrays: both bounds bound its index range.
    let schema = json!({"fields": {"score": {"type": "Number"}}});
    let q = json!({"score": {"$gte": 1000, "$lt": 1050}});
    let opts = json!({"limit": 100});
    let plan = must(
        &a,
        "explain",
        json!(["Item", schema, q, {"limit": 100, "explain": "queryPlanner"}]),
    )
    .await;
    let planner = &plan["queryPlanner"];
    assert_eq!(planner["access"]["partition"], "Item", "{plan}");
    let candidates = planner["candidates"].as_array().expect("candidates");
    let estimate = |i: usize| candidates[i]["estimatedReadUnits"].as_f64().unwrap();
    assert_eq!(candidates.len(), 2, "{plan}");
    assert_eq!(candidates[1]["access"]["scanIndexForward"], true, "{plan}");
    assert!(estimate(1) > 3.0 * estimate(0), "{plan}");
    let read = |a: &Adapter| a.store().usage().read_units;
    let before = read(&a);
    let first = must(&a, "find", json!(["Item", schema, q, opts])).await;
    let fetched = read(&a) - before;
    assert_eq!(ids(&first), vec!["o100", "o101", "o102", "o103", "o104"]);
    // The partition: ~300 KB, ~80 units; in order it would fetch 300 objects (300 units).
    assert!(
        (40.0..150.0).contains(&fetched),
        "the partition Query: {fetched}"
    );
    let listed = wait_ready(&a, "Item", "score").await;
    assert_eq!(listed["automatic"], true);
    // Servers plan with the registry as they last read it (within `registry_ttl`).
    let started = Instant::now();
    loop {
        let before = read(&a);
        let again = must(&a, "find", json!(["Item", schema, q, opts])).await;
        let now = read(&a) - before;
        assert_eq!(again, first, "the same answer, in the same order");
        if now <= 2.0 * 5.0 + 5.0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(12) {
            let plan = must(
                &a,
                "explain",
                json!(["Item", schema, q, {"limit": 100, "explain": "queryPlanner"}]),
            )
            .await;
            panic!(
                "still {now} units for 5 rows: {plan} {}",
                must(&a, "getIndexes", json!(["Item"])).await
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Issue 34: `startsWith` (the JS SDK's `^\Q…\E`) on a class whose other query shapes got
/// their automatic indexes first: the prefix's own index is built and used, so the read costs
/// about what it answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_query_gets_its_automatic_index_and_uses_it() {
    unsafe { std::env::set_var("PSD_REGISTRY_TTL_MS", "300") };
    let table = format!("t{}", common::rand_suffix());
    let options = Options::default();
    let a = Adapter::connect_with(common::config(&table), options)
        .await
        .expect("connect");
    let schema = json!({"fields": {"name": {"type": "String"}, "tags": {"type": "Array"}}});
    for i in 0..300 {
        let name = if i % 60 == 0 {
            format!("zz{i}")
        } else {
            format!("n{i}")
        };
        let obj = json!({"objectId": format!("o{i:03}"), "name": name, "tags": [format!("t{}", i % 50)], "pad": "x".repeat(1500)});
        must(&a, "createObject", json!(["Item", schema, obj])).await;
    }
    let read = |a: &Adapter| a.store().usage().read_units;
    // Another shape first: its index is built (with the natural order's field: unsorted
    // finds answer in `createdAt` order).
    let tq = json!({"tags": "t7"});
    must(&a, "find", json!(["Item", schema, tq, {"limit": 5}])).await;
    wait_ready(&a, "Item", "tags,createdAt").await;
    let q = json!({"name": {"$regex": "^\\Qzz\\E"}});
    let opts = json!({"limit": 5});
    let started = Instant::now();
    loop {
        let before = read(&a);
        let got = must(&a, "find", json!(["Item", schema, q, opts])).await;
        let units = read(&a) - before;
        assert_eq!(ids(&got), vec!["o000", "o060", "o120", "o180", "o240"]);
        if units <= 2.0 * 5.0 + 5.0 {
            // The prefix's own index, not the natural order's: an in-order read of
            // `createdAt` would read rows until five match (and its entries cost every write).
            let listed = must(&a, "getIndexes", json!(["Item"])).await;
            let names: Vec<&str> = listed
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|i| i["name"].as_str())
                .collect();
            assert_eq!(
                names,
                ["_id_", "tags,createdAt_kept", "name_kept"],
                "{listed}"
            );
            break;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let plan = must(
                &a,
                "explain",
                json!(["Item", schema, q, {"limit": 5, "explain": "queryPlanner"}]),
            )
            .await;
            panic!(
                "still {units} units for 5 rows: {plan} {}",
                must(&a, "getIndexes", json!(["Item"])).await
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Issue 34: a substring query that reads the class gets a trigram index, once the reads
/// wanting it have spent more than its entries would have cost the writes seen: not on the
/// server that wrote the class (300 objects × ~30 trigrams outweigh a few reads), at once on
/// one that only reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_substring_query_gets_a_trigram_index_when_its_reads_outweigh_the_writes() {
    unsafe { std::env::set_var("PSD_REGISTRY_TTL_MS", "300") };
    let table = format!("t{}", common::rand_suffix());
    let writer = Adapter::connect_with(common::config(&table), Options::default())
        .await
        .expect("connect");
    let schema = json!({"fields": {"name": {"type": "String"}}});
    for i in 0..300 {
        let name = if i % 60 == 0 {
            format!("Wombat {i}")
        } else {
            format!("item {i} plain")
        };
        let obj = json!({"objectId": format!("o{i:03}"), "name": name, "pad": "x".repeat(1500)});
        must(&writer, "createObject", json!(["Item", schema, obj])).await;
    }
    let q = json!({"name": {"$regex": "ombat"}});
    let names = |listed: Value| -> Vec<String> {
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["name"].as_str().map(String::from))
            .collect()
    };
    for _ in 0..3 {
        let got = must(&writer, "find", json!(["Item", schema, q, {}])).await;
        assert_eq!(ids(&got).len(), 5);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let listed = must(&writer, "getIndexes", json!(["Item"])).await;
    assert!(
        !names(listed.clone()).contains(&"name:tri_kept".to_string()),
        "{listed}"
    );
    // A server that only reads the class.
    let reader = Adapter::connect_with(common::config(&table), Options::default())
        .await
        .expect("connect");
    let read = |a: &Adapter| a.store().usage().read_units;
    let started = Instant::now();
    loop {
        let before = read(&reader);
        let got = must(&reader, "find", json!(["Item", schema, q, {}])).await;
        let units = read(&reader) - before;
        assert_eq!(ids(&got), vec!["o000", "o060", "o120", "o180", "o240"]);
        if units <= 2.0 * 5.0 + 5.0 {
            let listed = must(&reader, "getIndexes", json!(["Item"])).await;
            assert!(
                names(listed.clone()).contains(&"name:tri_kept".to_string()),
                "{listed}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still {units} units for 5 rows"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Issue 34: a `$nearSphere` page that reads the class gets a geo index (it wants about the
/// page, not every object with a point, which all match a near query without a maximum).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_query_gets_a_geo_index() {
    unsafe { std::env::set_var("PSD_REGISTRY_TTL_MS", "300") };
    let table = format!("t{}", common::rand_suffix());
    let a = Adapter::connect_with(common::config(&table), Options::default())
        .await
        .expect("connect");
    let schema = json!({"fields": {"loc": {"type": "GeoPoint"}}});
    for i in 0..300 {
        let loc =
            json!({"__type": "GeoPoint", "latitude": 48.8 + (i as f64) * 0.0007, "longitude": 2.3});
        let obj = json!({"objectId": format!("o{i:03}"), "loc": loc, "pad": "x".repeat(1500)});
        must(&a, "createObject", json!(["Item", schema, obj])).await;
    }
    let q =
        json!({"loc": {"$nearSphere": {"__type": "GeoPoint", "latitude": 48.8, "longitude": 2.3}}});
    let read = |a: &Adapter| a.store().usage().read_units;
    let started = Instant::now();
    loop {
        let before = read(&a);
        let got = must(&a, "find", json!(["Item", schema, q, {"limit": 5}])).await;
        let units = read(&a) - before;
        let order: Vec<&str> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["objectId"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["o000", "o001", "o002", "o003", "o004"]);
        if units <= 2.0 * 5.0 + 5.0 {
            wait_ready(&a, "Item", "loc:geo").await;
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still {units} units for 5 rows"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

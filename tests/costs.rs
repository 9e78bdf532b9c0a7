//! What requests cost (`bill`): every call's units go to exactly one row, so the rows add up
//! to `consumedCapacity()`; a request past `costLog` is logged with its queries' plans; and the
//! read budget (`maxReadUnitsPerQuery`) refuses a query planned above it (naming the index
//! that would serve it), passes an indexed one, runs and logs in `warn` mode, and stops a read
//! that turns out dearer than its plan.

mod common;

use common::{c, config, must, rand_suffix};
use parse_server_dynamodb::adapter::{Adapter, BudgetOption, Options};
use parse_server_dynamodb::api::call_tagged;
use parse_server_dynamodb::error::Error;
use serde_json::{json, Value};

fn fields() -> Value {
    json!({"n": {"type": "Number"}, "title": {"type": "String"}, "body": {"type": "String"}})
}

/// `objects` posts of ~`kb` KB each in class `class` (created through the adapter).
async fn posts(a: &Adapter, class: &str, objects: usize, kb: usize) {
    let body = "x".repeat(kb * 1024);
    let work = (0..objects).map(|i| {
        let obj = json!({"objectId": format!("p{i:04}"), "n": i, "title": format!("title {i}"), "body": body});
        async move { must(a, "createObject", json!([class, {}, obj])).await }
    });
    futures::future::join_all(work).await;
}

async fn with(options: Options) -> Adapter {
    let table = format!("t{}", rand_suffix());
    Adapter::connect_with(config(&table), options)
        .await
        .expect("connect")
}

/// Waits until no request of the adapter is still under way (counter updates go beside the
/// answers): its usage stops moving.
async fn quiet(a: &Adapter) {
    let mut last = a.store().usage().requests;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = a.store().usage().requests;
        if now == last {
            return;
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_charged_to_one_row_and_the_rows_add_up() {
    let a = with(Options {
        costs: parse_server_dynamodb::adapter::CostOptions {
            log: parse_server_dynamodb::bill::Thresholds {
                read_units: Some(6.0),
                write_units: None,
            },
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let schema = json!({"fields": fields(), "indexes": {"by_n": {"n": 1}}});
    must(&a, "createClass", json!(["Post", schema])).await;
    // A "batch" of creates under one request, a find under another, and calls outside both.
    let batch = json!({"id": 1, "route": "POST /batch"});
    for i in 0..12 {
        let obj = json!({"objectId": format!("b{i}"), "n": i, "body": "y".repeat(3000)});
        call_tagged(
            &a,
            "createObject",
            &[json!("Post"), json!({}), obj],
            Some(&batch),
        )
        .await
        .expect("create");
    }
    a.request_done(1, Some(200), Some(12.0));
    let find = json!({"id": 2, "route": "GET /classes/:className", "class": "Post"});
    let q = [
        json!("Post"),
        json!({}),
        json!({"body": {"$regex": "y"}}),
        json!({}),
    ];
    let rows = call_tagged(&a, "find", &q, Some(&find))
        .await
        .expect("find");
    assert_eq!(rows.as_array().map(Vec::len), Some(12));
    let cheap = json!({"id": 3, "route": "GET /classes/:className", "class": "Post"});
    let q = [json!("Post"), json!({}), json!({"n": 3}), json!({})];
    call_tagged(&a, "find", &q, Some(&cheap))
        .await
        .expect("find");
    a.request_done(2, Some(200), Some(30.0));
    a.request_done(3, Some(200), Some(3.0));
    call_tagged(&a, "count", &[json!("Post"), json!({}), json!({})], None)
        .await
        .expect("count");
    quiet(&a).await;

    let usage = a.store().usage();
    let report = a.cost_report(None, None, 100);
    let rows = report["rows"].as_array().expect("rows");
    let sum = |k: &str| rows.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>();
    assert!(
        (sum("readUnits") - usage.read_units).abs() < 1e-6,
        "{report} vs {usage:?}"
    );
    assert!(
        (sum("writeUnits") - usage.write_units).abs() < 1e-6,
        "{report} vs {usage:?}"
    );
    assert!(usage.write_units > 0.0 && usage.read_units > 0.0);
    let row = |route: &str| {
        rows.iter()
            .find(|r| r["route"] == route)
            .unwrap_or_else(|| panic!("no row {route}: {report}"))
    };
    let batch = row("POST /batch");
    assert_eq!(batch["requests"], 1.0);
    assert_eq!(batch["calls"], 12.0);
    // 12 objects of ~3 KB, each with an index entry: at least 4 write units each.
    assert!(
        batch["writeUnitsPerRequest"].as_f64().unwrap() >= 48.0,
        "{batch}"
    );
    let finds = row("GET /classes/:className");
    assert_eq!(
        (finds["requests"].as_f64(), finds["class"].as_str()),
        (Some(2.0), Some("Post"))
    );
    // Outside requests: the count. What the test sent around `call_tagged` (creating the
    // class) and the adapter's own work (counters) are the background.
    assert_eq!(row("(no request)")["calls"], 1.0);
    assert!(row("(background)")["writeUnits"].as_f64().unwrap() > 0.0);
    assert!(report["dollarsPerMonth"].as_f64().unwrap() > 0.0);

    // The find that read the class (12 objects of 3 KB: 9 units) went past costLog's 6 read
    // units and was logged with its plan; the indexed one was not.
    let logged: Vec<String> = a
        .log()
        .drain()
        .into_iter()
        .filter(|r| r.message.starts_with("cost over costLog"))
        .map(|r| r.message)
        .collect();
    assert_eq!(logged.len(), 1, "{logged:?}");
    let line: Value = serde_json::from_str(logged[0].trim_start_matches("cost over costLog: "))
        .expect("the log line is JSON after its prefix");
    assert_eq!(line["route"], "GET /classes/:className");
    assert_eq!(line["queries"][0]["call"], "find");
    assert_eq!(line["queries"][0]["plan"]["operation"], "Query");
    assert_eq!(line["queries"][0]["plan"]["partition"], "Post");
    assert!(line["readUnits"].as_f64().unwrap() >= 6.0, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_refuses_what_is_planned_above_it_and_passes_indexed_queries() {
    let budget = |units: f64, stop: bool| Options {
        budget: Some(BudgetOption { units, stop }),
        ..Options::default()
    };
    let a = with(budget(30.0, true)).await;
    // A class never counted (Parse reads its own, `_Hooks` and others, at start) is not
    // refused on a guess of its size.
    assert_eq!(
        must(&a, "find", json!(["_Hooks", {}, {}, {}])).await,
        json!([])
    );
    // The same 300 objects (~1 KB each) in a class with a trigram index on `title` and in
    // one with only `n` indexed.
    let indexed =
        json!({"fields": fields(), "indexes": {"by_n": {"n": 1}, "t": {"title": "trigram"}}});
    must(&a, "createClass", json!(["Post", indexed])).await;
    let plain = json!({"fields": fields(), "indexes": {"by_n": {"n": 1}}});
    must(&a, "createClass", json!(["Plain", plain])).await;
    posts(&a, "Post", 300, 1).await;
    posts(&a, "Plain", 300, 1).await;
    // Indexed equality and range: a few units.
    let rows = must(&a, "find", json!(["Plain", {}, {"n": 7}, {}])).await;
    assert_eq!(common::ids(&rows), vec!["p0007"]);
    assert_eq!(
        must(&a, "count", json!(["Plain", {}, {"n": {"$lt": 3}}])).await,
        3
    );
    // A substring search: served by the trigram index where it is declared...
    let q = json!({"title": {"$regex": "tle 11"}});
    let rows = must(&a, "find", json!(["Post", {}, q, {}])).await;
    // ("title 11", "title 110" … "title 119")
    assert_eq!(common::ids(&rows).len(), 11);
    // ...and refused where it would read the whole class (~300 × 1 KB), naming that index.
    let before = a.store().usage().read_units;
    for (method, args) in [
        ("find", json!(["Plain", {}, q, {}])),
        ("count", json!(["Plain", {}, q])),
        ("aggregate", json!(["Plain", {}, [{"$match": q}]])),
    ] {
        match c(&a, method, args).await {
            Err(e @ Error::OverBudget(_)) => {
                let m = e.to_string();
                assert!(m.contains("maxReadUnitsPerQuery (30)"), "{m}");
                assert!(m.contains(r#"{"title":"trigram"}"#), "{m}");
                assert!(m.starts_with(&format!("this {method} on Plain")), "{m}");
                assert_eq!(e.code(), 140);
            }
            other => panic!("{method} not refused: {other:?}"),
        }
    }
    // Refused before reading the class: at most its counters were read.
    assert!(a.store().usage().read_units - before < 3.0);

    // Warn mode: the same query runs, and the log says it was over.
    let w = Adapter::connect_with(config(a.store().table()), budget(30.0, false))
        .await
        .expect("connect");
    let rows = must(&w, "find", json!(["Plain", {}, q, {}])).await;
    assert_eq!(common::ids(&rows).len(), 11);
    let warned: Vec<String> = w.log().drain().into_iter().map(|r| r.message).collect();
    assert!(
        warned
            .iter()
            .any(|m| m.contains("over maxReadUnitsPerQuery (30)") && m.contains("warn mode")),
        "{warned:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_dearer_than_its_plan_is_stopped_at_the_budget() {
    // 150 objects of ~3 KB: the planner, not knowing their size yet, takes the class at
    // ~1 KB an object (~39 units), under the budget of 60; the read bills ~3 times that.
    let table = format!("t{}", rand_suffix());
    let setup = Adapter::connect(config(&table)).await.expect("connect");
    must(&setup, "createClass", json!(["Big", {"fields": fields()}])).await;
    posts(&setup, "Big", 150, 3).await;
    quiet(&setup).await;
    let a = Adapter::connect_with(
        config(&table),
        Options {
            budget: Some(BudgetOption {
                units: 60.0,
                stop: true,
            }),
            ..Options::default()
        },
    )
    .await
    .expect("connect");
    let before = a.store().usage().read_units;
    let e = c(
        &a,
        "find",
        json!(["Big", {}, {"body": {"$regex": "q"}}, {}]),
    )
    .await
    .expect_err("stopped");
    assert!(matches!(e, Error::OverBudget(_)), "{e}");
    assert!(e.to_string().contains("stopped after"), "{e}");
    let spent = a.store().usage().read_units - before;
    // Stopped at the first page past 60 units, well before the ~115 of the whole class.
    assert!(spent > 60.0 && spent < 100.0, "{spent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_an_index_serves_is_read_through_it_once_its_class_was_measured() {
    // A range's share of the class is a guess (0.3) until a read measures it, against the
    // class's size: the index read (~90 objects fetched by that guess) looks dearer than the
    // class (~300 × 1 KB), so the first read reads the class. It must still teach the
    // planner (it counted the class as it went), so that later ones read about their answer.
    let a = common::adapter().await;
    let schema = json!({"fields": fields(), "indexes": {"by_n": {"n": 1}}});
    must(&a, "createClass", json!(["Post", schema])).await;
    posts(&a, "Post", 300, 1).await;
    quiet(&a).await;
    let q = json!(["Post", {}, {"n": {"$gte": 295}}, {}]);
    let mut spent = Vec::new();
    for _ in 0..4 {
        let before = a.store().usage().read_units;
        let rows = must(&a, "find", q.clone()).await;
        assert_eq!(common::ids(&rows).len(), 5);
        spent.push(a.store().usage().read_units - before);
        quiet(&a).await;
    }
    assert!(spent[0] > 60.0, "the first read reads the class: {spent:?}");
    assert!(
        spent[3] < 12.0,
        "then the index, about its answer: {spent:?}"
    );
}

//! Property test of the planner's contract: the filter expression DynamoDB evaluates, and the
//! index lookups it chooses, only ever narrow away rows the evaluator would reject, so a find through DynamoDB returns exactly what the
//! evaluator alone returns over every stored object. Random objects, random queries, fixed seed.

mod common;

use parse_server_dynamodb::adapter::FindOptions;
use parse_server_dynamodb::query::{eval::matches, parse_query};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

fn scalar(r: &mut StdRng) -> Value {
    match r.random_range(0..7) {
        0 => json!(r.random_range(-3..4)),
        1 => json!(r.random_range(-3..4) as f64 + 0.5),
        2 => {
            json!(["a", "b", "ab", "B", "", "p1", "2020-01-02T00:00:00.000Z"][r.random_range(0..7)])
        }
        3 => json!(r.random_bool(0.5)),
        4 => Value::Null,
        5 => {
            json!({"__type": "Date", "iso": format!("2020-01-0{}T00:00:00.000Z", r.random_range(1..5))})
        }
        _ => {
            json!({"__type": "Pointer", "className": "P", "objectId": format!("p{}", r.random_range(0..3))})
        }
    }
}

fn field_value(r: &mut StdRng) -> Option<Value> {
    match r.random_range(0..6) {
        0 => None,
        1 => Some(Value::Array(
            (0..r.random_range(0..4)).map(|_| scalar(r)).collect(),
        )),
        2 => Some(json!({"x": scalar(r), "y": [scalar(r)]})),
        _ => Some(scalar(r)),
    }
}

fn object(r: &mut StdRng, i: usize) -> Value {
    let mut m = Map::new();
    m.insert("objectId".into(), json!(format!("o{i:03}")));
    for f in ["a", "b", "c"] {
        if let Some(v) = field_value(r) {
            m.insert(f.into(), v);
        }
    }
    Value::Object(m)
}

fn constraint(r: &mut StdRng) -> Value {
    let v = scalar(r);
    match r.random_range(0..12) {
        0 => v,
        1 => json!({"$ne": v}),
        2 => json!({"$lt": v}),
        3 => json!({"$lte": v}),
        4 => json!({"$gt": v}),
        5 => json!({"$gte": v}),
        6 => json!({"$in": [v, scalar(r), scalar(r)]}),
        7 => json!({"$nin": [v, scalar(r)]}),
        8 => json!({"$exists": r.random_bool(0.5)}),
        9 => {
            let re = ["^a", "b$", "^\\Qa\\E", "A"][r.random_range(0..4)];
            let opts = ["", "i"][r.random_range(0..2)];
            json!({"$regex": re, "$options": opts})
        }
        10 => json!({"$all": [scalar(r)]}),
        _ => json!({"$gt": v, "$lt": scalar(r)}),
    }
}

fn query(r: &mut StdRng, depth: u32) -> Value {
    let mut m = Map::new();
    for _ in 0..r.random_range(1..3) {
        let f = ["a", "b", "c", "a.x", "c.y"][r.random_range(0..5)];
        m.insert(f.into(), constraint(r));
    }
    if depth < 2 && r.random_bool(0.4) {
        let op = ["$or", "$and", "$nor"][r.random_range(0..3)];
        let subs: Vec<Value> = (0..r.random_range(1..4))
            .map(|_| query(r, depth + 1))
            .collect();
        m.insert(op.into(), Value::Array(subs));
    }
    Value::Object(m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushdown_plus_evaluation_equals_evaluation_alone() {
    let a = common::adapter().await;
    let mut r = StdRng::seed_from_u64(0x5eed);
    // Half the fields indexed (before and after the data is written), so index lookups are
    // checked against the evaluator too.
    a.ensure_index("R", "a", false).await.expect("index a");
    let objects: Vec<Value> = (0..80).map(|i| object(&mut r, i)).collect();
    for o in &objects {
        a.create_object("R", o, None).await.expect("create");
    }
    a.ensure_index("R", "b", false).await.expect("index b");
    a.ensure_index("R", "a.x", false).await.expect("index a.x");
    // What the store gives back (canonical form) is what the evaluator sees.
    let stored = a
        .find("R", &json!({}), &json!({}), &FindOptions::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), objects.len());
    let mut checked = 0;
    for _ in 0..400 {
        let q = query(&mut r, 0);
        let Ok(expr) = parse_query(&q, false) else {
            continue;
        };
        let mut expected: Vec<String> = stored
            .iter()
            .filter(|o| matches(&expr, o.as_object().unwrap()))
            .map(|o| o["objectId"].as_str().unwrap().to_string())
            .collect();
        expected.sort();
        let got = a.find("R", &json!({}), &q, &FindOptions::default()).await;
        let mut got: Vec<String> = got
            .unwrap_or_else(|e| panic!("query {q} failed: {e}"))
            .iter()
            .map(|o| o["objectId"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        assert_eq!(got, expected, "query {q}");
        checked += 1;
    }
    assert!(checked > 300, "only {checked} queries were valid");
}

//! The core never panics on user input: 100,000 random queries, updates, objects and pipelines
//! (deep nesting, `$`-keys, odd field names, huge numbers, injection-looking strings) go through
//! parsing, planning, evaluation, updates, the codec and aggregation. Each must answer a value
//! or a Parse error; a panic fails the test. Seeded, so a failure can be replayed.

use parse_server_dynamodb::codec::{canonical, from_attr, to_attr};
use parse_server_dynamodb::query::aggregate;
use parse_server_dynamodb::query::eval::matches;
use parse_server_dynamodb::query::parse::{parse_query, parse_query_for};
use parse_server_dynamodb::query::plan::plan;
use parse_server_dynamodb::update;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Number, Value};

const KEYS: &[&str] = &[
    "a",
    "b",
    "objectId",
    "_rperm",
    "authData",
    "$or",
    "$and",
    "$nor",
    "$in",
    "$nin",
    "$gt",
    "$lt",
    "$regex",
    "$options",
    "$all",
    "$exists",
    "$ne",
    "$eq",
    "$not",
    "$text",
    "$search",
    "$term",
    "$nearSphere",
    "$maxDistance",
    "$within",
    "$box",
    "$geoWithin",
    "$polygon",
    "$centerSphere",
    "$geoIntersects",
    "$point",
    "$relativeTime",
    "$containedBy",
    "$select",
    "__type",
    "__op",
    "iso",
    "className",
    "latitude",
    "longitude",
    "objects",
    "amount",
    "a.b",
    "a.0.c",
    "",
    ".",
    "_auth_data_x",
    "$where",
    "createdAt",
    "$group",
    "$match",
    "$project",
    "$sort",
    "$unwind",
    "$sum",
    "_id",
    "\u{0}",
    "é",
];
const STRINGS: &[&str] = &[
    "",
    "x",
    "Pointer",
    "Date",
    "File",
    "GeoPoint",
    "Polygon",
    "Increment",
    "Add",
    "AddUnique",
    "Remove",
    "Delete",
    "2020-01-01T00:00:00Z",
    "not a date",
    "(.*",
    "^\\Qa\\E",
    "[",
    "\\",
    "' OR 1=1 --",
    "#n0 = :v0",
    "); DROP TABLE",
    "3 days ago",
    "in 1 week",
    "ago",
    "$a",
    "$_id",
    "i",
    "imxsu",
    "ü",
    "\u{FFFF}",
    "\u{1F600}",
];

fn value(r: &mut StdRng, depth: u32) -> Value {
    let pick = if depth > 6 {
        r.random_range(0..5)
    } else {
        r.random_range(0..9)
    };
    match pick {
        0 => Value::Null,
        1 => json!(r.random_bool(0.5)),
        2 => match r.random_range(0..5) {
            0 => json!(r.random_range(-5..5)),
            1 => json!(i64::MAX),
            2 => Value::Number(Number::from_f64(1e300).unwrap_or(Number::from(0))),
            3 => Value::Number(Number::from_f64(-1e-300).unwrap_or(Number::from(0))),
            _ => json!(r.random_range(-1000.0..1000.0)),
        },
        3 | 4 => json!(STRINGS[r.random_range(0..STRINGS.len())]),
        5 | 6 => Value::Array(
            (0..r.random_range(0..4))
                .map(|_| value(r, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..r.random_range(0..4) {
                m.insert(
                    KEYS[r.random_range(0..KEYS.len())].to_string(),
                    value(r, depth + 1),
                );
            }
            Value::Object(m)
        }
    }
}

fn object(r: &mut StdRng) -> Map<String, Value> {
    match value(r, 3) {
        Value::Object(m) => m,
        other => Map::from_iter([("a".to_string(), other)]),
    }
}

#[test]
fn random_input_never_panics() {
    let mut r = StdRng::seed_from_u64(0xdeadbeef);
    let mut parsed = 0;
    for _ in 0..100_000 {
        let q = value(&mut r, 0);
        let obj = object(&mut r);
        let field_type = ["Date", "String", "Number"][r.random_range(0..3)];
        let schema = json!({"fields": {"a": {"type": field_type}}});
        let _ = parse_query_for(&q, r.random_bool(0.2), &schema);
        if let Ok(expr) = parse_query(&q, false) {
            parsed += 1;
            let _ = plan(&expr);
            let _ = matches(&expr, &obj);
        }
        let mut target = object(&mut r);
        let upd = object(&mut r);
        let _ = update::apply(&mut target, &upd);
        if let Ok(c) = canonical(&value(&mut r, 0)) {
            if let Ok(a) = to_attr(&c) {
                let _ = from_attr(&a);
            }
        }
        if let Value::Array(stages) = value(&mut r, 4) {
            let _ = aggregate::run(&stages, vec![obj.clone(), target]);
        }
    }
    // The generator must reach the evaluator, not only the error paths.
    assert!(parsed > 10_000, "only {parsed} queries parsed");
}

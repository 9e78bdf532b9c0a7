//! Search indexes (issue 34), against dynoxide: a trigram index declared through the schema
//! (`{name: "trigram"}`) answers substring, suffix and regex queries (with and without the `i`
//! flag) exactly as the evaluator does over every object, random strings and random regexes,
//! while objects are written between the queries; and such a query reads about what it
//! answers. `$all` on an indexed array reads the entries of its values, intersected.

mod common;

use common::{c, ids, must};
use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::query::{eval::matches, parse_query};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Letters that fold together under a case-insensitive regex, and some that do not.
const ALPHABET: &[char] = &[
    'a', 'b', 'c', 'x', 'y', 'A', 'B', 'X', 's', 'S', 'ſ', 'σ', 'ς', 'Σ', 'i', 'I', 'ı', 'k', 'K',
    '\u{212a}', 'ß', '.', ' ', '1',
];

fn word(r: &mut StdRng, len: usize) -> String {
    (0..len)
        .map(|_| ALPHABET[r.random_range(0..ALPHABET.len())])
        .collect()
}

/// A regex every so often matching some of `names`: a piece of one of them, quoted or
/// escaped, with a wildcard, an optional character, a class, a group or an anchor mixed in.
fn regex(r: &mut StdRng, names: &[String]) -> (String, String) {
    let name = &names[r.random_range(0..names.len())];
    let chars: Vec<char> = name.chars().collect();
    let len = r.random_range(3..=6.min(chars.len()).max(3));
    let start = r.random_range(0..=chars.len().saturating_sub(len));
    let piece: Vec<char> = chars[start..(start + len).min(chars.len())].to_vec();
    let esc = |c: char| {
        if "\\^$.|?*+()[]{}/-".contains(c) {
            format!("\\{c}")
        } else {
            c.to_string()
        }
    };
    let mut src: String = match r.random_range(0..6) {
        0 => format!("\\Q{}\\E", piece.iter().collect::<String>()),
        1 => piece.iter().map(|c| esc(*c)).collect(),
        2 => {
            // A wildcard instead of one character.
            let at = r.random_range(0..piece.len());
            piece
                .iter()
                .enumerate()
                .map(|(i, c)| if i == at { ".".into() } else { esc(*c) })
                .collect()
        }
        3 => {
            // One character optional.
            let at = r.random_range(0..piece.len());
            piece
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == at {
                        format!("{}?", esc(*c))
                    } else {
                        esc(*c)
                    }
                })
                .collect()
        }
        4 => format!(
            "{}(x|[ab]){}",
            piece.iter().map(|c| esc(*c)).collect::<String>(),
            word(r, 2).chars().map(esc).collect::<String>()
        ),
        _ => format!(
            "{}+{}",
            esc(piece[0]),
            piece[1..].iter().map(|c| esc(*c)).collect::<String>()
        ),
    };
    match r.random_range(0..5) {
        0 => src.push('$'),
        1 => src.insert(0, '^'),
        _ => {}
    }
    let flags = if r.random_bool(0.5) { "i" } else { "" };
    (src, flags.to_string())
}

/// The objectIds of the objects of `model` the evaluator matches with `q`.
fn expected(model: &BTreeMap<String, Map<String, Value>>, q: &Value) -> Vec<String> {
    let e = parse_query(q, false).expect("query");
    model
        .iter()
        .filter(|(_, o)| matches(&e, o))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Checks that a find of `q` answers what the evaluator does over `model`; answers whether
/// the plan read index `spec`.
async fn as_the_evaluator(
    a: &Adapter,
    class: &str,
    schema: &Value,
    model: &BTreeMap<String, Map<String, Value>>,
    q: &Value,
    spec: &str,
) -> bool {
    let got = match c(a, "find", json!([class, schema, q, {}])).await {
        Ok(v) => ids(&v),
        Err(e) => panic!("{q}: {e}"),
    };
    assert_eq!(got, expected(model, q), "{q}");
    let plan = must(
        a,
        "explain",
        json!([class, schema, q, {"explain": "queryPlanner"}]),
    )
    .await;
    plan.to_string().contains(spec)
}

async fn trigram_class(a: &Adapter) -> Value {
    let schema = json!({"fields": {"name": {"type": "String"}}, "indexes": {"name_tri": {"name": "trigram"}}});
    must(a, "createClass", json!(["T", schema])).await;
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regexes_through_a_trigram_index_answer_as_the_evaluator() {
    let a = common::adapter().await;
    let schema = trigram_class(&a).await;
    let mut r = StdRng::seed_from_u64(34);
    let mut model: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for i in 0..200 {
        let len = r.random_range(0..12);
        let obj = json!({"objectId": format!("o{i:03}"), "name": word(&mut r, len)});
        must(&a, "createObject", json!(["T", schema, obj])).await;
        model.insert(format!("o{i:03}"), obj.as_object().unwrap().clone());
    }
    let mut used = 0;
    for round in 0..150 {
        if round % 10 == 9 {
            // Writes between the queries: new names for a few objects.
            for _ in 0..5 {
                let id = format!("o{:03}", r.random_range(0..200));
                let len = r.random_range(0..12);
                let name = word(&mut r, len);
                must(
                    &a,
                    "updateObjectsByQuery",
                    json!(["T", schema, {"objectId": id}, {"name": name}]),
                )
                .await;
                model
                    .get_mut(&id)
                    .unwrap()
                    .insert("name".into(), json!(name));
            }
        }
        let names: Vec<String> = model
            .values()
            .filter_map(|o| o["name"].as_str().map(String::from))
            .filter(|n| n.chars().count() >= 3)
            .collect();
        let (src, flags) = regex(&mut r, &names);
        let q = json!({"name": {"$regex": src, "$options": flags}});
        used += usize::from(as_the_evaluator(&a, "T", &schema, &model, &q, "name:tri").await);
    }
    assert!(used > 100, "the trigram index served {used} of 150 regexes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_substring_reads_about_what_it_answers() {
    let a = common::adapter().await;
    let schema = trigram_class(&a).await;
    for i in 0..300 {
        let name = if i % 60 == 7 {
            format!("item {i} Quokka-{i}")
        } else {
            format!("item {i} plain title {}", "x".repeat(300))
        };
        must(
            &a,
            "createObject",
            json!(["T", schema, {"objectId": format!("o{i:03}"), "name": name}]),
        )
        .await;
    }
    let read = |a: &Adapter| a.store().usage().read_units;
    for (q, rows) in [
        (
            json!({"name": {"$regex": "\\Qquokka\\E", "$options": "i"}}),
            5,
        ),
        (json!({"name": {"$regex": "okka-67$"}}), 1),
        (json!({"name": {"$regex": "Quo.ka-1"}}), 2),
    ] {
        let before = read(&a);
        let got = must(&a, "find", json!(["T", schema, q, {}])).await;
        let units = read(&a) - before;
        assert_eq!(got.as_array().unwrap().len(), rows, "{q}");
        assert!(
            units <= 2.0 * rows as f64 + 5.0,
            "{q}: {units} read units for {rows} rows"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contains_all_reads_the_entries_of_its_values() {
    let a = common::adapter().await;
    must(&a, "ensureIndex", json!(["Tagged", {}, ["tags"]])).await;
    for i in 0..300 {
        let tags = json!([format!("t{}", i % 7), format!("u{}", i % 11), "all"]);
        let obj = json!({"objectId": format!("o{i:03}"), "tags": tags, "pad": "x".repeat(300)});
        must(&a, "createObject", json!(["Tagged", {}, obj])).await;
    }
    let read = |a: &Adapter| a.store().usage().read_units;
    let before = read(&a);
    let q = json!({"tags": {"$all": ["t3", "u5"]}});
    let got = must(&a, "find", json!(["Tagged", {}, q, {}])).await;
    let units = read(&a) - before;
    let want: Vec<String> = (0..300)
        .filter(|i| i % 7 == 3 && i % 11 == 5)
        .map(|i| format!("o{i:03}"))
        .collect();
    assert_eq!(ids(&got), want);
    assert!(
        units <= 2.0 * want.len() as f64 + 5.0,
        "{units} read units for {} rows",
        want.len()
    );
}

/// Words that stem, fold and stop: plural forms, accents, capitals, English stop words, and
/// Portuguese words (for documents whose `language` is Portuguese).
const WORDS: &[&str] = &[
    "coffee",
    "coffees",
    "Coffee",
    "shop",
    "shops",
    "shopping",
    "café",
    "CAFE",
    "cream",
    "the",
    "and",
    "of",
    "prepare",
    "preparamos",
    "preparado",
    "bolo",
    "o",
    "tea",
    "teas",
    "day",
    "days",
    "naïve",
    "naive",
    "résumé",
    "resume",
    "run",
    "running",
    "ran",
];

fn text(r: &mut StdRng) -> String {
    let n = r.random_range(1..7);
    (0..n)
        .map(|_| WORDS[r.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(if r.random_bool(0.2) { ", " } else { " " })
}

/// A `$text` search: words (some negated), perhaps a phrase, in English or Portuguese, now
/// and then case- or diacritic-sensitive.
fn text_search(r: &mut StdRng) -> Value {
    let mut parts: Vec<String> = Vec::new();
    for _ in 0..r.random_range(1..4) {
        let w = WORDS[r.random_range(0..WORDS.len())];
        parts.push(if r.random_bool(0.15) {
            format!("-{w}")
        } else {
            w.to_string()
        });
    }
    if r.random_bool(0.2) {
        let a = WORDS[r.random_range(0..WORDS.len())];
        let b = WORDS[r.random_range(0..WORDS.len())];
        parts.push(format!("\"{a} {b}\""));
    }
    let mut search = json!({"$term": parts.join(" ")});
    if r.random_bool(0.2) {
        search["$language"] = json!("pt");
    }
    if r.random_bool(0.1) {
        search["$caseSensitive"] = json!(true);
    }
    if r.random_bool(0.1) {
        search["$diacriticSensitive"] = json!(true);
    }
    json!({"body": {"$text": {"$search": search}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_searches_through_a_text_index_answer_as_the_evaluator() {
    let a = common::adapter().await;
    let schema = json!({"fields": {"body": {"type": "String"}, "language": {"type": "String"}},
        "indexes": {"body_text": {"body": "text"}}});
    must(&a, "createClass", json!(["Doc", schema])).await;
    let mut r = StdRng::seed_from_u64(3434);
    let mut model: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for i in 0..150 {
        let mut obj = json!({"objectId": format!("d{i:03}"), "body": text(&mut r)});
        if r.random_bool(0.2) {
            obj["language"] = json!("portuguese");
        }
        if r.random_bool(0.1) {
            obj["body"] = json!([text(&mut r), text(&mut r)]);
        }
        must(&a, "createObject", json!(["Doc", schema, obj])).await;
        model.insert(format!("d{i:03}"), obj.as_object().unwrap().clone());
    }
    let mut used = 0;
    for round in 0..120 {
        if round % 10 == 9 {
            for _ in 0..5 {
                let id = format!("d{:03}", r.random_range(0..150));
                let body = text(&mut r);
                must(
                    &a,
                    "updateObjectsByQuery",
                    json!(["Doc", schema, {"objectId": id}, {"body": body}]),
                )
                .await;
                model
                    .get_mut(&id)
                    .unwrap()
                    .insert("body".into(), json!(body));
            }
        }
        let q = text_search(&mut r);
        used += usize::from(as_the_evaluator(&a, "Doc", &schema, &model, &q, "body:text").await);
    }
    assert!(used > 80, "the text index served {used} of 120 searches");
}

fn point(lat: f64, lng: f64) -> Value {
    json!({"__type": "GeoPoint", "latitude": lat, "longitude": lng})
}

/// A random point: mostly around a few centres (a city, the antimeridian, near a pole), some
/// anywhere.
fn place(r: &mut StdRng) -> (f64, f64) {
    let centres: [(f64, f64); 5] = [
        (48.85, 2.35),
        (-33.9, 151.2),
        (0.0, 179.9),
        (89.5, 10.0),
        (37.77, -122.42),
    ];
    if r.random_bool(0.2) {
        return (r.random_range(-90.0..=90.0), r.random_range(-180.0..=180.0));
    }
    let (lat, lng) = centres[r.random_range(0..centres.len())];
    let spread: f64 = [0.01, 0.3, 3.0][r.random_range(0..3)];
    let lat = (lat + r.random_range(-spread..spread)).clamp(-90.0, 90.0);
    let mut lng = lng + r.random_range(-spread..spread);
    if lng > 180.0 {
        lng -= 360.0;
    }
    (lat, lng)
}

/// A random geo query and its limit: near (with or without a maximum), a box, a polygon, a
/// circle; sometimes with a condition on another field.
fn geo_query(r: &mut StdRng) -> (Value, Option<usize>) {
    // Half the points anywhere: their nearest objects are often beyond the first cells read.
    let (lat, lng) = if r.random_bool(0.5) {
        (r.random_range(-90.0..=90.0), r.random_range(-180.0..=180.0))
    } else {
        place(r)
    };
    let radius = [0.00001, 0.001, 0.01, 0.1, 1.0][r.random_range(0..5)];
    let (mut q, limit) = match r.random_range(0..5) {
        0 => (
            json!({"loc": {"$nearSphere": point(lat, lng)}}),
            Some(r.random_range(1..8)),
        ),
        1 => (
            json!({"loc": {"$nearSphere": point(lat, lng), "$maxDistance": radius}}),
            r.random_bool(0.5).then(|| r.random_range(1..8)),
        ),
        2 => {
            let (dlat, dlng) = (r.random_range(0.001..5.0), r.random_range(0.001..5.0));
            let (s, w) = ((lat - dlat).max(-90.0), (lng - dlng).max(-180.0));
            let (n, e) = ((lat + dlat).min(90.0), (lng + dlng).min(180.0));
            (
                json!({"loc": {"$within": {"$box": [point(s, w), point(n, e)]}}}),
                None,
            )
        }
        3 => {
            let d = r.random_range(0.01..3.0);
            let (lat, lng) = (lat.clamp(-85.0, 85.0), lng.clamp(-175.0, 175.0));
            let pts = json!([[lng, lat + d], [lng + d, lat - d], [lng - d, lat - d]]);
            (json!({"loc": {"$geoWithin": {"$polygon": pts}}}), None)
        }
        _ => (
            json!({"loc": {"$geoWithin": {"$centerSphere": [[lng, lat], radius]}}}),
            None,
        ),
    };
    if r.random_bool(0.3) {
        q["kind"] = json!(r.random_range(0..3));
    }
    (q, limit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geo_queries_through_a_geo_index_answer_as_the_evaluator() {
    use parse_server_dynamodb::query::eval::distance_radians;
    let a = common::adapter().await;
    let schema = json!({"fields": {"loc": {"type": "GeoPoint"}, "kind": {"type": "Number"}},
        "indexes": {"loc_geo": {"loc": "2dsphere"}}});
    must(&a, "createClass", json!(["Place", schema])).await;
    let mut r = StdRng::seed_from_u64(343434);
    let mut model: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for i in 0..300 {
        let mut obj = json!({"objectId": format!("p{i:03}"), "kind": r.random_range(0..3)});
        if !r.random_bool(0.05) {
            let (lat, lng) = place(&mut r);
            obj["loc"] = point(lat, lng);
        }
        must(&a, "createObject", json!(["Place", schema, obj])).await;
        model.insert(format!("p{i:03}"), obj.as_object().unwrap().clone());
    }
    let mut used = 0;
    for round in 0..200 {
        if round % 10 == 9 {
            for _ in 0..5 {
                let id = format!("p{:03}", r.random_range(0..300));
                let (lat, lng) = place(&mut r);
                must(
                    &a,
                    "updateObjectsByQuery",
                    json!(["Place", schema, {"objectId": id}, {"loc": point(lat, lng)}]),
                )
                .await;
                model
                    .get_mut(&id)
                    .unwrap()
                    .insert("loc".into(), point(lat, lng));
            }
        }
        let (q, limit) = geo_query(&mut r);
        let opts = match limit {
            Some(l) => json!({"limit": l}),
            None => json!({}),
        };
        let got = match c(&a, "find", json!(["Place", schema, q, opts])).await {
            Ok(v) => v,
            Err(e) => panic!("{q}: {e}"),
        };
        let mut want = expected(&model, &q);
        let near = q["loc"].get("$nearSphere").map(|p| {
            (
                p["latitude"].as_f64().unwrap(),
                p["longitude"].as_f64().unwrap(),
            )
        });
        if let Some(centre) = near {
            // In distance order, the first `limit`.
            let dist = |id: &String| {
                let l = &model[id]["loc"];
                distance_radians(
                    (
                        l["latitude"].as_f64().unwrap(),
                        l["longitude"].as_f64().unwrap(),
                    ),
                    centre,
                )
            };
            want.sort_by(|x, y| dist(x).total_cmp(&dist(y)));
            want.truncate(limit.unwrap_or(usize::MAX));
            let got: Vec<String> = got
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["objectId"].as_str().unwrap().to_string())
                .collect();
            // Rows at equal distances (points at a pole) may come in either order.
            let matching = expected(&model, &q);
            assert!(
                got.iter().all(|id| matching.contains(id)),
                "{q} {opts}: {got:?}"
            );
            let ds = |v: &[String]| {
                v.iter()
                    .map(|id| (dist(id) * 1e12).round() as i64)
                    .collect::<Vec<_>>()
            };
            assert_eq!(ds(&got), ds(&want), "{q} {opts}: {got:?} {want:?}");
        } else {
            assert_eq!(ids(&got), want, "{q}");
        }
        let plan = must(
            &a,
            "explain",
            json!(["Place", schema, q, {"explain": "queryPlanner", "limit": limit}]),
        )
        .await;
        if plan.to_string().contains("loc:geo") {
            used += 1;
        }
    }
    assert!(used > 140, "the geo index served {used} of 200 queries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nearby_and_within_read_about_what_they_answer() {
    let a = common::adapter().await;
    let schema = json!({"fields": {"loc": {"type": "GeoPoint"}, "pad": {"type": "String"}},
        "indexes": {"loc_geo": {"loc": "2dsphere"}}});
    must(&a, "createClass", json!(["Shop", schema])).await;
    let mut r = StdRng::seed_from_u64(7);
    for i in 0..300 {
        // A city 0.2° across; objects of about 300 bytes.
        let (lat, lng) = (
            48.8 + r.random_range(0.0..0.2),
            2.25 + r.random_range(0.0..0.2),
        );
        let obj =
            json!({"objectId": format!("s{i:03}"), "loc": point(lat, lng), "pad": "x".repeat(300)});
        must(&a, "createObject", json!(["Shop", schema, obj])).await;
    }
    let read = |a: &Adapter| a.store().usage().read_units;
    let centre = point(48.9, 2.35);
    for (q, opts) in [
        (json!({"loc": {"$nearSphere": centre}}), json!({"limit": 5})),
        (
            json!({"loc": {"$nearSphere": centre, "$maxDistance": 0.0003}}),
            json!({"limit": 5}),
        ),
        (
            json!({"loc": {"$geoWithin": {"$centerSphere": [[2.35, 48.9], 0.0002]}}}),
            json!({}),
        ),
        (
            json!({"loc": {"$within": {"$box": [point(48.89, 2.34), point(48.905, 2.355)]}}}),
            json!({}),
        ),
    ] {
        let before = read(&a);
        let got = must(&a, "find", json!(["Shop", schema, q, opts])).await;
        let units = read(&a) - before;
        let rows = got.as_array().unwrap().len();
        assert!(rows >= 1, "{q}: no rows");
        assert!(
            units <= 2.0 * rows as f64 + 5.0,
            "{q}: {units} read units for {rows} rows"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_says_why_a_search_index_cannot_serve() {
    let a = common::adapter().await;
    let schema = trigram_class(&a).await;
    let explain = |q: Value| {
        let a = &a;
        let schema = schema.clone();
        async move {
            must(
                a,
                "explain",
                json!(["T", schema, q, {"explain": "queryPlanner"}]),
            )
            .await["queryPlanner"]
                .clone()
        }
    };
    let short = explain(json!({"name": {"$regex": "a.b|cd"}})).await;
    assert_eq!(short["access"]["partition"], "T", "{short}");
    assert!(
        short["notes"][0]
            .as_str()
            .unwrap()
            .contains("no literal run of 3"),
        "{short}"
    );
    let served = explain(json!({"name": {"$regex": "abc"}})).await;
    assert!(served.get("notes").is_none(), "{served}");
    assert!(
        served["access"]["via"]
            .as_str()
            .unwrap()
            .contains("name:tri"),
        "{served}"
    );
}

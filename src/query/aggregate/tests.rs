//! Stages and pipelines checked against MongoDB's documented examples.
use super::*;
use serde_json::json;

fn rows() -> Vec<Row> {
    vec![
        json!({"objectId": "a", "team": "x", "score": 10, "tags": ["p", "q"], "d": {"__type": "Date", "iso": "2020-03-04T05:06:07.000Z"}}),
        json!({"objectId": "b", "team": "y", "score": 5, "tags": []}),
        json!({"objectId": "c", "team": "x", "score": 1.5, "owner": {"__type": "Pointer", "className": "U", "objectId": "u1"}}),
    ]
    .into_iter()
    .map(|v| v.as_object().unwrap().clone())
    .collect()
}

fn run_json(p: Value) -> Vec<Value> {
    run(p.as_array().unwrap(), rows())
        .unwrap()
        .into_iter()
        .map(Value::Object)
        .collect()
}

#[test]
fn group_sum_avg_min_max_push() {
    let out = run_json(
        json!([{"$group": {"_id": "$team", "total": {"$sum": "$score"}, "n": {"$sum": 1},
        "avg": {"$avg": "$score"}, "lo": {"$min": "$score"}, "hi": {"$max": "$score"}, "all": {"$push": "$score"}}},
        {"$sort": {"_id": 1}}]),
    );
    assert_eq!(
        out[0],
        json!({"objectId": "x", "total": 11.5, "n": 2, "avg": 5.75, "lo": 1.5, "hi": 10, "all": [10, 1.5]})
    );
    assert_eq!(out[1]["objectId"], "y");
    let all = run_json(json!([{"$group": {"_id": null, "total": {"$sum": "$score"}}}]));
    assert_eq!(all, vec![json!({"objectId": null, "total": 16.5})]);
}

#[test]
fn match_project_unwind_count_and_date_parts() {
    let out = run_json(
        json!([{"$match": {"score": {"$gt": 2}}}, {"$project": {"score": 1}}, {"$sort": {"score": -1}}]),
    );
    assert_eq!(
        out,
        vec![
            json!({"objectId": "a", "score": 10}),
            json!({"objectId": "b", "score": 5})
        ]
    );
    let un = run_json(json!([{"$unwind": "$tags"}, {"$count": "n"}]));
    assert_eq!(un, vec![json!({"n": 2})]);
    let dp = run_json(
        json!([{"$match": {"objectId": "a"}}, {"$project": {"y": {"$year": "$d"}, "m": {"$month": "$d"}, "_id": 0}}]),
    );
    assert_eq!(dp, vec![json!({"y": 2020, "m": 3})]);
    let ptr = run_json(
        json!([{"$match": {"owner": {"$exists": true}}}, {"$group": {"_id": "$owner", "n": {"$sum": 1}}}]),
    );
    assert_eq!(ptr, vec![json!({"objectId": "u1", "n": 1})]);
}

#[test]
fn geo_near_orders_by_distance() {
    let pts: Vec<Row> = [(1.0, 1.0, 1), (3.0, 1.0, 3), (2.0, 1.0, 2)]
        .iter()
        .map(|(lat, lng, v)| {
            json!({"objectId": format!("p{v}"), "v": v, "loc": {"__type": "GeoPoint", "latitude": lat, "longitude": lng}})
                .as_object()
                .unwrap()
                .clone()
        })
        .collect();
    let out = run(&[json!({"$geoNear": {"near": {"type": "Point", "coordinates": [1, 1]}, "key": "loc", "distanceField": "d", "query": {"v": {"$gte": 2}}}})], pts.clone()).unwrap();
    let vs: Vec<i64> = out.iter().map(|r| r["v"].as_i64().unwrap()).collect();
    assert_eq!(vs, vec![2, 3]);
    assert!(
        out[0]["d"].as_f64().unwrap() > 100_000.0,
        "meters for a GeoJSON point"
    );
    let legacy = run(
        &[json!({"$geoNear": {"near": [1, 1], "distanceField": "d"}})],
        pts,
    )
    .unwrap();
    assert_eq!(legacy.len(), 3);
    assert!(
        legacy[2]["d"].as_f64().unwrap() < 0.1,
        "radians for a legacy pair"
    );
}

#[test]
fn unknown_stage_is_a_clear_error() {
    let e = run(&[json!({"$lookup": {}})], rows()).unwrap_err();
    assert_eq!(e.code(), crate::error::code::COMMAND_UNAVAILABLE);
}

fn docs(v: Value) -> Vec<Row> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_object().unwrap().clone())
        .collect()
}

fn out(pipeline: Value, input: Value) -> Vec<Value> {
    stages(pipeline.as_array().unwrap(), docs(input))
        .unwrap()
        .into_iter()
        .map(Value::Object)
        .collect()
}

#[test]
fn same_stage_twice_with_substr() {
    // The pipeline of the issue: two $project stages, each with $substr.
    let got = out(
        json!([
            {"$project": {"item": 1, "yearSubstring": {"$substr": ["$quarter", 0, 2]}, "quarterSubtring": {"$substr": ["$quarter", 2, -1]}}},
            {"$project": {"item": 1, "y": {"$substr": ["$yearSubstring", 1, 1]}}}
        ]),
        json!([{"_id": 1, "item": "ABC1", "quarter": "13Q1", "description": "product 1"}]),
    );
    assert_eq!(got, vec![json!({"_id": 1, "item": "ABC1", "y": "3"})]);
}

#[test]
fn add_fields_set_unset_replace_root() {
    let scores = json!([{"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "extraCredit": 0}]);
    let got = out(
        json!([
            {"$addFields": {"totalHomework": {"$sum": "$homework"}, "totalQuiz": {"$sum": "$quiz"}}},
            {"$set": {"totalScore": {"$add": ["$totalHomework", "$totalQuiz", "$extraCredit"]}}}
        ]),
        scores,
    );
    assert_eq!(got[0]["totalHomework"], 25);
    assert_eq!(got[0]["totalQuiz"], 18);
    assert_eq!(got[0]["totalScore"], 43);
    // Embedded fields: set one, keep the others.
    let got = out(
        json!([{"$addFields": {"specs.fuel_type": "unleaded"}}]),
        json!([{"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4}}]),
    );
    assert_eq!(
        got[0]["specs"],
        json!({"doors": 4, "wheels": 4, "fuel_type": "unleaded"})
    );
    let books = json!([{"_id": 1, "title": "Antelope Antics", "isbn": "0001122223334", "author": {"last": "An", "first": "Auntie"}, "copies": [{"warehouse": "A", "qty": 5}]}]);
    let got = out(
        json!([{"$unset": ["isbn", "author.first", "copies.warehouse"]}]),
        books.clone(),
    );
    assert_eq!(
        got[0],
        json!({"_id": 1, "title": "Antelope Antics", "author": {"last": "An"}, "copies": [{"qty": 5}]})
    );
    assert_eq!(
        out(json!([{"$unset": "copies"}]), books)[0].get("copies"),
        None
    );
    let fruit = json!([{"_id": 1, "fruit": ["apples", "oranges"], "in_stock": {"oranges": 20, "apples": 60}, "on_order": {"oranges": 35, "apples": 75}}]);
    assert_eq!(
        out(
            json!([{"$replaceRoot": {"newRoot": "$in_stock"}}]),
            fruit.clone()
        ),
        vec![json!({"oranges": 20, "apples": 60})]
    );
    let people = json!([{"_id": 1, "name": {"first": "John", "last": "Backus"}}, {"_id": 2, "name": {"first": "John", "last": "McCarthy"}}]);
    let got = out(
        json!([{"$replaceWith": {"$mergeObjects": [{"_id": "$_id", "first": "", "last": ""}, "$name"]}}]),
        people,
    );
    assert_eq!(
        got[1],
        json!({"_id": 2, "first": "John", "last": "McCarthy"})
    );
    let e = stages(
        &[json!({"$replaceRoot": {"newRoot": "$missing"}})],
        docs(fruit),
    )
    .unwrap_err();
    assert!(e.to_string().contains("must evaluate to an object"));
}

#[test]
fn sort_by_count_bucket_facet() {
    let exhibits = json!([
        {"_id": 1, "tags": ["painting", "satire", "Expressionism", "caricature"]},
        {"_id": 2, "tags": ["woodcut", "Expressionism"]},
        {"_id": 3, "tags": ["oil", "Surrealism", "painting"]},
        {"_id": 4, "tags": ["painting", "oil", "Expressionism"]}
    ]);
    let got = out(
        json!([{"$unwind": "$tags"}, {"$sortByCount": "$tags"}]),
        exhibits.clone(),
    );
    assert_eq!(got[0], json!({"_id": "painting", "count": 3}));
    assert_eq!(got[1], json!({"_id": "Expressionism", "count": 3}));
    assert_eq!(got[2], json!({"_id": "oil", "count": 2}));
    assert_eq!(got.len(), 7);
    let artists = json!([
        {"_id": 1, "last_name": "Bernard", "first_name": "Emil", "year_born": 1868},
        {"_id": 2, "last_name": "Rippl-Ronai", "first_name": "Joszef", "year_born": 1861},
        {"_id": 3, "last_name": "Ostroumova", "first_name": "Anna", "year_born": 1871},
        {"_id": 4, "last_name": "Van Gogh", "first_name": "Vincent", "year_born": 1853},
        {"_id": 5, "last_name": "Maurer", "first_name": "Alfred", "year_born": 1868},
        {"_id": 6, "last_name": "Munch", "first_name": "Edvard", "year_born": 1863},
        {"_id": 7, "last_name": "Redon", "first_name": "Odilon", "year_born": 1840},
        {"_id": 8, "last_name": "Diriks", "first_name": "Edvard", "year_born": 1855}
    ]);
    let got = out(
        json!([{"$bucket": {"groupBy": "$year_born", "boundaries": [1840, 1850, 1860, 1870, 1880], "default": "Other",
            "output": {"count": {"$sum": 1}, "artists": {"$push": {"name": {"$concat": ["$first_name", " ", "$last_name"]}, "year_born": "$year_born"}}}}},
            {"$match": {"count": {"$gt": 3}}}]),
        artists.clone(),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["_id"], 1860);
    assert_eq!(got[0]["count"], 4);
    assert_eq!(
        got[0]["artists"][0],
        json!({"name": "Emil Bernard", "year_born": 1868})
    );
    let ids: Vec<Value> = out(json!([{"$bucket": {"groupBy": "$year_born", "boundaries": [1850, 1860], "default": "Other"}}]), artists.clone())
        .into_iter()
        .map(|r| json!([r["_id"], r["count"]]))
        .collect();
    assert_eq!(ids, vec![json!([1850, 2]), json!(["Other", 6])]);
    assert!(stages(
        &[json!({"$bucket": {"groupBy": "$year_born", "boundaries": [1850, 1860]}})],
        docs(artists)
    )
    .is_err());
    let got = out(
        json!([{"$facet": {
            "byTag": [{"$unwind": "$tags"}, {"$sortByCount": "$tags"}, {"$limit": 1}],
            "total": [{"$count": "n"}]
        }}]),
        exhibits,
    );
    assert_eq!(
        got,
        vec![json!({"byTag": [{"_id": "painting", "count": 3}], "total": [{"n": 4}]})]
    );
}

#[test]
fn lookup_joins_as_mongodb_documents_it() {
    let orders = docs(json!([
        {"_id": 1, "item": "almonds", "price": 12, "quantity": 2},
        {"_id": 2, "item": "pecans", "price": 20, "quantity": 1},
        {"_id": 3}
    ]));
    let inventory = docs(json!([
        {"objectId": 1, "sku": "almonds", "description": "product 1", "instock": 120},
        {"objectId": 2, "sku": "bread", "description": "product 2", "instock": 80},
        {"objectId": 3, "sku": "cashews", "description": "product 3", "instock": 60},
        {"objectId": 4, "sku": "pecans", "description": "product 4", "instock": 70},
        {"objectId": 5, "sku": null, "description": "Incomplete"},
        {"objectId": 6, "_hashed_password": "secret"}
    ]));
    let l = Lookup::parse(&json!({"from": "inventory", "localField": "item", "foreignField": "sku", "as": "inventory_docs"})).unwrap();
    assert_eq!(l.from, "inventory");
    assert_eq!(
        l.local_values(&orders),
        vec![json!("almonds"), json!("pecans"), Value::Null]
    );
    let got = l.join(orders, inventory).unwrap();
    let ids = |r: &Row| -> Vec<Value> {
        r["inventory_docs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["_id"].clone())
            .collect()
    };
    assert_eq!(ids(&got[0]), vec![json!(1)]);
    assert_eq!(ids(&got[1]), vec![json!(4)]);
    // No item: matches the inventory without a sku (null or missing), as in MongoDB's example.
    assert_eq!(ids(&got[2]), vec![json!(5), json!(6)]);
    assert_eq!(
        got[2]["inventory_docs"][1],
        json!({"_id": 6}),
        "Parse's private fields are not joined"
    );
    assert!(Lookup::parse(&json!({"from": "x", "pipeline": [], "as": "y"})).is_err());
    let by_id =
        Lookup::parse(&json!({"from": "c", "localField": "ref", "foreignField": "_id", "as": "r"}))
            .unwrap();
    assert_eq!(by_id.foreign_field, "objectId");
}

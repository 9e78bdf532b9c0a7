//! Operators checked against the examples of MongoDB's aggregation operator reference.

use super::*;
use serde_json::json;

fn row(v: Value) -> Row {
    v.as_object().expect("an object").clone()
}

/// Evaluates `e` on `doc`; missing is `"MISSING"` so tests can tell it from null.
fn ev(e: Value, doc: Value) -> Value {
    eval(&e, &row(doc))
        .expect("evaluates")
        .unwrap_or(json!("MISSING"))
}

fn err(e: Value, doc: Value) -> String {
    eval(&e, &row(doc)).expect_err("an error").to_string()
}

#[test]
fn strings() {
    let inv = json!({"_id": 1, "item": "ABC1", "quarter": "13Q1", "description": "product 1"});
    assert_eq!(
        ev(json!({"$substr": ["$quarter", 0, 2]}), inv.clone()),
        "13"
    );
    assert_eq!(
        ev(json!({"$substr": ["$quarter", 2, -1]}), inv.clone()),
        "Q1"
    );
    assert_eq!(
        ev(json!({"$substrBytes": ["$quarter", 0, 2]}), inv.clone()),
        "13"
    );
    assert_eq!(
        ev(
            json!({"$concat": ["$item", " - ", "$description"]}),
            inv.clone()
        ),
        "ABC1 - product 1"
    );
    assert_eq!(
        ev(json!({"$concat": ["$item", "$missing"]}), inv.clone()),
        Value::Null
    );
    assert_eq!(ev(json!({"$toLower": "$item"}), inv.clone()), "abc1");
    assert_eq!(
        ev(json!({"$toUpper": "$description"}), inv.clone()),
        "PRODUCT 1"
    );
    assert_eq!(ev(json!({"$toUpper": "$missing"}), inv.clone()), "");
    let sushi = json!({"name": "寿司sushi"});
    assert_eq!(
        ev(json!({"$substrCP": ["$name", 0, 3]}), sushi.clone()),
        "寿司s"
    );
    assert_eq!(
        ev(json!({"$substrBytes": ["$name", 0, 3]}), sushi.clone()),
        "寿"
    );
    assert!(err(json!({"$substrBytes": ["$name", 0, 4]}), sushi.clone()).contains("UTF-8"));
    assert_eq!(
        ev(
            json!({"$split": ["$city", ", "]}),
            json!({"city": "Berkeley, CA"})
        ),
        json!(["Berkeley", "CA"])
    );
    assert_eq!(
        ev(
            json!({"$trim": {"input": "$d"}}),
            json!({"d": " product 1"})
        ),
        "product 1"
    );
    assert_eq!(
        ev(
            json!({"$trim": {"input": "$d"}}),
            json!({"d": "product 2 \n The product is in stock.  \n\n  "})
        ),
        "product 2 \n The product is in stock."
    );
    assert_eq!(
        ev(
            json!({"$ltrim": {"input": "xxhixx", "chars": "x"}}),
            json!({})
        ),
        "hixx"
    );
    assert_eq!(
        ev(
            json!({"$rtrim": {"input": "xxhixx", "chars": "x"}}),
            json!({})
        ),
        "xxhi"
    );
    assert_eq!(ev(json!({"$strLenCP": "$n"}), json!({"n": "éclair"})), 6);
    assert_eq!(ev(json!({"$strLenBytes": "$n"}), json!({"n": "éclair"})), 7);
    assert_eq!(ev(json!({"$strLenCP": "$n"}), json!({"n": "寿司"})), 2);
    assert_eq!(ev(json!({"$strLenBytes": "$n"}), json!({"n": "寿司"})), 6);
    assert!(err(json!({"$strLenCP": "$missing"}), json!({})).contains("$strLenCP"));
    assert_eq!(
        ev(json!({"$strcasecmp": ["$quarter", "13q4"]}), inv.clone()),
        -1
    );
    assert_eq!(
        ev(json!({"$strcasecmp": ["$quarter", "13Q1"]}), inv.clone()),
        0
    );
    assert_eq!(ev(json!({"$indexOfCP": ["cafeteria", "e"]}), json!({})), 3);
    assert_eq!(
        ev(json!({"$indexOfBytes": ["cafétéria", "t"]}), json!({})),
        5
    );
    assert_eq!(ev(json!({"$indexOfCP": ["cafétéria", "t"]}), json!({})), 4);
    assert_eq!(ev(json!({"$indexOfCP": ["foo", "x"]}), json!({})), -1);
    assert_eq!(
        ev(
            json!({"$replaceAll": {"input": "a.b.c", "find": ".", "replacement": "/"}}),
            json!({})
        ),
        "a/b/c"
    );
    assert_eq!(
        ev(
            json!({"$replaceOne": {"input": "a.b.c", "find": ".", "replacement": "/"}}),
            json!({})
        ),
        "a/b.c"
    );
}

#[test]
fn conditionals() {
    let disc = json!({"$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}});
    assert_eq!(ev(disc.clone(), json!({"item": "abc1", "qty": 300})), 30);
    assert_eq!(ev(disc, json!({"item": "abc2", "qty": 200})), 20);
    assert_eq!(
        ev(
            json!({"$cond": [{"$lt": ["$qty", 250]}, "low", "high"]}),
            json!({"qty": 1})
        ),
        "low"
    );
    let desc = json!({"$ifNull": ["$description", "Unspecified"]});
    assert_eq!(
        ev(
            desc.clone(),
            json!({"item": "buggy", "description": "toy car"})
        ),
        "toy car"
    );
    assert_eq!(
        ev(
            desc.clone(),
            json!({"item": "bicycle", "description": null})
        ),
        "Unspecified"
    );
    assert_eq!(ev(desc, json!({"item": "flag"})), "Unspecified");
    let summary = json!({"$switch": {"branches": [
        {"case": {"$gte": [{"$avg": "$scores"}, 90]}, "then": "Doing great!"},
        {"case": {"$and": [{"$gte": [{"$avg": "$scores"}, 80]}, {"$lt": [{"$avg": "$scores"}, 90]}]}, "then": "Doing pretty well."},
        {"case": {"$lt": [{"$avg": "$scores"}, 80]}, "then": "Needs improvement."}
    ], "default": "No scores found."}});
    assert_eq!(
        ev(
            summary.clone(),
            json!({"name": "Susan Wilkes", "scores": [87, 86, 78]})
        ),
        "Doing pretty well."
    );
    assert_eq!(
        ev(
            summary.clone(),
            json!({"name": "Bob Hanna", "scores": [71, 64, 58]})
        ),
        "Needs improvement."
    );
    assert_eq!(
        ev(
            summary.clone(),
            json!({"name": "James Torres", "scores": [91, 84, 97]})
        ),
        "Doing great!"
    );
    assert_eq!(
        ev(summary, json!({"name": "nobody"})),
        "Needs improvement.",
        "null < 80 in BSON order"
    );
    assert!(err(
        json!({"$switch": {"branches": [{"case": false, "then": 1}]}}),
        json!({})
    )
    .contains("no default"));
}

#[test]
fn arrays() {
    let fav = json!({"name": "dave123", "favorites": ["chocolate", "cake", "butter", "apples"]});
    assert_eq!(ev(json!({"$size": "$favorites"}), fav.clone()), 4);
    assert!(err(json!({"$size": "$missing"}), fav.clone()).contains("must be an array"));
    assert_eq!(
        ev(json!({"$arrayElemAt": ["$favorites", 0]}), fav.clone()),
        "chocolate"
    );
    assert_eq!(
        ev(json!({"$arrayElemAt": ["$favorites", -1]}), fav.clone()),
        "apples"
    );
    assert_eq!(
        ev(json!({"$arrayElemAt": ["$favorites", 9]}), fav.clone()),
        "MISSING"
    );
    assert_eq!(
        ev(json!({"$slice": ["$favorites", 3]}), fav.clone()),
        json!(["chocolate", "cake", "butter"])
    );
    assert_eq!(
        ev(json!({"$slice": [[1, 2, 3], 1, 1]}), json!({})),
        json!([2])
    );
    assert_eq!(
        ev(json!({"$slice": [[1, 2, 3], -2]}), json!({})),
        json!([2, 3])
    );
    assert_eq!(
        ev(json!({"$slice": [[1, 2, 3], 15, 2]}), json!({})),
        json!([])
    );
    assert_eq!(
        ev(json!({"$slice": [[1, 2, 3], -15, 2]}), json!({})),
        json!([1, 2])
    );
    let sale = json!({"items": [{"item_id": 43, "quantity": 2, "price": 10}, {"item_id": 2, "quantity": 1, "price": 240}]});
    assert_eq!(
        ev(
            json!({"$filter": {"input": "$items", "as": "item", "cond": {"$gte": ["$$item.price", 100]}}}),
            sale.clone()
        ),
        json!([{"item_id": 2, "quantity": 1, "price": 240}])
    );
    assert_eq!(
        ev(
            json!({"$filter": {"input": [1, 2, 3, 4], "cond": {"$gt": ["$$this", 1]}, "limit": 2}}),
            json!({})
        ),
        json!([2, 3])
    );
    assert_eq!(
        ev(
            json!({"$map": {"input": "$quizzes", "as": "grade", "in": {"$add": ["$$grade", 2]}}}),
            json!({"quizzes": [5, 6, 7]})
        ),
        json!([7, 8, 9])
    );
    assert_eq!(
        ev(
            json!({"$map": {"input": "$items", "in": "$$this.price"}}),
            sale.clone()
        ),
        json!([10, 240])
    );
    let store = json!({"location": "24th Street", "in_stock": ["apples", "oranges", "bananas"]});
    assert_eq!(
        ev(json!({"$in": ["bananas", "$in_stock"]}), store.clone()),
        true
    );
    assert_eq!(ev(json!({"$in": ["kiwi", "$in_stock"]}), store), false);
    assert!(err(json!({"$in": ["x", "$missing"]}), json!({})).contains("requires an array"));
    assert_eq!(
        ev(json!({"$concatArrays": [["a"], ["b", "c"]]}), json!({})),
        json!(["a", "b", "c"])
    );
    assert_eq!(
        ev(json!({"$reverseArray": [[1, 2]]}), json!({})),
        json!([2, 1])
    );
    assert_eq!(
        ev(json!({"$range": [0, 10, 3]}), json!({})),
        json!([0, 3, 6, 9])
    );
    assert_eq!(
        ev(json!({"$indexOfArray": [["a", "b"], "b"]}), json!({})),
        1
    );
    assert_eq!(ev(json!({"$isArray": ["$favorites"]}), fav.clone()), true);
    assert_eq!(
        ev(
            json!({"$reduce": {"input": ["a", "b", "c"], "initialValue": "", "in": {"$concat": ["$$value", "$$this"]}}}),
            json!({})
        ),
        "abc"
    );
    assert_eq!(
        ev(json!({"$first": "$favorites"}), fav.clone()),
        "chocolate"
    );
    assert_eq!(ev(json!({"$last": "$favorites"}), fav), "apples");
    assert_eq!(
        ev(json!({"$setUnion": [["a", "b"], ["b", "c"]]}), json!({})),
        json!(["a", "b", "c"])
    );
    assert_eq!(
        ev(
            json!({"$setIntersection": [["a", "b"], ["b", "c"]]}),
            json!({})
        ),
        json!(["b"])
    );
    assert_eq!(
        ev(json!({"$setDifference": [["a", "b"], ["b"]]}), json!({})),
        json!(["a"])
    );
    assert_eq!(
        ev(
            json!({"$arrayToObject": [[["item", "abc123"], ["qty", 25]]]}),
            json!({})
        ),
        json!({"item": "abc123", "qty": 25})
    );
    assert_eq!(
        ev(json!({"$objectToArray": "$o"}), json!({"o": {"a": 1}})),
        json!([{"k": "a", "v": 1}])
    );
    assert_eq!(
        ev(
            json!({"$mergeObjects": [{"a": 1}, "$o", null]}),
            json!({"o": {"b": 2}})
        ),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(ev(json!({"$sum": "$s"}), json!({"s": [10, 5, 10]})), 25);
    assert_eq!(
        ev(json!({"$max": ["$a", "$b"]}), json!({"a": 3, "b": 9})),
        9
    );
}

#[test]
fn arithmetic_and_comparison() {
    assert_eq!(
        ev(
            json!({"$add": ["$price", "$fee"]}),
            json!({"price": 10, "fee": 2})
        ),
        12
    );
    assert_eq!(
        ev(
            json!({"$add": ["$price", "$missing"]}),
            json!({"price": 10})
        ),
        Value::Null
    );
    assert_eq!(
        ev(
            json!({"$add": ["$date", 3 * 24 * 60 * 60000]}),
            json!({"date": {"__type": "Date", "iso": "2014-03-01T08:00:00.000Z"}})
        ),
        json!({"__type": "Date", "iso": "2014-03-04T08:00:00.000Z"})
    );
    assert_eq!(
        ev(
            json!({"$subtract": ["$a", "$b"]}),
            json!({"a": {"__type": "Date", "iso": "2014-03-01T09:00:00.000Z"}, "b": {"__type": "Date", "iso": "2014-03-01T08:00:00.000Z"}})
        ),
        3_600_000
    );
    assert_eq!(ev(json!({"$subtract": [10, 2.5]}), json!({})), 7.5);
    assert_eq!(
        ev(
            json!({"$multiply": ["$price", "$quantity"]}),
            json!({"price": 10, "quantity": 2})
        ),
        20
    );
    assert_eq!(
        ev(json!({"$divide": ["$hours", 8]}), json!({"hours": 80})),
        10
    );
    assert!(err(json!({"$divide": [1, 0]}), json!({})).contains("divide by zero"));
    assert_eq!(
        ev(
            json!({"$mod": ["$hours", "$tasks"]}),
            json!({"hours": 80, "tasks": 7})
        ),
        3
    );
    assert_eq!(ev(json!({"$round": [19.25, 1]}), json!({})), 19.2);
    assert_eq!(ev(json!({"$round": [28.73, -1]}), json!({})), 30);
    assert_eq!(ev(json!({"$trunc": [19.25, 1]}), json!({})), 19.2);
    assert_eq!(ev(json!({"$abs": -1}), json!({})), 1);
    assert_eq!(ev(json!({"$ceil": 7.80}), json!({})), 8);
    assert_eq!(ev(json!({"$floor": -2.5}), json!({})), -3);
    assert_eq!(ev(json!({"$sqrt": 25}), json!({})), 5);
    assert_eq!(ev(json!({"$pow": [5, 2]}), json!({})), 25);
    assert_eq!(ev(json!({"$log": [100, 10]}), json!({})), 2);
    assert!(err(json!({"$add": ["a", 1]}), json!({})).contains("numeric"));
    assert_eq!(ev(json!({"$cmp": ["$qty", 250]}), json!({"qty": 300})), 1);
    assert_eq!(ev(json!({"$cmp": ["$qty", 250]}), json!({"qty": 200})), -1);
    assert_eq!(
        ev(json!({"$eq": ["$qty", 250]}), json!({"qty": 250.0})),
        true
    );
    assert_eq!(
        ev(json!({"$ne": ["$qty", 250]}), json!({"qty": 250})),
        false
    );
    assert_eq!(
        ev(json!({"$lt": ["$missing", 0]}), json!({})),
        true,
        "missing sorts before numbers"
    );
    assert_eq!(
        ev(json!({"$gt": ["a", 5]}), json!({})),
        true,
        "strings after numbers"
    );
    assert_eq!(ev(json!({"$and": [1, "green"]}), json!({})), true);
    assert_eq!(ev(json!({"$and": [null, true]}), json!({})), false);
    assert_eq!(ev(json!({"$or": [0, "$missing"]}), json!({})), false);
    assert_eq!(ev(json!({"$not": [false]}), json!({})), true);
}

#[test]
fn dates() {
    let doc = json!({"date": {"__type": "Date", "iso": "2014-01-01T08:15:39.736Z"}});
    let parts = [
        ("$year", 2014),
        ("$month", 1),
        ("$dayOfMonth", 1),
        ("$hour", 8),
        ("$minute", 15),
        ("$second", 39),
        ("$millisecond", 736),
        ("$dayOfYear", 1),
        ("$dayOfWeek", 4),
        ("$week", 0),
        ("$isoWeek", 1),
        ("$isoWeekYear", 2014),
        ("$isoDayOfWeek", 3),
    ];
    for (op, want) in parts {
        assert_eq!(ev(json!({op: "$date"}), doc.clone()), want, "{op}");
    }
    assert_eq!(
        ev(
            json!({"$hour": {"date": "$date", "timezone": "+05:30"}}),
            doc.clone()
        ),
        13
    );
    assert_eq!(ev(json!({"$year": "$missing"}), doc.clone()), Value::Null);
    let fmt = |f: &str, tz: Option<&str>| {
        let mut spec = json!({"format": f, "date": "$date"});
        if let Some(tz) = tz {
            spec["timezone"] = json!(tz);
        }
        ev(json!({"$dateToString": spec}), doc.clone())
    };
    assert_eq!(fmt("%Y-%m-%d", None), "2014-01-01");
    assert_eq!(fmt("%H:%M:%S:%L%z", Some("-05:00")), "03:15:39:736-0500");
    assert_eq!(fmt("%Z", Some("-05:00")), "-300");
    assert_eq!(fmt("%j %w %u %U %V %G %%", None), "001 4 3 00 01 2014 %");
    assert_eq!(
        ev(json!({"$dateToString": {"date": "$date"}}), doc.clone()),
        "2014-01-01T08:15:39.736Z"
    );
    assert_eq!(
        ev(
            json!({"$dateToString": {"date": "$none", "onNull": "no date"}}),
            doc.clone()
        ),
        "no date"
    );
    assert!(err(
        json!({"$dateToString": {"date": "$date", "timezone": "America/New_York"}}),
        doc.clone()
    )
    .contains("timezone"));
    assert_eq!(
        ev(
            json!({"$dateFromString": {"dateString": "2017-02-08T12:10:40.787Z"}}),
            json!({})
        ),
        json!({"__type": "Date", "iso": "2017-02-08T12:10:40.787Z"})
    );
}

#[test]
fn types_and_variables() {
    assert_eq!(ev(json!({"$toInt": 2.5}), json!({})), 2);
    assert_eq!(ev(json!({"$toInt": true}), json!({})), 1);
    assert_eq!(ev(json!({"$toInt": "-2"}), json!({})), -2);
    assert!(err(json!({"$toInt": "2.5"}), json!({})).contains("conversion"));
    assert_eq!(ev(json!({"$toDouble": "5.5"}), json!({})), 5.5);
    assert_eq!(
        ev(json!({"$toLong": {"$toDate": "2018-03-03"}}), json!({})),
        1_520_035_200_000i64
    );
    assert_eq!(ev(json!({"$toBool": 0}), json!({})), false);
    assert_eq!(ev(json!({"$toBool": "false"}), json!({})), true);
    assert_eq!(ev(json!({"$toString": 2.5}), json!({})), "2.5");
    assert_eq!(ev(json!({"$toString": true}), json!({})), "true");
    assert_eq!(ev(json!({"$toString": "$missing"}), json!({})), Value::Null);
    assert_eq!(
        ev(json!({"$toDate": 1_520_035_200_000i64}), json!({})),
        json!({"__type": "Date", "iso": "2018-03-03T00:00:00.000Z"})
    );
    assert_eq!(
        ev(
            json!({"$convert": {"input": "abc", "to": "int", "onError": "bad"}}),
            json!({})
        ),
        "bad"
    );
    assert_eq!(
        ev(
            json!({"$convert": {"input": "$missing", "to": "int", "onNull": 0}}),
            json!({})
        ),
        0
    );
    assert_eq!(
        ev(json!({"$convert": {"input": "7", "to": 16}}), json!({})),
        7
    );
    for (v, t) in [
        (json!("a"), "string"),
        (json!(1), "int"),
        (json!(1.5), "double"),
        (json!([1]), "array"),
        (json!(null), "null"),
        (json!({"a": 1}), "object"),
    ] {
        assert_eq!(ev(json!({"$type": "$v"}), json!({"v": v})), t);
    }
    assert_eq!(ev(json!({"$type": "$missing"}), json!({})), "missing");
    assert_eq!(ev(json!({"$isNumber": "$v"}), json!({"v": 1})), true);
    assert_eq!(
        ev(
            json!({"$let": {"vars": {"total": {"$add": ["$price", "$tax"]}}, "in": {"$multiply": ["$$total", 2]}}}),
            json!({"price": 10, "tax": 1})
        ),
        22
    );
    assert_eq!(ev(json!("$$ROOT.a"), json!({"a": 1})), 1);
    assert!(err(json!("$$nope"), json!({})).contains("undefined variable"));
    assert_eq!(ev(json!({"$literal": "$1"}), json!({})), "$1");
    // Paths through arrays of objects give arrays; `_p_` reads a Pointer as MongoDB stores it.
    assert_eq!(
        ev(json!("$a.b"), json!({"a": [{"b": 1}, {"b": 2}, {"c": 3}]})),
        json!([1, 2])
    );
    assert_eq!(
        ev(
            json!("$_p_owner"),
            json!({"owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"}})
        ),
        "_User$u1"
    );
    assert_eq!(ev(json!("$objectId"), json!({"_id": "x"})), "x");
    assert_eq!(
        eval(&json!({"$nope": 1}), &Row::new()).unwrap_err().code(),
        crate::error::code::COMMAND_UNAVAILABLE
    );
}

/// Each operator is in one family's list, so the order `operator` tries them in does not
/// matter, and each family's function has an arm for every operator of its list.
#[test]
fn operator_families() {
    let families = [
        arithmetic::ARITHMETIC_OPS,
        logic::LOGIC_OPS,
        strings::STRING_OPS,
        arrays::ARRAY_OPS,
        dates::DATE_OPS,
        types::TYPE_OPS,
    ];
    let mut seen = std::collections::HashSet::new();
    for op in families.concat() {
        assert!(seen.insert(op), "{op} is in two families");
        assert!(op != "$literal" && op != "$let");
        for arg in [json!(null), json!([]), json!({})] {
            let e = json!({ op: arg });
            if let Err(e) = eval(&e, &row(json!({}))) {
                assert!(!matches!(e, Error::Internal(_)), "{op}: {e}");
            }
        }
    }
}

//! The planner's choices on small known classes: which access path each query gets, and
//! that the cost model takes the cheapest candidate.

use super::*;
use crate::query::parse_query;
use serde_json::json;

fn p(q: Value) -> Plan {
    plan(&parse_query(&q, false).unwrap())
}

/// A page of 20 planned with nothing measured of the class.
fn read(e: &Expr, kept: &Kept, facts: &ClassFacts, sort: Option<&SortHint>) -> Plan {
    let want = Demand {
        sort,
        need: Some(20),
    };
    plan_read(&Normal::of(e), kept, facts, want, &Stats::default())
}

#[test]
fn object_id_lookups_are_key_access() {
    assert_eq!(
        p(json!({"objectId": "a"})).access,
        Access::Keys(vec!["a".into()])
    );
    assert_eq!(
        p(json!({"objectId": {"$in": ["b", "a"]}})).access,
        Access::Keys(vec!["a".into(), "b".into()])
    );
    assert_eq!(p(json!({"x": 1})).access, Access::Partition);
}

#[test]
fn unique_fields_and_ors_of_them_are_lookups() {
    let uniques = vec!["username".to_string(), "email".to_string()];
    let q = parse_query(
        &json!({"$or": [{"username": "a"}, {"email": "a"}], "_rperm": {"$in": ["*"]}}),
        false,
    )
    .unwrap();
    match plan_with(&q, &uniques).access {
        Access::Lookups(l) => assert_eq!(l.len(), 2),
        other => panic!("{other:?}"),
    }
    let q = parse_query(&json!({"$or": [{"username": "a"}, {"name": "a"}]}), false).unwrap();
    assert_eq!(plan_with(&q, &uniques).access, Access::Partition);
}

#[test]
fn an_or_wants_an_index_for_each_branch() {
    // Parse's installation check: served once both fields have an index.
    let q = parse_query(
        &json!({"$or": [{"installationId": "i"}, {"deviceToken": "d"}]}),
        false,
    )
    .unwrap();
    assert_eq!(
        wanted_indexes(&Normal::of(&q), None),
        ["installationId", "deviceToken"]
    );
    let both = vec!["installationId".to_string(), "deviceToken".to_string()];
    match plan_indexed(&q, &[], &both).access {
        Access::Lookups(l) => assert_eq!(l.len(), 2),
        other => panic!("{other:?}"),
    }
    let plain = parse_query(&json!({"a": 1, "$or": [{"b": 1}]}), false).unwrap();
    assert_eq!(wanted_indexes(&Normal::of(&plain), None), ["a"]);
}

#[test]
fn large_in_on_an_indexed_field_reads_the_partition() {
    let idx = vec!["n".to_string()];
    let few = parse_query(&json!({"n": {"$in": [1, 2, 3]}}), false).unwrap();
    assert!(matches!(
        plan_indexed(&few, &[], &idx).access,
        Access::Lookups(_)
    ));
    let many: Vec<Value> = (0..500).map(|i| json!(i)).collect();
    let many = parse_query(&json!({"n": {"$in": many}}), false).unwrap();
    assert_eq!(plan_indexed(&many, &[], &idx).access, Access::Partition);
}

#[test]
fn plan_read_orders_its_access_paths() {
    let kept = Kept {
        indexes: vec!["score".into()],
        ..Kept::default()
    };
    let q = |v: Value| parse_query(&v, false).unwrap();
    let hint = |ascending| SortHint {
        field: "score".into(),
        ascending,
    };
    let facts = ClassFacts::default();
    let scalar = ClassFacts {
        join: false,
        scalars: vec!["score".into()],
    };
    let join = ClassFacts {
        join: true,
        scalars: vec![],
    };
    // Key reads win, also over a sort an index could serve.
    let p = read(
        &q(json!({"objectId": "a"})),
        &kept,
        &facts,
        Some(&hint(true)),
    );
    assert_eq!(p.access, Access::Keys(vec!["a".into()]));
    // A sort on an indexed field reads its index in order; a bound above the array group
    // reads that group first when arrays are possible.
    let p = read(
        &q(json!({"score": {"$gt": 5}})),
        &kept,
        &facts,
        Some(&hint(false)),
    );
    match p.access {
        Access::InOrder {
            spec,
            ranges,
            ascending,
            ..
        } => {
            assert_eq!((spec.as_str(), ascending), ("score", false));
            assert_eq!(ranges.len(), 2, "{ranges:?}");
            assert_eq!(ranges[0], SkRange::exact("4"));
        }
        other => panic!("{other:?}"),
    }
    // A field the schema says holds no arrays: no array group, and both bounds are used.
    let p = read(
        &q(json!({"score": {"$gt": 5, "$lt": 9}})),
        &kept,
        &scalar,
        Some(&hint(false)),
    );
    assert!(
        matches!(&p.access, Access::InOrder { ranges, .. } if ranges.len() == 1 && ranges[0].to < SkRange::prefix("1").to)
    );
    let both = |facts: &ClassFacts| match read(
        &q(json!({"score": {"$gt": 5, "$lt": 9}})),
        &kept,
        facts,
        None,
    )
    .access
    {
        Access::Lookups(l) => match l.as_slice() {
            [Lookup::Index { range, .. }] => range.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert!(
        both(&scalar).to < both(&facts).to,
        "the upper bound ends the range"
    );
    // Without a sort a narrow range is an index lookup; a wide one (a bound alone is
    // guessed to match 1 in 3) fetches fewer objects reading the partition; unindexed, a
    // partition read.
    let p = read(
        &q(json!({"score": {"$gt": 5, "$lt": 9}})),
        &kept,
        &facts,
        None,
    );
    assert!(matches!(p.access, Access::Lookups(_)));
    let p = read(&q(json!({"score": {"$gt": 5}})), &kept, &facts, None);
    assert_eq!(p.access, Access::Partition);
    assert!(
        matches!(p.candidates[1].0, Access::Lookups(_)),
        "{:?}",
        p.candidates
    );
    let p = read(&q(json!({"n": 1})), &kept, &facts, None);
    assert_eq!(p.access, Access::Partition);
    // Relation classes read their rows by key prefix, never in index order.
    let p = read(
        &q(json!({"relatedId": "u1"})),
        &kept,
        &join,
        Some(&hint(true)),
    );
    assert_eq!(p.access, Access::JoinRelated(vec!["u1".into()]));
    // Both ids fixed: the rows' keys (a relation row's existence is one key read).
    let p = read(
        &q(json!({"owningId": "r1", "relatedId": {"$in": ["u2", "u1"]}})),
        &kept,
        &join,
        None,
    );
    assert_eq!(p.access, Access::Keys(vec!["r1:u1".into(), "r1:u2".into()]));
}

#[test]
fn compound_indexes_serve_equality_then_order() {
    let kept = Kept {
        indexes: vec!["score".into(), index::compound_spec("author", "score")],
        ..Kept::default()
    };
    let q = |v: Value| parse_query(&v, false).unwrap();
    let hint = SortHint {
        field: "score".into(),
        ascending: false,
    };
    let facts = ClassFacts::default();
    // Equality on the lead with a sort on the next key: that author's entries, in order
    // (not the whole score index).
    let p = read(&q(json!({"author": "u1"})), &kept, &facts, Some(&hint));
    match p.access {
        Access::InOrder {
            spec,
            field,
            prefix,
            ranges,
            ..
        } => {
            assert_eq!((spec.as_str(), field.as_str()), ("author,score", "score"));
            assert!(!prefix.is_empty() && ranges.iter().all(|r| r.from.starts_with(&prefix)));
        }
        other => panic!("{other:?}"),
    }
    // Without the sort, equality on the lead is a lookup in the compound index.
    let p = read(&q(json!({"author": "u1"})), &kept, &facts, None);
    assert!(
        matches!(&p.access, Access::Lookups(l) if matches!(l.as_slice(), [Lookup::Index { spec, .. }] if spec == "author,score"))
    );
    // Without equality on the lead, the sort reads the field's own index (no condition:
    // the page is its first entries).
    let p = read(&q(json!({})), &kept, &facts, Some(&hint));
    assert!(matches!(p.access, Access::InOrder { spec, .. } if spec == "score"));
}

#[test]
fn the_cheapest_candidate_is_taken() {
    let q = |v: Value| parse_query(&v, false).unwrap();
    let natural = SortHint {
        field: "createdAt".into(),
        ascending: true,
    };
    let page = Demand {
        sort: Some(&natural),
        need: Some(100),
    };
    let stats = |objects: f64| Stats {
        objects: Some(objects),
        item_bytes: Some(370.0),
        ..Stats::default()
    };
    let facts = ClassFacts {
        join: false,
        scalars: vec!["score".into(), "createdAt".into()],
    };
    let natural_only = Kept {
        indexes: vec!["createdAt".into()],
        ..Kept::default()
    };
    let range = q(json!({"score": {"$gte": 300, "$lte": 312}, "_rperm": {"$in": [null, "*"]}}));
    let range = Normal::of(&range);
    // Issue 21: a narrow range in natural order. Reading the createdAt index in order
    // would fetch about the class one object at a time: the partition Query bills less.
    let p = plan_read(&range, &natural_only, &facts, page, &stats(1000.0));
    assert_eq!(p.access, Access::Partition);
    let in_order = p
        .candidates
        .iter()
        .find(|(a, _)| matches!(a, Access::InOrder { .. }));
    assert!(
        in_order.is_some_and(|(_, u)| *u > 5.0 * p.candidates[0].1),
        "{:?}",
        p.candidates
    );
    // At 100,000 objects too: a guessed 1 in 11 would stop the in-order read after ~1,100
    // objects, but a guess may be off by orders of magnitude, and then it fetches the
    // class; the expected cost of that read is above the partition's.
    let p = plan_read(&range, &natural_only, &facts, page, &stats(100_000.0));
    assert_eq!(p.access, Access::Partition, "{:?}", p.candidates);
    // Once measured common (half the objects), the in-order read stops after its page.
    let mut common = stats(100_000.0);
    std::sync::Arc::make_mut(&mut common.learned).insert(range.whole_shape().to_string(), 0.5);
    let p = plan_read(&range, &natural_only, &facts, page, &common);
    assert!(
        matches!(p.access, Access::InOrder { .. }),
        "{:?}",
        p.candidates
    );
    // Once a read showed the range matches 5 in 1,000, and the score index exists, the
    // lookup reads about those 5.
    let mut learned = stats(1000.0);
    std::sync::Arc::make_mut(&mut learned.learned).insert(range.whole_shape().to_string(), 0.005);
    let both = Kept {
        indexes: vec!["createdAt".into(), "score".into()],
        ..Kept::default()
    };
    let p = plan_read(&range, &both, &facts, page, &learned);
    assert!(matches!(p.access, Access::Lookups(_)), "{:?}", p.candidates);
    assert!(p.candidates[0].1 < 10.0, "{:?}", p.candidates);
    // Without conditions the in-order read stops after its page: it bills about the page
    // at any size, while the partition grows with the class (at 1,000 small objects the
    // whole partition bills less than fetching 100 of them one by one).
    let all = q(json!({}));
    let all = Normal::of(&all);
    let p = plan_read(&all, &natural_only, &facts, page, &stats(1000.0));
    assert_eq!(p.access, Access::Partition, "{:?}", p.candidates);
    for n in [10_000.0, 100_000.0] {
        let p = plan_read(&all, &natural_only, &facts, page, &stats(n));
        assert!(
            matches!(p.access, Access::InOrder { .. }),
            "{:?}",
            p.candidates
        );
        assert!(p.candidates[0].1 < 110.0, "{:?}", p.candidates);
    }
    // The candidates come cheapest first, and the plan is the first.
    let p = plan_read(&range, &both, &facts, page, &stats(100_000.0));
    assert!(p.candidates.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(p.access, p.candidates[0].0);
}

//! A query normalised once for planning: its conjuncts (nested `$and`s flattened) and the
//! shape of each, its field paths and operators without their values (`score:gt&score:lt`),
//! under which the cost model remembers what fraction of a class such conditions matched. The
//! planner builds every candidate access path from this one form and the cost model estimates
//! them from it; neither walks the query again per candidate.

use super::filter::literal_prefix;
use super::parse::{conjuncts, Cond, Expr};

pub struct Normal<'a> {
    pub expr: &'a Expr,
    pub conjuncts: Vec<&'a Expr>,
    shapes: Vec<String>,
    /// The shape of all its conditions but the ACL's (`shape(|_| true)`), derived once.
    whole: String,
}

impl<'a> Normal<'a> {
    pub fn of(expr: &'a Expr) -> Normal<'a> {
        let conjuncts = conjuncts(expr);
        let shapes = conjuncts.iter().map(|c| shape_of(c)).collect();
        let mut q = Normal {
            expr,
            conjuncts,
            shapes,
            whole: String::new(),
        };
        q.whole = q.shape(|_| true);
        q
    }

    /// The shape of all the query's conditions but the ACL's: what a read of it teaches.
    pub fn whole_shape(&self) -> &str {
        &self.whole
    }

    /// The shape of the conjuncts `which` picks, the ACL's left out (it matches about every
    /// object of an app's class and differs per user): their shapes, sorted, joined by `&`.
    /// Empty when nothing but the ACL is picked.
    pub fn shape(&self, which: impl Fn(&Expr) -> bool) -> String {
        let mut picked: Vec<&str> = self
            .conjuncts
            .iter()
            .zip(&self.shapes)
            .filter(|(c, _)| !is_acl(c) && which(c))
            .map(|(_, s)| s.as_str())
            .collect();
        picked.sort_unstable();
        picked.join("&")
    }

    /// The conjuncts `which` picks, the ACL's left out, each with its shape.
    pub fn picked(&self, which: impl Fn(&Expr) -> bool) -> impl Iterator<Item = (&Expr, &str)> {
        self.conjuncts
            .iter()
            .zip(&self.shapes)
            .filter(move |(c, _)| !is_acl(c) && which(c))
            .map(|(c, s)| (*c, s.as_str()))
    }
}

/// The field a conjunct constrains, dotted (None for `$or`, `$nor`, `true`).
pub fn field_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Field(p, _) => Some(p.join(".")),
        _ => None,
    }
}

/// A condition on the ACL lists Parse adds to the queries of users (`_rperm`, `_wperm`).
pub fn is_acl(e: &Expr) -> bool {
    matches!(e, Expr::Field(p, _) if p.len() == 1 && (p[0] == "_rperm" || p[0] == "_wperm"))
}

/// The shape of one condition: field and operator, values left out (an `$in` keeps its
/// length, which its selectivity follows).
fn shape_of(e: &Expr) -> String {
    let many = |name: &str, v: &[Expr]| {
        let mut parts: Vec<String> = v.iter().map(shape_of).collect();
        parts.sort_unstable();
        format!("{name}({})", parts.join("|"))
    };
    match e {
        Expr::True => "true".into(),
        Expr::And(v) => many("and", v),
        Expr::Or(v) => many("or", v),
        Expr::Nor(v) => many("nor", v),
        Expr::Field(p, c) => format!("{}:{}", p.join("."), op_of(c)),
    }
}

fn op_of(c: &Cond) -> String {
    match c {
        Cond::Eq(_) => "eq".into(),
        Cond::EqCi(_) => "eqci".into(),
        Cond::Ne(_) => "ne".into(),
        Cond::Lt(_) | Cond::Lte(_) => "lt".into(),
        Cond::Gt(_) | Cond::Gte(_) => "gt".into(),
        Cond::In(l) => format!("in{}", l.len()),
        Cond::Nin(_) => "nin".into(),
        Cond::Exists(true) => "exists".into(),
        Cond::Exists(false) => "missing".into(),
        Cond::All(_) => "all".into(),
        Cond::ContainedBy(_) => "containedby".into(),
        Cond::Regex(p) if literal_prefix(&p.source, &p.flags).is_some() => "prefix".into(),
        Cond::Regex(_) => "regex".into(),
        Cond::Geo(_) => "geo".into(),
        Cond::Not(c) => format!("not({})", op_of(c)),
        Cond::Text(_) => "text".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;
    use serde_json::json;

    #[test]
    fn shapes_leave_out_values_and_the_acl() {
        let a = parse_query(
            &json!({"score": {"$gte": 1, "$lt": 9}, "_rperm": {"$in": [null, "*"]}}),
            false,
        )
        .unwrap();
        let b = parse_query(&json!({"score": {"$lt": 500, "$gt": 7}}), false).unwrap();
        let (a, b) = (Normal::of(&a), Normal::of(&b));
        assert_eq!(a.whole_shape(), "score:gt&score:lt");
        assert_eq!(a.whole_shape(), b.whole_shape());
        assert_eq!(a.conjuncts.len(), 3);
        let p = parse_query(&json!({"title": {"$regex": "^t12"}, "n": 1}), false).unwrap();
        let p = Normal::of(&p);
        assert_eq!(p.whole_shape(), "n:eq&title:prefix");
        assert_eq!(p.shape(|c| field_of(c).as_deref() == Some("n")), "n:eq");
    }
}

//! `$lookup` with `localField`/`foreignField`: the join half. The caller (the adapter) runs the
//! stages before it, asks `Lookup` which values to find, reads the other class for them (a
//! query `{foreignField: {$in: values}}`, which its planner serves from keys or an index), and
//! hands the rows back to `join`. Joined objects come as pipeline rows (`_id` the objectId),
//! without the fields Parse keeps to itself (`_hashed_password`, `authData`, sessions' tokens…).

use super::Row;
use crate::error::{Error, Result};
use crate::query::eval::value_eq;
use crate::query::expr::{field_path, get_path};
use serde_json::{json, Value};

/// A parsed `$lookup` stage.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The class to read.
    pub from: String,
    local: Vec<String>,
    foreign: Vec<String>,
    /// The foreign field as a Parse query names it.
    pub foreign_field: String,
    as_field: String,
}

impl Lookup {
    pub fn parse(arg: &Value) -> Result<Lookup> {
        let get = |k: &str| arg.get(k).and_then(Value::as_str).map(str::to_string);
        if arg.get("pipeline").is_some() || arg.get("let").is_some() {
            return Err(Error::Unsupported(
                "$lookup with 'pipeline' or 'let' (use localField and foreignField)".into(),
            ));
        }
        let (Some(from), Some(local), Some(foreign), Some(as_field)) = (
            get("from"),
            get("localField"),
            get("foreignField"),
            get("as"),
        ) else {
            return Err(Error::query(
                "$lookup requires 'from', 'localField', 'foreignField' and 'as' strings",
            ));
        };
        let foreign_path = field_path(&foreign);
        let foreign_field = match foreign_path.join(".").as_str() {
            "_id" => "objectId".to_string(),
            other => crate::query::parse::parse_field_name(other).to_string(),
        };
        Ok(Lookup {
            from,
            local: field_path(&local),
            foreign: foreign_path,
            foreign_field,
            as_field,
        })
    }

    /// The values of the local field (array elements each), null for rows without it.
    pub fn local_values(&self, rows: &[Row]) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        for r in rows {
            for v in self.values(r, &self.local) {
                if !out.iter().any(|o| value_eq(o, &v)) {
                    out.push(v);
                }
            }
        }
        out
    }

    fn values(&self, row: &Row, path: &[String]) -> Vec<Value> {
        match get_path(row, path) {
            None | Some(Value::Null) => vec![Value::Null],
            Some(Value::Array(a)) if a.is_empty() => vec![Value::Null],
            Some(Value::Array(a)) => a,
            Some(v) => vec![v],
        }
    }

    /// Each row with `as` set to the foreign rows (objects of `from`, as read) whose foreign
    /// field equals one of its local values.
    pub fn join(&self, rows: Vec<Row>, foreign: Vec<Row>) -> Result<Vec<Row>> {
        let foreign: Vec<(Vec<Value>, Row)> = super::start(foreign)
            .into_iter()
            .map(|mut r| {
                r.retain(|k, _| {
                    k == "_id" || !(k.starts_with('_') || k == "authData" || k == "sessionToken")
                });
                (self.values(&r, &self.foreign), r)
            })
            .collect();
        let as_path: Vec<&str> = self.as_field.split('.').collect();
        if as_path.len() > 1 {
            return Err(Error::Unsupported("$lookup 'as' with a dotted path".into()));
        }
        Ok(rows
            .into_iter()
            .map(|mut row| {
                let mine = self.values(&row, &self.local);
                let matched: Vec<Value> = foreign
                    .iter()
                    .filter(|(theirs, _)| {
                        theirs.iter().any(|t| mine.iter().any(|m| value_eq(m, t)))
                    })
                    .map(|(_, r)| Value::Object(r.clone()))
                    .collect();
                row.insert(self.as_field.clone(), json!(matched));
                row
            })
            .collect())
    }
}

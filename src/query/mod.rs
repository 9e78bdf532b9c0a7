//! Parse queries: `parse` turns Parse/Mongo query JSON into a typed `Expr`, `eval` evaluates an
//! `Expr` on a decoded object (the reference semantics), `plan` decides what DynamoDB can do
//! for it (key access and a filter expression that selects a superset of the matches), and
//! `sort` orders, skips, limits and projects the evaluated rows.

pub mod aggregate;
pub mod eval;
pub mod parse;
pub mod plan;
pub mod sort;

pub use parse::{parse_query, Cond, Expr, Geo};

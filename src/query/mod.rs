//! Parse queries: `parse` turns Parse/Mongo query JSON into a typed `Expr`, `eval` evaluates an
//! `Expr` on a decoded object (the reference semantics), `plan` decides what to read for it
//! (key access, lookups, or a partition Query with the superset filter `filter` builds), `exec`
//! runs a plan on the store, stage by stage as `plan` decides it, and `sort` orders, skips,
//! limits and projects the evaluated rows; `text` answers `$text` as a MongoDB text index does.

pub mod aggregate;
pub mod condition;
pub mod cost;
pub mod eval;
pub mod exec;
pub mod expr;
pub mod filter;
pub mod normal;
pub mod parse;
pub mod plan;
pub mod sort;
pub mod text;

pub use parse::{parse_query, Cond, Expr, Geo};

//! parse-server-dynamodb: the core of a DynamoDB storage adapter for Parse Server. A call flows
//! down through the rooms: `api` (JSON dispatch) → `adapter` (what each Parse method means) →
//! `query` (parse, normalise, `plan` what to read, `exec` run it, evaluate, sort) and `write`
//! (objects with their sentinels, index entries and mirrors; Parse's transactional sessions)
//! → `store` (the only room that speaks DynamoDB). Beside them: `indexes` (registries,
//! automatic indexes, sharding, back-fill, reading entries in order), `counts` (object counts
//! per class), `schema` (class schemas), `follow` (the table's stream), `check`/`admin` (the
//! command-line tool's work), `layout` (keys of everything in the table, and an index entry's
//! order-preserving encoding), `value` (values at a path and MongoDB's order), `codec`,
//! `update`. The optional `napi` module is the thin Node binding; every other room builds and
//! tests without Node.

pub mod adapter;
pub mod admin;
pub mod api;
pub mod bill;
pub mod check;
pub mod codec;
pub mod counts;
pub mod embedded;
pub mod error;
pub mod follow;
pub mod idempotency;
pub mod indexes;
pub mod layout;
pub mod livequery;
pub mod log;
pub mod query;
pub mod schema;
pub mod store;
pub mod update;
pub mod value;
pub mod words;
pub mod write;

#[cfg(feature = "node")]
mod napi;

#[cfg(feature = "node")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

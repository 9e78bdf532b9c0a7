//! parse-server-dynamodb: the core of a DynamoDB storage adapter for Parse Server. A call flows
//! down through the rooms: `api` (JSON dispatch) → `adapter` (what each Parse method means) →
//! `query::plan` (what to read, as data) → `exec` (runs the plan, evaluates, sorts) and
//! `write` (objects with their sentinels, index entries and mirrors; sessions) → `store` (the
//! only room that speaks DynamoDB). Beside them: `indexes` (registries, automatic indexes),
//! `reconcile` (an index's entries made to match the objects),
//! `entries` (an index's entries read across its shard partitions, merged in order),
//! `counts` (object counts per class), `schema` (class schemas), `layout` (keys of everything
//! in the table), `index` (entry encoding), `codec`, `update`. The optional `napi` module is
//! the thin Node binding; every other room builds and tests without Node.

pub mod adapter;
pub mod admin;
pub mod api;
pub mod check;
pub mod codec;
pub mod counts;
pub mod embedded;
pub mod entries;
pub mod error;
pub mod exec;
pub mod follow;
pub mod idempotency;
pub mod index;
pub mod indexes;
pub mod layout;
pub mod livequery;
pub mod log;
pub mod query;
pub mod reconcile;
pub mod schema;
pub mod store;
pub mod transaction;
pub mod update;
pub mod value;
pub mod write;

#[cfg(feature = "node")]
mod napi;

#[cfg(feature = "node")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

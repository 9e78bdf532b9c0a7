//! parse-server-dynamodb: the core of a DynamoDB storage adapter for Parse Server. `adapter`
//! implements what Parse Server's storage-adapter interface asks for, on top of `store` (the
//! DynamoDB client), `schema` (class schemas), `query` (parse, plan, evaluate, sort), `update`
//! and `codec`. `api` dispatches JSON calls to it; the optional `napi` module is the thin
//! Node binding. Everything but `napi` builds and tests without Node.

pub mod adapter;
pub mod admin;
pub mod api;
pub mod codec;
pub mod embedded;
pub mod error;
pub mod index;
pub mod log;
pub mod query;
pub mod schema;
pub mod store;
pub mod transaction;
pub mod update;

#[cfg(feature = "node")]
mod napi;

//! Test support: a real DynamoDB-compatible server. Uses $DYNAMODB_ENDPOINT when set (the
//! project's test script starts dynoxide and sets it); otherwise starts the dynoxide binary
//! (npm package @dynoxide/linux-x64, $DYNOXIDE_BIN, or PATH) on a free port for this process.

#![allow(dead_code)]

use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::api::call;
use parse_server_dynamodb::error::Error;
use parse_server_dynamodb::store::StoreConfig;
use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn dynoxide_binary() -> PathBuf {
    if let Ok(p) = std::env::var("DYNOXIDE_BIN") {
        return p.into();
    }
    let local =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/@dynoxide/linux-x64/dynoxide");
    if local.exists() {
        return local;
    }
    "dynoxide".into()
}

// The server runs for the whole test process (its watchdog ends it), so it is never waited on.
#[allow(clippy::zombie_processes)]
pub fn endpoint() -> String {
    static EP: OnceLock<String> = OnceLock::new();
    EP.get_or_init(|| {
        if let Ok(ep) = std::env::var("DYNAMODB_ENDPOINT") {
            return ep;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
        let bin = dynoxide_binary();
        // A watchdog ends the server when this test process exits.
        let script = format!(
            "\"$0\" serve --host 127.0.0.1 --port {port} >/dev/null 2>&1 & s=$!; while kill -0 {ppid} 2>/dev/null; do sleep 1; done; kill $s",
            ppid = std::process::id()
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&bin)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dynoxide ({}): {e}; run `npm install` or set DYNAMODB_ENDPOINT", bin.display()));
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return format!("http://127.0.0.1:{port}");
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("dynoxide did not start on port {port} ({})", bin.display());
    })
    .clone()
}

pub fn config(table: &str) -> StoreConfig {
    StoreConfig {
        table: table.to_string(),
        endpoint: Some(endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: None,
        secret_access_key: None,
        session_token: None,
        create_table: true,
        max_attempts: 5,
        operation_timeout_ms: 30_000,
        embedded: None,
    }
}

/// A fresh adapter on a table of its own.
pub async fn adapter() -> Adapter {
    let table = format!("t{}", rand_suffix());
    Adapter::connect(config(&table)).await.expect("connect")
}

pub fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{n:x}{:04x}", std::process::id() & 0xffff)
}

/// Calls adapter method `method` through `api::call`, the JSON entry point Node uses.
pub async fn c(a: &Adapter, method: &str, args: Value) -> Result<Value, Error> {
    call(a, method, args.as_array().expect("args array")).await
}

/// `c` for calls that must succeed.
pub async fn must(a: &Adapter, method: &str, args: Value) -> Value {
    c(a, method, args)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// The names of the indexes `getIndexes` lists for `class`.
pub async fn index_names(a: &Adapter, class: &str) -> Vec<Value> {
    must(a, "getIndexes", serde_json::json!([class]))
        .await
        .as_array()
        .expect("indexes")
        .iter()
        .map(|i| i["name"].clone())
        .collect()
}

/// The objectIds of `rows` (a find's answer), sorted.
pub fn ids(rows: &Value) -> Vec<String> {
    let mut out: Vec<String> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["objectId"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

/// The kinds of the leftovers a `check` report lists, in its order.
pub fn leftover_kinds(report: &Value) -> Vec<String> {
    report["leftovers"]
        .as_array()
        .expect("leftovers")
        .iter()
        .map(|l| l["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

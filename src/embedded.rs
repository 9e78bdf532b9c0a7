//! The in-process DynamoDB-compatible store: dynoxide (SQLite) serving DynamoDB's HTTP API on
//! 127.0.0.1 inside this process, so `new DynamoDB('parse-server').getAdapter()` works with no
//! AWS account and no separate server. Used when the options ask for it (`embedded`, or
//! `endpoint: 'embedded'`) or when neither an endpoint nor an AWS region is configured
//! anywhere. One server per data file per process, shared by every adapter that names it;
//! the store client then talks to it like to any endpoint. It deletes expired items as
//! DynamoDB's TTL does, by a sweep every minute (`sweep_expired`).

use crate::error::{Error, Result};
use once_cell::sync::Lazy;
use std::collections::HashMap;
use tokio::sync::Mutex;

/// Where the embedded store keeps its data when no path is given (relative to the working
/// directory).
pub const DEFAULT_PATH: &str = ".parse-dynamodb/store.db";
/// The path that keeps data in memory only.
pub const MEMORY: &str = ":memory:";

static SERVERS: Lazy<Mutex<HashMap<String, String>>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// The endpoint of the embedded store for `path` (a data file, or `:memory:`), started on first
/// use.
pub async fn endpoint(path: &str) -> Result<String> {
    let mut servers = SERVERS.lock().await;
    if let Some(ep) = servers.get(path) {
        return Ok(ep.clone());
    }
    let ep = start(path).await?;
    servers.insert(path.to_string(), ep.clone());
    Ok(ep)
}

#[cfg(feature = "embedded")]
async fn start(path: &str) -> Result<String> {
    let fail =
        |e: String| Error::Internal(format!("the embedded store ({path}) did not start: {e}"));
    let db = if path == MEMORY {
        dynoxide::Database::memory().map_err(|e| fail(e.to_string()))?
    } else {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
            }
        }
        dynoxide::Database::new(path).map_err(|e| fail(e.to_string()))?
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| fail(e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| fail(e.to_string()))?;
    sweep_expired(db.clone());
    tokio::spawn(dynoxide::server::serve_on(listener, db));
    Ok(format!("http://{addr}"))
}

/// Deletes expired items as DynamoDB's TTL does (dynoxide only sweeps when asked): every
/// `PSD_TTL_SWEEP_MS` (default a minute; AWS takes up to a few days), on a thread of its own,
/// a page at a time so requests go between pages.
#[cfg(feature = "embedded")]
fn sweep_expired(db: dynoxide::Database) {
    let every = std::env::var("PSD_TTL_SWEEP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(60_000);
    let spawned = std::thread::Builder::new()
        .name("embedded-ttl".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(every));
            let _ = db.sweep_ttl();
        });
    drop(spawned);
}

#[cfg(not(feature = "embedded"))]
async fn start(path: &str) -> Result<String> {
    Err(Error::Internal(format!(
        "this build has no embedded store (feature `embedded`), so {path} cannot be served: pass `endpoint` or `region`"
    )))
}

//! What the adapter asked of DynamoDB since it started: requests, consumed capacity units and
//! items sent back per operation, as `adapter.consumedCapacity()` reports them.

/// What the adapter asked of DynamoDB since it started: requests and consumed capacity units
/// per operation (from `ReturnConsumedCapacity`; zero where the server reports none).
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
    /// Items reads sent back (GetItem, BatchGetItem, Query).
    pub items: u64,
    /// Writes DynamoDB refused because their condition failed: AWS bills each at least one
    /// write unit (counted in `write_units`), though it reports none.
    pub refused: u64,
    pub operations: std::collections::BTreeMap<String, OpUsage>,
}

#[derive(Debug, Default, Clone)]
pub struct OpUsage {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
    pub items: u64,
    pub refused: u64,
}

impl Usage {
    pub fn to_json(&self) -> serde_json::Value {
        let ops: serde_json::Map<String, serde_json::Value> = self
            .operations
            .iter()
            .map(|(k, o)| {
                let v = serde_json::json!({"requests": o.requests, "readUnits": o.read_units, "writeUnits": o.write_units, "items": o.items, "refused": o.refused});
                (k.clone(), v)
            })
            .collect();
        serde_json::json!({
            "requests": self.requests,
            "readUnits": self.read_units,
            "writeUnits": self.write_units,
            "items": self.items,
            "refused": self.refused,
            "operations": ops,
        })
    }
}

/// Units one account spent: a Parse request's adapter call, a background task, or what ran
/// outside both. Every request the store sends is charged to exactly one account (the one
/// `metered` scoped around the running task, else the store's `unattributed` one), so the
/// accounts of a process always add up to its `Usage`.
#[derive(Debug, Default)]
pub struct Tally {
    spent: std::sync::Mutex<Spent>,
    /// Whether the queries run under it are kept (a Parse request's call: its log line and
    /// `Server-Timing` header tell them); else only their units count.
    noting: bool,
}

/// What a `Tally` holds: requests, units, and the plans of the queries it ran.
#[derive(Debug, Default, Clone)]
pub struct Spent {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
    /// The queries (find, count, aggregate) run under this account, each `{call, class, plan,
    /// readUnits}`.
    pub queries: Vec<serde_json::Value>,
}

impl Tally {
    /// An account that keeps the queries run under it (`note_query`).
    pub fn noting() -> Tally {
        Tally {
            noting: true,
            ..Tally::default()
        }
    }

    pub fn spent(&self) -> Spent {
        self.spent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Takes what was spent so far, leaving the account empty.
    pub fn take(&self) -> Spent {
        self.spent
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    fn charge(&self, read: f64, write: f64) {
        if let Ok(mut s) = self.spent.lock() {
            s.requests += 1;
            s.read_units += read;
            s.write_units += write;
        }
    }
}

/// A read budget (`maxReadUnitsPerQuery`): the read units one query may spend, and what it has
/// spent so far. `stop` refuses the query once it is over (else it runs on, and `exceeded`
/// says so for the log).
#[derive(Debug)]
pub struct Budget {
    pub limit: f64,
    pub stop: bool,
    spent: std::sync::Mutex<f64>,
    /// Items the query's reads sent back (with `spent`, what an item costs).
    items: std::sync::atomic::AtomicU64,
}

impl Budget {
    pub fn new(limit: f64, stop: bool) -> Budget {
        Budget {
            limit,
            stop,
            spent: std::sync::Mutex::new(0.0),
            items: Default::default(),
        }
    }

    /// The items the next page of a read may ask for so that it stays about within the budget
    /// (a stopping one): what is left of it at the units an item has cost so far, or at one
    /// unit an item (4 KB) before any came back.
    fn page_cap(&self) -> Option<i32> {
        if !self.stop {
            return None;
        }
        let left = (self.limit - self.spent()).max(0.0);
        let items = self.items.load(std::sync::atomic::Ordering::Relaxed);
        let per_item = match items {
            0 => 1.0,
            n => (self.spent() / n as f64).max(1e-3),
        };
        Some((left / per_item).ceil().clamp(1.0, 10_000.0) as i32)
    }

    pub fn spent(&self) -> f64 {
        self.spent.lock().map(|s| *s).unwrap_or(0.0)
    }

    pub fn exceeded(&self) -> bool {
        self.spent() > self.limit
    }
}

tokio::task_local! {
    static ACCOUNT: std::sync::Arc<Tally>;
    static BUDGET: std::sync::Arc<Budget>;
}

/// Runs `work` with every request it sends charged to `account` (tasks it spawns are not:
/// they charge their own account, or the store's `unattributed` one).
pub async fn metered<F: std::future::Future>(account: std::sync::Arc<Tally>, work: F) -> F::Output {
    ACCOUNT.scope(account, work).await
}

/// Runs `work` (one query) under `budget`: its reads are counted against it, and the store's
/// read loops stop with `Error::OverBudget` once it is spent when `budget.stop`.
pub async fn budgeted<F: std::future::Future>(
    budget: std::sync::Arc<Budget>,
    work: F,
) -> F::Output {
    BUDGET.scope(budget, work).await
}

/// Charges a request's units to the running task's account, else to `fallback`, and its
/// read units to the running query's budget.
pub(super) fn charge(fallback: &Tally, read: f64, write: f64) {
    if ACCOUNT.try_with(|a| a.charge(read, write)).is_err() {
        fallback.charge(read, write);
    }
    let _ = BUDGET.try_with(|b| {
        if let Ok(mut s) = b.spent.lock() {
            *s += read;
        }
    });
}

/// The running query's read went over `n` items (see `Budget::page_cap`).
pub(super) fn items_read(n: usize) {
    let _ = BUDGET.try_with(|b| {
        b.items
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed)
    });
}

/// The most items a page of the running query's read may ask for (None: no stopping budget).
pub(super) fn page_cap() -> Option<i32> {
    BUDGET.try_with(|b| b.page_cap()).ok().flatten()
}

/// Adds query `call` of `class` (a find, count or aggregate), with its plan (`plan`, made only
/// when the account keeps queries) and the read units it spent since `read_so_far` answered
/// `since`, to the running task's account.
pub fn note_query(call: &str, class: &str, since: f64, plan: impl FnOnce() -> serde_json::Value) {
    let _ = ACCOUNT.try_with(|a| {
        if !a.noting {
            return;
        }
        if let Ok(mut s) = a.spent.lock() {
            let units = s.read_units - since;
            let query = serde_json::json!({"call": call, "class": class, "plan": plan(), "readUnits": units});
            s.queries.push(query);
        }
    });
}

/// The read units the running task's account has spent so far (0 outside one).
pub fn read_so_far() -> f64 {
    ACCOUNT
        .try_with(|a| a.spent.lock().map(|s| s.read_units).unwrap_or(0.0))
        .unwrap_or(0.0)
}

/// Err once the running query has spent more than a stopping budget: the store's read loops
/// ask after every page, so a read that turns out dearer than its plan said stops there.
pub fn within_budget() -> crate::error::Result<()> {
    let over = BUDGET
        .try_with(|b| (b.stop && b.exceeded()).then(|| (b.spent(), b.limit)))
        .ok()
        .flatten();
    match over {
        Some((spent, limit)) => Err(crate::error::Error::OverBudget(format!(
            "the query was stopped after {spent:.0} read units: maxReadUnitsPerQuery is {limit}"
        ))),
        None => Ok(()),
    }
}

//! What the adapter's DynamoDB requests cost, and for whom: the ledger of read and write units
//! per Parse route (method and path pattern), class and Cloud function or job. Each adapter
//! call runs under its own account (`store::metered`); when it ends, its units go to the row of
//! the request that made it (the shim names it: `Label`) and to that request while it is open.
//! When the request ends, one more request is counted on its row and, past the `costLog`
//! thresholds, a log line tells its units and the plan of each query it ran. Requests the store
//! sent outside any call (index back-fills, counters, stats) are the `(background)` row, so the
//! rows always add up to `consumedCapacity()`. `report` ranks the rows with what a month of the
//! same traffic costs at DynamoDB's on-demand prices (`prices`); `saved` is what a server
//! writes to the table for the command line's `cost-report`.

pub mod prices;

use crate::store::{Spent, Tally};
use prices::Prices;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The route of adapter calls made outside any Parse request (start-up, Parse's schema cache,
/// LiveQuery, the seed's `Partition` API), and of the store's own work.
pub const NO_REQUEST: &str = "(no request)";
pub const BACKGROUND: &str = "(background)";
/// Open requests kept at most (a request whose end is never told is dropped, oldest first).
const MAX_OPEN: usize = 10_000;
/// Queries kept per open request for its log line.
const MAX_QUERIES: usize = 5;
/// Rows kept at most: class and function names come from request paths, so any client could
/// otherwise add rows without end. Past it, new labels share `OTHER`.
const MAX_ROWS: usize = 1000;
pub const OTHER: &str = "(other routes)";
/// The longest route, class or function name a row keeps (in characters).
const MAX_LABEL: usize = 256;

/// Who spends: a Parse route (`GET /classes/:className`), the class it names, the Cloud
/// function, job or GraphQL operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Label {
    pub route: String,
    pub class: Option<String>,
    pub function: Option<String>,
}

impl Label {
    /// The label the shim sends with a call: `{route, class?, function?}`; none is `NO_REQUEST`.
    pub fn of(tag: &Value) -> Label {
        // Cut to `MAX_LABEL` characters: they come from request paths.
        let s = |k: &str| {
            tag.get(k)
                .and_then(Value::as_str)
                .map(|v| v.chars().take(MAX_LABEL).collect::<String>())
        };
        Label {
            route: s("route").unwrap_or_else(|| NO_REQUEST.to_string()),
            class: s("class"),
            function: s("function"),
        }
    }
}

/// When a request's log line is written: at or above either threshold (`costLog`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Thresholds {
    pub read_units: Option<f64>,
    pub write_units: Option<f64>,
}

impl Thresholds {
    fn over(&self, read: f64, write: f64) -> bool {
        self.read_units.is_some_and(|t| read >= t) || self.write_units.is_some_and(|t| write >= t)
    }
}

#[derive(Debug, Default, Clone)]
struct Row {
    /// Parse requests ended (for `NO_REQUEST` and `BACKGROUND`: adapter calls or none).
    requests: u64,
    calls: u64,
    dynamo_requests: u64,
    read: f64,
    write: f64,
}

#[derive(Debug)]
struct Open {
    label: Label,
    calls: u64,
    dynamo_requests: u64,
    read: f64,
    write: f64,
    queries: Vec<Value>,
}

#[derive(Default)]
struct State {
    rows: HashMap<Label, Row>,
    open: HashMap<u64, Open>,
    /// Open request ids, oldest first (to drop the oldest past `MAX_OPEN`; ids of requests
    /// ended since are skipped then).
    order: std::collections::VecDeque<u64>,
    /// The requests ended last (`MAX_OPEN` of them): a call of theirs that ends after them
    /// (an afterSave not awaited, a job) goes to their row, not to a request never closed.
    ended: std::collections::VecDeque<u64>,
    ended_ids: std::collections::HashSet<u64>,
}

impl State {
    /// The row of `label`, or `OTHER`'s once `MAX_ROWS` are kept.
    fn row(&mut self, label: &Label) -> &mut Row {
        let key = if self.rows.contains_key(label) || self.rows.len() < MAX_ROWS {
            label.clone()
        } else {
            Label {
                route: OTHER.to_string(),
                ..Label::default()
            }
        };
        self.rows.entry(key).or_default()
    }
}

pub struct Ledger {
    since: Instant,
    since_ms: u64,
    thresholds: Thresholds,
    state: Mutex<State>,
}

impl Ledger {
    pub fn new(thresholds: Thresholds) -> Ledger {
        Ledger {
            since: Instant::now(),
            since_ms: crate::layout::now_ms().max(0) as u64,
            thresholds,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An adapter call under `label` (and open request `request`, when given) spent `spent`.
    pub fn call_done(&self, label: Label, request: Option<u64>, spent: Spent) {
        let mut st = self.lock();
        let row = st.row(&label);
        row.calls += 1;
        row.dynamo_requests += spent.requests;
        row.read += spent.read_units;
        row.write += spent.write_units;
        if label.route == NO_REQUEST {
            row.requests += 1;
        }
        let Some(id) = request.filter(|id| !st.ended_ids.contains(id)) else {
            return;
        };
        if !st.open.contains_key(&id) {
            while st.open.len() >= MAX_OPEN {
                match st.order.pop_front() {
                    Some(old) => st.open.remove(&old),
                    None => break,
                };
            }
            st.order.push_back(id);
            st.open.insert(
                id,
                Open {
                    label,
                    calls: 0,
                    dynamo_requests: 0,
                    read: 0.0,
                    write: 0.0,
                    queries: Vec::new(),
                },
            );
        }
        if let Some(open) = st.open.get_mut(&id) {
            open.calls += 1;
            open.dynamo_requests += spent.requests;
            open.read += spent.read_units;
            open.write += spent.write_units;
            open.queries.extend(spent.queries);
            if open.queries.len() > MAX_QUERIES {
                open.queries
                    .sort_by(|a, b| units_of(b).total_cmp(&units_of(a)));
                open.queries.truncate(MAX_QUERIES);
            }
        }
    }

    /// Request `id` ended (`status`: its HTTP status; `ms`: how long it took): one more request
    /// on its row, and its log line when it cost more than the thresholds.
    pub fn request_done(&self, id: u64, status: Option<u64>, ms: Option<f64>) -> Option<String> {
        let mut st = self.lock();
        let open = st.open.remove(&id)?;
        if st.ended.len() >= MAX_OPEN {
            if let Some(old) = st.ended.pop_front() {
                st.ended_ids.remove(&old);
            }
        }
        st.ended.push_back(id);
        st.ended_ids.insert(id);
        if st.order.len() > 2 * MAX_OPEN {
            // Ids of requests ended since: dropped now and then, not on every end.
            let open = &st.open;
            let order: std::collections::VecDeque<u64> = st
                .order
                .iter()
                .copied()
                .filter(|x| open.contains_key(x))
                .collect();
            st.order = order;
        }
        st.row(&open.label).requests += 1;
        if !self.thresholds.over(open.read, open.write) {
            return None;
        }
        let mut queries = open.queries;
        queries.sort_by(|a, b| units_of(b).total_cmp(&units_of(a)));
        let line = json!({
            "route": open.label.route,
            "class": open.label.class,
            "function": open.label.function,
            "status": status,
            "ms": ms.map(|m| m.round()),
            "readUnits": round(open.read),
            "writeUnits": round(open.write),
            "dynamoRequests": open.dynamo_requests,
            "adapterCalls": open.calls,
            "queries": queries,
        });
        Some(format!("cost over costLog: {line}"))
    }

    /// What open request `id` has cost so far: `{readUnits, writeUnits, dynamoRequests,
    /// queries}` (None: it made no call, or has ended).
    pub fn open_request(&self, id: u64) -> Option<Value> {
        let st = self.lock();
        let open = st.open.get(&id)?;
        Some(json!({
            "readUnits": round(open.read),
            "writeUnits": round(open.write),
            "dynamoRequests": open.dynamo_requests,
            "queries": open.queries,
        }))
    }

    /// Folds what the store sent outside any call into the `(background)` row.
    pub fn absorb(&self, unattributed: &Tally) {
        let spent = unattributed.take();
        if spent.requests == 0 {
            return;
        }
        let mut st = self.lock();
        let row = st
            .rows
            .entry(Label {
                route: BACKGROUND.to_string(),
                ..Label::default()
            })
            .or_default();
        row.dynamo_requests += spent.requests;
        row.read += spent.read_units;
        row.write += spent.write_units;
    }

    /// The rows as the report and the saved copy list them (unranked).
    pub fn rows(&self) -> Vec<Value> {
        self.lock()
            .rows
            .iter()
            .map(|(l, r)| {
                json!({
                    "route": l.route,
                    "class": l.class,
                    "function": l.function,
                    "requests": r.requests,
                    "calls": r.calls,
                    "dynamoRequests": r.dynamo_requests,
                    "readUnits": round(r.read),
                    "writeUnits": round(r.write),
                })
            })
            .collect()
    }

    /// Seconds the ledger has counted.
    pub fn seconds(&self) -> f64 {
        self.since.elapsed().as_secs_f64()
    }

    pub fn since_ms(&self) -> u64 {
        self.since_ms
    }
}

fn units_of(q: &Value) -> f64 {
    q.get("readUnits").and_then(Value::as_f64).unwrap_or(0.0)
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The report of `rows` (the ledger's, or several servers' merged: the same route, class and
/// function summed) counted over `seconds`: the totals, then the rows by what a month of them
/// costs, each with its units per request and its dollars a month at `prices`.
pub fn report(rows: &[Value], seconds: f64, prices: &Prices, top: usize) -> Value {
    // Several servers' rows of one label summed (a map by the label's text: up to 1,000 rows
    // from each server).
    let mut merged: Vec<(Value, [f64; 5])> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for r in rows {
        let key = json!([r["route"], r["class"], r["function"]]);
        let n = |k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let add = [
            n("requests"),
            n("calls"),
            n("dynamoRequests"),
            n("readUnits"),
            n("writeUnits"),
        ];
        match at.get(&key.to_string()) {
            Some(&i) => merged[i].1.iter_mut().zip(add).for_each(|(s, a)| *s += a),
            None => {
                at.insert(key.to_string(), merged.len());
                merged.push((key, add));
            }
        }
    }
    let seconds = seconds.max(1.0);
    let month = |read: f64, write: f64| prices.per_month(read, write, seconds);
    let mut out: Vec<(f64, Value)> = merged
        .into_iter()
        .map(|(key, [requests, calls, dynamo, read, write])| {
            let per = if requests > 0.0 {
                requests
            } else {
                calls.max(1.0)
            };
            let dollars = month(read, write);
            let row = json!({
                "route": key[0],
                "class": key[1],
                "function": key[2],
                "requests": requests,
                "calls": calls,
                "dynamoRequests": dynamo,
                "readUnits": round(read),
                "writeUnits": round(write),
                "readUnitsPerRequest": round(read / per),
                "writeUnitsPerRequest": round(write / per),
                "dollarsPerMonth": cents(dollars),
            });
            (dollars, row)
        })
        .collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (read, write) = rows.iter().fold((0.0, 0.0), |(r, w), row| {
        (
            r + row.get("readUnits").and_then(Value::as_f64).unwrap_or(0.0),
            w + row.get("writeUnits").and_then(Value::as_f64).unwrap_or(0.0),
        )
    });
    json!({
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "readUnits": round(read),
        "writeUnits": round(write),
        "dollarsPerMonth": cents(month(read, write)),
        "prices": prices.to_json(),
        "rows": out.into_iter().take(top).map(|(_, r)| r).collect::<Vec<_>>(),
    })
}

/// Dollars to the cent (to the hundredth of a cent below a dollar).
fn cents(d: f64) -> f64 {
    if d < 1.0 {
        (d * 10_000.0).round() / 10_000.0
    } else {
        (d * 100.0).round() / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spent(read: f64, write: f64) -> Spent {
        Spent {
            requests: 1,
            read_units: read,
            write_units: write,
            queries: vec![json!({"call": "find", "readUnits": read})],
        }
    }

    #[test]
    fn rows_add_up_and_requests_log_past_their_threshold() {
        let ledger = Ledger::new(Thresholds {
            read_units: Some(10.0),
            write_units: None,
        });
        let label = |route: &str| Label {
            route: route.into(),
            class: Some("Post".into()),
            function: None,
        };
        ledger.call_done(label("GET /classes/:className"), Some(1), spent(4.0, 0.0));
        ledger.call_done(label("GET /classes/:className"), Some(1), spent(8.0, 1.0));
        ledger.call_done(label("GET /classes/:className"), Some(2), spent(2.0, 0.0));
        let line = ledger.request_done(1, Some(200), Some(12.0)).unwrap();
        assert!(line.contains("\"readUnits\":12.0"), "{line}");
        assert!(ledger.request_done(2, Some(200), None).is_none());
        assert!(
            ledger.request_done(2, Some(200), None).is_none(),
            "told twice"
        );
        // A call that ends after its request did goes to the row, and opens nothing.
        ledger.call_done(label("GET /classes/:className"), Some(2), spent(0.0, 0.0));
        assert!(ledger.open_request(2).is_none());
        let rows = ledger.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["requests"], 2);
        assert_eq!(rows[0]["calls"], 4);
        assert_eq!(rows[0]["readUnits"], 14.0);
    }

    #[test]
    fn rows_are_bounded_and_still_add_up() {
        // Class names come from request paths: a client asking for 1,200 classes adds no more
        // than MAX_ROWS rows, and what the others cost goes to OTHER.
        let ledger = Ledger::new(Thresholds::default());
        for i in 0..1200 {
            let label = Label {
                route: "GET /classes/:className".into(),
                class: Some(format!("C{i}")),
                function: None,
            };
            ledger.call_done(label, Some(i), spent(1.0, 0.0));
            ledger.request_done(i, Some(200), None);
        }
        let rows = ledger.rows();
        assert_eq!(rows.len(), MAX_ROWS + 1);
        let other = rows.iter().find(|r| r["route"] == OTHER).unwrap();
        assert_eq!(
            (other["requests"].as_u64(), other["readUnits"].as_f64()),
            (Some(200), Some(200.0))
        );
        let total: f64 = rows.iter().map(|r| r["readUnits"].as_f64().unwrap()).sum();
        assert_eq!(total, 1200.0);
    }

    #[test]
    fn a_report_ranks_by_dollars_and_merges_servers() {
        let prices = Prices::of_region("us-east-1");
        let row = |route: &str, read: f64, write: f64| json!({"route": route, "class": null, "function": null, "requests": 10, "calls": 10, "dynamoRequests": 10, "readUnits": read, "writeUnits": write});
        // Two servers' copies of one route merge; 100 writes outweigh 300 reads.
        let rows = [
            row("a", 300.0, 0.0),
            row("b", 0.0, 50.0),
            row("b", 0.0, 50.0),
        ];
        let r = report(&rows, 3600.0, &prices, 10);
        assert_eq!(r["rows"][0]["route"], "b");
        assert_eq!(r["rows"][0]["requests"], 20.0);
        assert_eq!(r["rows"][0]["writeUnitsPerRequest"], 5.0);
        assert_eq!(r["rows"].as_array().unwrap().len(), 2);
    }
}

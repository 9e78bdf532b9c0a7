//! What reads and requests cost, where the adapter decides it: a request's end told to the
//! ledger (its log line past `costLog`), the cost report (this server's, or every server's
//! saved copy for the command line), the periodic save of this server's ledger, and the read
//! budget (`maxReadUnitsPerQuery`): a find, count or aggregate planned above it is refused
//! with the index that would serve it named (or run and logged in `warn` mode), and one that
//! turns out to read beyond it is stopped by the store's read loops (`store::budgeted`).

use super::planning::Planned;
use super::Adapter;
use crate::bill::{self, prices::Prices};
use crate::error::{Error, Result};
use crate::layout::{index, COSTS_PARTITION};
use crate::query::normal::Normal;
use crate::query::plan::{self, SortHint};
use crate::store::{Budget, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::sync::Arc;

/// How long a server's saved ledger stays after its last save.
const SAVED_FOR_SECS: u64 = 30 * 24 * 3600;
/// The most bytes of rows a saved ledger holds (its item stays under DynamoDB's 400 KB).
const SAVED_MAX_BYTES: usize = 300 * 1024;

impl Adapter {
    /// Request `id` ended: its row counts one more request, and the log tells what it cost
    /// when that is past the `costLog` thresholds.
    pub fn request_done(&self, id: u64, status: Option<u64>, ms: Option<f64>) {
        if let Some(line) = self.bill.request_done(id, status, ms) {
            self.log.warn(line);
        }
    }

    /// The prices the report uses: `region` (else the option's, else the store's, else
    /// us-east-1) with `given` (else the option's) over them.
    fn prices(&self, region: Option<&str>, given: Option<&Value>) -> Prices {
        let region = region
            .or(self.costs.region.as_deref())
            .unwrap_or("us-east-1");
        Prices::with(region, given.or(self.costs.prices.as_ref()))
    }

    /// This server's cost report since it started: the ranked rows, totals and prices.
    pub fn cost_report(&self, region: Option<&str>, given: Option<&Value>, top: usize) -> Value {
        self.bill.absorb(self.store.unattributed());
        let mut r = bill::report(
            &self.bill.rows(),
            self.bill.seconds(),
            &self.prices(region, given),
            top,
        );
        r["since"] = json!(self.bill.since_ms());
        r["servers"] = json!(1);
        r
    }

    /// Writes this server's ledger to the table (one item, its key `server`), for the command
    /// line's report of every server.
    pub async fn save_costs(&self, server: &str) -> Result<()> {
        self.bill.absorb(self.store.unattributed());
        let now = crate::layout::now_ms();
        // The dearest rows that fit one item (DynamoDB's 400 KB, with room to spare).
        let mut rows = self.bill.rows();
        let units = |r: &Value| {
            r["readUnits"].as_f64().unwrap_or(0.0) + r["writeUnits"].as_f64().unwrap_or(0.0)
        };
        rows.sort_by(|a, b| units(b).total_cmp(&units(a)));
        let mut size = 0;
        rows.retain(|r| {
            size += r.to_string().len() + 1;
            size <= SAVED_MAX_BYTES
        });
        let saved = json!({
            "since": self.bill.since_ms(),
            "until": now,
            "rows": rows,
        });
        let item = std::collections::HashMap::from([
            (
                crate::codec::PK.to_string(),
                AttributeValue::S(COSTS_PARTITION.into()),
            ),
            (
                crate::codec::SK.to_string(),
                AttributeValue::S(server.into()),
            ),
            ("ledger".to_string(), AttributeValue::S(saved.to_string())),
            (
                TTL_ATTRIBUTE.to_string(),
                AttributeValue::N((now / 1000 + SAVED_FOR_SECS as i64).to_string()),
            ),
        ]);
        self.store.put(item, None).await?;
        Ok(())
    }

    /// The report of every server's saved ledger: their rows summed, over the time from the
    /// first one's start to the last one's save.
    pub async fn saved_cost_report(
        &self,
        region: Option<&str>,
        given: Option<&Value>,
        top: usize,
    ) -> Result<Value> {
        let mut rows = Vec::new();
        let (mut since, mut until, mut servers) = (u64::MAX, 0u64, 0);
        self.store
            .query(COSTS_PARTITION, None, |item| {
                let saved = match item.get("ledger") {
                    Some(AttributeValue::S(s)) => serde_json::from_str::<Value>(s).ok(),
                    _ => None,
                };
                if let Some(saved) = saved {
                    servers += 1;
                    since = since.min(saved["since"].as_u64().unwrap_or(u64::MAX));
                    until = until.max(saved["until"].as_u64().unwrap_or(0));
                    rows.extend(saved["rows"].as_array().cloned().unwrap_or_default());
                }
                Ok(true)
            })
            .await?;
        let seconds = until.saturating_sub(since.min(until)) as f64 / 1000.0;
        let mut r = bill::report(&rows, seconds, &self.prices(region, given), top);
        r["servers"] = json!(servers);
        r["since"] = json!((servers > 0).then_some(since));
        Ok(r)
    }

    /// Saves this server's ledger every `costReport.saveEverySeconds` (when set), from start.
    pub(super) fn save_costs_periodically(self: &Arc<Self>) {
        let Some(every) = self.costs.save_every else {
            return;
        };
        let weak = Arc::downgrade(self);
        let server = crate::layout::new_object_id();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(every)).await;
                let Some(a) = weak.upgrade() else { return };
                if let Err(e) = a.save_costs(&server).await {
                    a.log.warn(format!("saving the cost ledger failed: {e}"));
                }
            }
        });
    }

    /// The budget a find, count or aggregate of `q` planned as `planned` runs under, if
    /// `maxReadUnitsPerQuery` is set. A plan estimated above it (on the class's known size)
    /// that an index could serve
    /// (its estimate a guess of how much of the class the conditions match) is run through
    /// that index, and stopped if it reads beyond the budget; a read of the whole class above
    /// it is refused here (in `warn` mode, logged and run), the error naming the index that
    /// would serve it.
    pub(super) fn budget_for(
        &self,
        call: &str,
        class: &str,
        q: &Normal,
        sort: Option<&SortHint>,
        planned: &mut Planned,
    ) -> Result<Option<Arc<Budget>>> {
        let Some(b) = self.budget else {
            return Ok(None);
        };
        let estimate = planned.plan.estimate.unwrap_or(0.0);
        // Refused on an estimate only when the class's size is known (a class never counted,
        // as Parse's own at start, is run and stopped if it reads too much).
        if estimate > b.units && planned.stats.objects.is_some() {
            // An index path estimated on a guess of how much its conditions match may read far
            // less than its estimate: in refuse mode, run it under the budget (stopped if not).
            let indexed = planned
                .plan
                .candidates
                .iter()
                .find(|(a, _)| *a != plan::Access::Partition);
            if let Some((access, _)) = indexed.filter(|_| b.stop && !planned.stats.measured(q)) {
                planned.plan.access = access.clone();
                return Ok(Some(Arc::new(Budget::new(b.units, b.stop))));
            }
            // The index of its conditions, else of its sort (an unsorted find's is creation
            // order: an index on it reads the class in that order all the same).
            let mut wanted = plan::wanted_indexes(q, None);
            if wanted.is_empty() {
                wanted = plan::wanted_indexes(q, sort);
            }
            let serve = match wanted.iter().find(|s| !planned.kept.keeps(s)) {
                Some(spec) => format!(
                    "an index {} on {class} would serve it (declare it in the class's indexes, or let the automatic indexes build it)",
                    index::parse_key(spec)
                ),
                None if wanted.is_empty() => {
                    "no index can serve its conditions: narrow it (an equality, a range, a prefix, a search the indexes serve)".to_string()
                }
                None if wanted.iter().any(|s| planned.kept.building.contains(s)) => {
                    "its index is still being built".to_string()
                }
                None => "its index would read most of the class: narrow it".to_string(),
            };
            let message = format!(
                "this {call} on {class} would read about {estimate:.0} read units, over maxReadUnitsPerQuery ({}): {serve}",
                b.units
            );
            if b.stop {
                // Refused, it still tells the automatic-index policy what it would have read.
                let by = plan::wanted_indexes(q, None)
                    .is_empty()
                    .then_some(sort)
                    .flatten();
                self.want_index(class, q, by, &planned.kept, estimate, 1);
                return Err(Error::OverBudget(message));
            }
            self.log.warn(format!("{message} (warn mode: run anyway)"));
        }
        Ok(Some(Arc::new(Budget::new(b.units, b.stop))))
    }

    /// After a budgeted query: in `warn` mode, one that read beyond its budget is logged.
    pub(super) fn budget_spent(&self, call: &str, class: &str, budget: Option<&Arc<Budget>>) {
        if let Some(b) = budget.filter(|b| !b.stop && b.exceeded()) {
            self.log.warn(format!(
                "this {call} on {class} read {:.0} read units, over maxReadUnitsPerQuery ({}) (warn mode)",
                b.spent(),
                b.limit
            ));
        }
    }
}

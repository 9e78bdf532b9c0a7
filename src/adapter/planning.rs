//! How the adapter's reads are planned and what they teach: the plan of a read from the
//! class's registries, schema facts and cost-model stats (its object count read only when it
//! decides the plan), and after the read, what the cost model learns (the fraction of the
//! class the query's shape matched, the class's item size) and whether the automatic-index
//! policy should build the index the query wanted.

use super::stats::Count;
use super::Adapter;
use crate::error::Result;
use crate::layout::{index, is_join, Kept};
use crate::query::cost::Stats;
use crate::query::exec;
use crate::query::normal::Normal;
use crate::query::plan::{self, ClassFacts, Demand, Plan, SortHint};
use crate::store::Store;
use serde_json::Value;

/// A plan, with the registries and stats it was made from (what the read then teaches).
pub(super) struct Planned {
    pub plan: Plan,
    pub kept: Kept,
    pub stats: Stats,
}

/// What the planner may take from the class's name and schema: relation classes, and fields
/// whose declared type is not Array (Parse keeps arrays out of them).
pub(super) fn facts(class: &str, schema: &Value) -> ClassFacts {
    ClassFacts {
        join: is_join(class),
        scalars: fields_typed(schema, |t| t != "Array"),
    }
}

/// Fields the schema declares String, Number or Boolean: stored as DynamoDB compares them (a
/// string, a number, a boolean, or nothing), so an equality DynamoDB evaluates on them holds
/// exactly when the evaluator's does (a Date or Pointer is stored in another form).
pub(super) fn plain_fields(schema: &Value) -> Vec<String> {
    fields_typed(schema, |t| matches!(t, "String" | "Number" | "Boolean"))
}

/// The schema's fields whose declared type `keep` accepts.
fn fields_typed(schema: &Value, keep: impl Fn(&str) -> bool) -> Vec<String> {
    schema
        .get("fields")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, t)| t.get("type").and_then(Value::as_str).is_some_and(&keep))
        .map(|(name, _)| name.clone())
        .collect()
}

impl Adapter {
    /// The plan of a read of `q` from `class`, with the registries and the class's stats it
    /// was made with. Reads by objectId need neither; the stats are read only when the class
    /// has an index or a unique field (else the partition is the only path).
    pub(super) async fn plan(
        &self,
        class: &str,
        schema: &Value,
        q: &Normal<'_>,
        read: Demand<'_>,
    ) -> Result<Planned> {
        self.ready().await?;
        if let Some(plan) = plan::key_plan(q) {
            return Ok(Planned {
                plan,
                kept: Kept::default(),
                stats: Stats::default(),
            });
        }
        let kept = self.kept(class).await?;
        let facts = facts(class, schema);
        // A read budget compares the estimate with the class's real size.
        let guarded = self.budget.is_some();
        let stats =
            if (!guarded && kept.indexes.is_empty() && kept.unique.is_empty()) || is_join(class) {
                Stats::default()
            } else {
                self.stats(class, |s| {
                    guarded || plan::size_matters(q, &kept, &facts, read, s)
                })
                .await
            };
        let plan = plan::plan_read(q, &kept, &facts, read, &stats);
        Ok(Planned { plan, kept, stats })
    }

    /// What the cost model knows of `class`: its object count is read (one small Query of its
    /// counters) before the first plan it decides (`matters`), then in the background.
    async fn stats(&self, class: &str, matters: impl Fn(&Stats) -> bool) -> Stats {
        let (stats, count) = self.learned.get(class);
        let reader = self.store.reading(false);
        match count {
            Count::No => stats,
            Count::Now if !matters(&stats) => stats,
            Count::Now => {
                let n = self.counts.known(&reader, class).await.ok().flatten();
                self.learned.counted(class, n);
                self.learned.get(class).0
            }
            Count::Later => {
                let (counts, learned, class) =
                    (self.counts.clone(), self.learned.clone(), class.to_string());
                tokio::spawn(async move {
                    let n = counts.known(&reader, &class).await.ok().flatten();
                    learned.counted(&class, n);
                });
                stats
            }
        }
    }

    /// After a read of `q` through `planned` that spent `answer.read.scanned` read units on the
    /// class partition or on index lookups where a better index would read about `would_read`
    /// rows: the cost model learns what the read found (the fraction of the class matching
    /// `q`'s shape; what a partition Query billed per object), and the automatic-index policy
    /// may build that index (the feed query served by an index on its equality field alone
    /// reads the author's history; the compound index reads the page).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn after_read<T>(
        &self,
        class: &str,
        q: &Normal,
        sort: Option<&SortHint>,
        planned: &Planned,
        reader: &Store,
        answer: &exec::Answer<T>,
        would_read: usize,
    ) {
        if is_join(class) {
            return;
        }
        self.learn(class, q, planned, reader, answer);
        if answer.read.scanned == 0.0 {
            return;
        }
        self.want_index(
            class,
            q,
            sort,
            &planned.kept,
            answer.read.scanned,
            would_read,
        );
    }

    /// A read of `q` (sorted by `sort`) spent, or would spend, `scanned` read units where an
    /// index would read about `would_read` rows: the automatic-index policy may build the
    /// index it wants.
    pub(super) fn want_index(
        &self,
        class: &str,
        q: &Normal,
        sort: Option<&SortHint>,
        kept: &Kept,
        scanned: f64,
        would_read: usize,
    ) {
        // The first wanted index not kept yet, else one still building (to resume it). When
        // the sort's own index is kept (it was read in order and fetched far more than it
        // answered), the index of the query's conditions.
        let mut wanted = plan::wanted_indexes(q, sort);
        if sort.is_some() && wanted.iter().all(|s| kept.keeps(s)) {
            wanted = plan::wanted_indexes(q, None);
        }
        if let Some(spec) = wanted
            .iter()
            .find(|s| !kept.keeps(s))
            .or_else(|| wanted.iter().find(|s| kept.building.contains(s)))
        {
            if !self.worth_its_writes(class, spec, kept, scanned, would_read) {
                return;
            }
            self.indexes
                .consider(class, spec, kept, scanned, would_read);
        }
    }

    /// Whether a search index (trigrams, words, cells) would save more read units than it adds
    /// write units: its entries per object written (a string's trigrams, a text's words, one
    /// cell) times the objects this process wrote, against what the reads wanting it spent
    /// beyond it so far. Other indexes add one entry per object and are weighed by the policy
    /// alone. Says its reasoning in the log.
    fn worth_its_writes(
        &self,
        class: &str,
        spec: &str,
        kept: &Kept,
        scanned: f64,
        would_read: usize,
    ) -> bool {
        let per_object = match index::parse_spec(spec).1 {
            index::Kind::Trigram => 30.0,
            index::Kind::Text => 12.0,
            _ => return true,
        };
        let (wasted, writes) = self
            .learned
            .wasted(class, spec, scanned - (would_read + 1) as f64);
        let adds = writes as f64 * per_object;
        let worth = wasted >= adds;
        if !kept.keeps(spec) {
            self.log.info(format!(
                "automatic index {class}.{spec}: reads wanting it spent {wasted:.0} units beyond it; \
                 {writes} objects written here would have added ~{adds:.0} write units (~{per_object} entries each): {}",
                if worth { "worth it" } else { "not yet" }
            ));
        }
        worth
    }

    /// What a read teaches the cost model of a class whose object count it knew.
    fn learn<T>(
        &self,
        class: &str,
        q: &Normal,
        planned: &Planned,
        reader: &Store,
        answer: &exec::Answer<T>,
    ) {
        let access = &planned.plan.access;
        if matches!(access, plan::Access::Keys(_)) {
            return;
        }
        // A read of the whole partition counted the class as it went (its size was not read
        // for this plan: it did not decide it).
        // (A count DynamoDB made examines nothing here: it teaches no size.)
        let whole =
            *access == plan::Access::Partition && answer.read.complete && answer.read.examined > 0;
        let objects = match planned.stats.objects {
            Some(n) => n,
            None if whole => {
                self.learned
                    .counted(class, Some(answer.read.examined as u64));
                answer.read.examined as f64
            }
            None => return,
        };
        if objects < 1.0 {
            return;
        }
        let shape = q.whole_shape().to_string();
        if answer.read.complete {
            self.learned
                .matched(class, shape, answer.matched as f64 / objects);
            if *access == plan::Access::Partition && objects >= 20.0 {
                let strong = if reader.strong() { 1.0 } else { 2.0 };
                self.learned
                    .item_bytes(class, answer.read.scanned * strong * 4096.0 / objects);
            }
        } else if answer.read.examined > 0 {
            // A read that stopped at its page: what it checked is a sample of the entries
            // its path covers.
            let part = plan::covered(access, q, &planned.stats);
            let fraction = answer.matched as f64 / answer.read.examined as f64 * part;
            self.learned.matched(class, shape, fraction);
        }
    }
}

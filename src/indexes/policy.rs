//! The automatic-index policy: when a read of a class cost far more than the index its query
//! wants would have (`consider`), that index is registered and built in the background like a
//! declared one, up to a number per class; queries use it only once it is ready everywhere.
//! What an index is and how it is kept are the registry's (`indexes`).

use super::{ready_now, Indexes};
use crate::error::Result;
use crate::layout::Kept;
use std::sync::Arc;

/// When the adapter creates an index by itself: a query had to read the class partition, that
/// cost at least `min_units` read units, and at least `ratio` times what reading through the
/// index would (one unit per row read, and one for the index range); the class has fewer
/// than `max_per_class` automatic indexes.
#[derive(Debug, Clone)]
pub struct AutoIndexPolicy {
    pub enabled: bool,
    pub min_units: f64,
    pub ratio: f64,
    pub max_per_class: usize,
}

impl Default for AutoIndexPolicy {
    fn default() -> Self {
        AutoIndexPolicy {
            enabled: true,
            min_units: 25.0,
            ratio: 4.0,
            max_per_class: 8,
        }
    }
}

impl Indexes {
    /// The automatic-index policy: a read of `class` cost `scanned` read units (of its
    /// partition, or through a lesser index) where index `spec` would read about `would_read`
    /// rows. When the policy says so,
    /// the index is registered and built in the background; queries use it only once it is
    /// ready everywhere (after the second back-fill), so answers stay exact meanwhile.
    pub fn consider(
        self: &Arc<Self>,
        class: &str,
        spec: &str,
        kept: &Kept,
        scanned: f64,
        would_read: usize,
    ) {
        let p = &self.policy;
        let through_index = (would_read + 1) as f64;
        let worth = scanned >= p.min_units && scanned >= p.ratio * through_index;
        let known = kept.keeps(spec);
        let resume = kept.building.iter().any(|s| s == spec);
        if !p.enabled || !worth || (known && !resume) {
            return;
        }
        let job = (class.to_string(), spec.to_string());
        {
            let mut here = self.building_here.lock().unwrap_or_else(|e| e.into_inner());
            // The cap counts the builds this process started and has not registered yet too.
            let starting = here
                .iter()
                .filter(|(c, s)| c == class && !kept.auto.contains(s))
                .count();
            if !known && kept.auto.len() + starting >= p.max_per_class {
                return;
            }
            if !here.insert(job.clone()) {
                return;
            }
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let (class, spec) = (&job.0, &job.1);
            // A query planned before the index became ready (here or on another server) asks
            // to resume a build that has finished: reading the class again would be waste.
            if resume && matches!(ready_now(&this.store, class, spec).await, Ok(true)) {
                this.building_here
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&job);
                return;
            }
            this.log.info(format!(
                "automatic index {class}.{spec}: a query read {scanned} units of the class for {would_read} rows; building it"
            ));
            if let Err(e) = this.build_auto(class, spec).await {
                this.log
                    .warn(format!("automatic index {class}.{spec} failed: {e}"));
            }
            this.building_here
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&job);
        });
    }

    pub(super) async fn build_auto(&self, class: &str, spec: &str) -> Result<()> {
        self.register_index(class, spec, true).await?;
        if self.fill_twice(class, spec).await? {
            self.log
                .info(format!("automatic index {class}.{spec} is ready"));
        }
        Ok(())
    }
}

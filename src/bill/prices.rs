//! DynamoDB's on-demand prices (Standard table class): dollars per million read and write
//! request units in a region, and what a month of traffic at a measured rate costs. The table
//! holds AWS's published prices after the November 2024 cut; a region not in it is priced as
//! us-east-1 and says so, and the user may pass their own (`costReport.prices`).

use serde_json::{json, Value};

/// Hours in AWS's billing month.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Dollars per million request units, by region (aws.amazon.com/dynamodb/pricing/on-demand).
const TABLE: &[(&str, f64, f64)] = &[
    // region, read, write
    ("us-east-1", 0.125, 0.625),
    ("eu-west-1", 0.1415, 0.705),
    ("eu-central-1", 0.1525, 0.7625),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    pub region: String,
    pub read_per_million: f64,
    pub write_per_million: f64,
    /// Where the numbers come from: `table`, `table (us-east-1's)` for a region not listed,
    /// or `given`.
    pub source: String,
}

impl Prices {
    /// The published prices of `region` (us-east-1's when it is not in the table).
    pub fn of_region(region: &str) -> Prices {
        match TABLE.iter().find(|(r, _, _)| *r == region) {
            Some((_, read, write)) => Prices {
                region: region.to_string(),
                read_per_million: *read,
                write_per_million: *write,
                source: "table".into(),
            },
            None => Prices {
                region: region.to_string(),
                read_per_million: TABLE[0].1,
                write_per_million: TABLE[0].2,
                source: format!("not in the table: {}'s prices", TABLE[0].0),
            },
        }
    }

    /// `region`'s prices, with `given` (`{readPerMillion?, writePerMillion?}`) over them.
    pub fn with(region: &str, given: Option<&Value>) -> Prices {
        let mut p = Prices::of_region(region);
        if let Some(g) = given {
            let n = |k: &str| g.get(k).and_then(Value::as_f64).filter(|x| *x >= 0.0);
            if let Some(r) = n("readPerMillion") {
                p.read_per_million = r;
                p.source = "given".into();
            }
            if let Some(w) = n("writePerMillion") {
                p.write_per_million = w;
                p.source = "given".into();
            }
        }
        p
    }

    /// Dollars a month of traffic costs at the rate of `read` and `write` units in `seconds`.
    pub fn per_month(&self, read: f64, write: f64, seconds: f64) -> f64 {
        let scale = HOURS_PER_MONTH * 3600.0 / seconds.max(1e-9) / 1e6;
        (read * self.read_per_million + write * self.write_per_million) * scale
    }

    pub fn to_json(&self) -> Value {
        json!({
            "region": self.region,
            "readPerMillion": self.read_per_million,
            "writePerMillion": self.write_per_million,
            "source": self.source,
            "hoursPerMonth": HOURS_PER_MONTH,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_at_a_steady_rate() {
        // 1 write unit a second for a month: 2,628,000 units at $0.625 per million.
        let p = Prices::of_region("us-east-1");
        let d = p.per_month(0.0, 3600.0, 3600.0);
        assert!((d - 2.628 * 0.625).abs() < 1e-9, "{d}");
        assert_eq!(Prices::of_region("mars-1").read_per_million, 0.125);
        let given = Prices::with("eu-central-1", Some(&json!({"writePerMillion": 1.0})));
        assert_eq!(
            (given.read_per_million, given.write_per_million),
            (0.1525, 1.0)
        );
    }
}

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

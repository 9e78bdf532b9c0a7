//! What the adapter asked of DynamoDB since it started: requests and consumed capacity units
//! per operation, as `adapter.consumedCapacity()` reports them.

/// What the adapter asked of DynamoDB since it started: requests and consumed capacity units
/// per operation (from `ReturnConsumedCapacity`; zero where the server reports none).
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
    pub operations: std::collections::BTreeMap<String, OpUsage>,
}

#[derive(Debug, Default, Clone)]
pub struct OpUsage {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
}

impl Usage {
    pub fn to_json(&self) -> serde_json::Value {
        let ops: serde_json::Map<String, serde_json::Value> = self
            .operations
            .iter()
            .map(|(k, o)| {
                let v = serde_json::json!({"requests": o.requests, "readUnits": o.read_units, "writeUnits": o.write_units});
                (k.clone(), v)
            })
            .collect();
        serde_json::json!({
            "requests": self.requests,
            "readUnits": self.read_units,
            "writeUnits": self.write_units,
            "operations": ops,
        })
    }
}

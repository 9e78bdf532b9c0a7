//! Errors of the core, as one typed enum. Each variant knows the Parse error code it becomes at
//! the N-API boundary (`Error::code`), so no other layer guesses codes from messages.

use serde_json::{json, Value};

/// Parse error codes the core produces (see Parse.Error in the JS SDK).
pub mod code {
    pub const INTERNAL_SERVER_ERROR: i64 = 1;
    pub const OBJECT_NOT_FOUND: i64 = 101;
    pub const INVALID_QUERY: i64 = 102;
    pub const INVALID_CLASS_NAME: i64 = 103;
    pub const INVALID_KEY_NAME: i64 = 105;
    pub const INVALID_JSON: i64 = 107;
    pub const COMMAND_UNAVAILABLE: i64 = 108;
    pub const INCORRECT_TYPE: i64 = 111;
    pub const OBJECT_TOO_LARGE: i64 = 116;
    pub const OPERATION_FORBIDDEN: i64 = 119;
    pub const TIMEOUT: i64 = 124;
    pub const INVALID_NESTED_KEY: i64 = 121;
    pub const DUPLICATE_VALUE: i64 = 137;
    pub const EXCEEDED_QUOTA: i64 = 140;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The query is malformed or uses an operator the adapter does not know.
    #[error("{0}")]
    InvalidQuery(String),
    /// A value cannot be stored (bad JSON shape, number out of DynamoDB's range, ...).
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidKeyName(String),
    #[error("{0}")]
    IncorrectType(String),
    /// A key inside an object value contains `$` or `.`.
    #[error("Nested keys should not contain the '$' or '.' characters")]
    InvalidNestedKey,
    #[error("Object not found.")]
    ObjectNotFound,
    /// A unique value (or objectId) already exists. `field` is Parse's `duplicated_field`.
    #[error("A duplicate value for a field with unique values was provided")]
    Duplicate { field: Option<String> },
    #[error("Class {0} already exists.")]
    ClassExists(String),
    #[error("{0}")]
    TooLarge(String),
    /// A feature the adapter does not support (yet); listed in the limits of docs/reliability.md.
    #[error("{0}")]
    Unsupported(String),
    /// Optimistic-concurrency retries exhausted.
    #[error("{0}")]
    Conflict(String),
    /// DynamoDB (or the network) failed.
    #[error("DynamoDB error: {0}")]
    Dynamo(String),
    /// DynamoDB refused the request and applied nothing: it broke one of DynamoDB's rules
    /// (a `ValidationException`, a transaction cancelled for a `ValidationError`), or stayed
    /// throttled through every retry. Unlike `Dynamo`, a write refused so is known not to have
    /// happened.
    #[error("DynamoDB refused the request (nothing was written): {0}")]
    Refused(String),
    /// A write whose outcome is unknown: its answer was lost (or it timed out) and it may have
    /// been applied. Parse's TIMEOUT (HTTP 400), not 500: the JS SDK sends a request again after
    /// a 500, which would apply an applied increment twice.
    #[error("{0}")]
    Unknown(String),
    #[error("{0}")]
    Internal(String),
    /// A query over `maxReadUnitsPerQuery`: refused before it ran, or stopped once it read that
    /// much. Parse's EXCEEDED_QUOTA.
    #[error("{0}")]
    OverBudget(String),
}

impl Error {
    /// A failure of a write that may have been applied becomes `Unknown`.
    pub fn of_write(self) -> Error {
        match self {
            Error::Dynamo(m) => Error::Unknown(format!(
                "DynamoDB error: {m} (the write may or may not have been applied)"
            )),
            other => other,
        }
    }

    pub fn code(&self) -> i64 {
        use code::*;
        match self {
            Error::InvalidQuery(_) => INVALID_QUERY,
            Error::InvalidJson(_) => INVALID_JSON,
            Error::InvalidKeyName(_) => INVALID_KEY_NAME,
            Error::IncorrectType(_) => INCORRECT_TYPE,
            Error::InvalidNestedKey => INVALID_NESTED_KEY,
            Error::ObjectNotFound => OBJECT_NOT_FOUND,
            Error::Duplicate { .. } | Error::ClassExists(_) => DUPLICATE_VALUE,
            Error::TooLarge(_) => OBJECT_TOO_LARGE,
            Error::Unsupported(_) => COMMAND_UNAVAILABLE,
            Error::Conflict(_) | Error::Dynamo(_) | Error::Refused(_) | Error::Internal(_) => {
                INTERNAL_SERVER_ERROR
            }
            Error::Unknown(_) => TIMEOUT,
            Error::OverBudget(_) => EXCEEDED_QUOTA,
        }
    }

    /// The error as the JSON the JS shim turns into a `Parse.Error`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "code": self.code(), "message": self.to_string() });
        if let Error::Duplicate { field: Some(f) } = self {
            v["userInfo"] = json!({ "duplicated_field": f });
        }
        v
    }

    pub fn query(msg: impl Into<String>) -> Self {
        Error::InvalidQuery(msg.into())
    }
    pub fn json(msg: impl Into<String>) -> Self {
        Error::InvalidJson(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A name or value as an error message shows it: its first 40 characters, `…` when cut.
pub fn shown(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_shown_cut_on_a_character() {
        assert_eq!(shown("short"), "short");
        let long = "é".repeat(300);
        assert_eq!(shown(&long), format!("{}…", "é".repeat(40)));
    }
}

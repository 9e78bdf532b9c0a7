//! When DynamoDB's TTL deletes an object of a class with `ttl` (`_Session` at `expiresAt`
//! by default), and with it everything kept for it: the epoch second its TTL field's date
//! gives, which its item, sentinels, index entries and counters carry (`codec::EXPIRES`).

use super::Writer;
use serde_json::{Map, Value};

/// The TTL expiry (epoch seconds) of an object before and after a write (see
/// `Writer::expiries`).
pub(super) type Expiry = (Option<i64>, Option<i64>);

impl Writer {
    /// The epoch second DynamoDB's TTL deletes `obj` of `class` at: the date in the class's
    /// `ttl` field (None: the class has none, or the object no such date).
    pub(super) fn expiry(&self, class: &str, obj: &Map<String, Value>) -> Option<i64> {
        let iso = crate::value::date_iso(obj.get(self.ttl.get(class)?)?)?;
        chrono::DateTime::parse_from_rfc3339(iso)
            .ok()
            .map(|d| d.timestamp())
    }

    /// The TTL field of `class`, when it has one (an update of it is never made in place:
    /// every item kept for the object takes the new expiry).
    pub(super) fn ttl_field(&self, class: &str) -> Option<&str> {
        self.ttl.get(class).map(String::as_str)
    }

    /// The TTL expiry of an object of `class` going from `old` to `new` (see `expiry`).
    pub(super) fn expiries(
        &self,
        class: &str,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
    ) -> Expiry {
        let of = |o: Option<&Map<String, Value>>| o.and_then(|o| self.expiry(class, o));
        (of(old), of(new))
    }
}

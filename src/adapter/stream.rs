//! What the adapter waits on from the table's stream: schema changes of any server (Parse's
//! `enableSchemaHooks`) and LiveQuery messages. The first wait starts following the stream
//! (`crate::follow`, once per process), turning it on if the table had none.

use super::Adapter;
use crate::error::Result;

impl Adapter {
    /// Starts following the table's stream (once per process; see `follow`) and waits until
    /// changes made from now on are heard (the stream turned on if the table had none).
    async fn follow_stream(&self) {
        crate::follow::start(
            &self.changes,
            self.store.clone(),
            self.indexes.clone(),
            self.log.clone(),
        );
        self.changes
            .following(std::time::Duration::from_secs(30))
            .await;
    }

    /// Waits (at most `timeout`) until the table's stream shows a schema change after version
    /// `seen`, any server's; answers the version then. The first call starts following the
    /// stream (`follow`). What the JS shim's `watch` polls, for Parse's `enableSchemaHooks`.
    pub async fn schema_changes(&self, seen: u64, timeout: std::time::Duration) -> Result<u64> {
        self.ready().await?;
        self.follow_stream().await;
        Ok(self.changes.wait(seen, timeout).await)
    }

    /// Publishes a LiveQuery message (see `livequery`).
    pub async fn live_query_publish(&self, channel: &str, message: &str) -> Result<()> {
        self.ready().await?;
        crate::livequery::publish(&self.store, channel, message).await
    }

    /// The LiveQuery messages any server published after number `after` (None: from now on),
    /// waiting up to `timeout` for one; the first call starts following the stream.
    pub async fn live_query_messages(
        &self,
        after: Option<u64>,
        timeout: std::time::Duration,
    ) -> Result<(u64, Vec<(String, String)>)> {
        self.ready().await?;
        self.follow_stream().await;
        Ok(self.changes.messages(after, timeout).await)
    }
}

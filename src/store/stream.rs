//! The table's stream as DynamoDB Streams serves it: whether the table has one (and turning it
//! on), its shards, an iterator into a shard, and a page of a shard's records, each record as
//! the key of the item it changed and the item's string attributes after the change (the
//! stream's view type is `NEW_IMAGE`). Which shards to read and when is `follow`'s.

use super::{build_err, dynamo_err, Store};
use crate::codec::{PK, SK};
use crate::error::Result;
use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use std::collections::HashMap;

/// The stream a follower turns on: new images (what LiveQuery messages carry).
fn specification() -> Result<StreamSpecification> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()
        .map_err(build_err)
}

/// A shard of the stream: open ones have no ending sequence number.
#[derive(Debug, Clone)]
pub struct Shard {
    pub id: String,
    pub parent: Option<String>,
    pub open: bool,
}

/// Where an iterator starts.
pub enum From {
    Latest,
    TrimHorizon,
    After(String),
}

/// A change of one item: its key, the stream's sequence number, and its string attributes
/// after the change (none when it was deleted).
#[derive(Debug, Clone)]
pub struct Record {
    pub pk: String,
    pub sk: String,
    pub seq: String,
    pub strings: HashMap<String, String>,
}

/// A page of a shard.
pub enum Page {
    /// Records and the iterator to the next page (None: the shard is closed and read out).
    Records(Vec<Record>, Option<String>),
    /// The iterator expired (after 15 minutes unused): get another.
    Expired,
    /// What the iterator pointed at is past the stream's 24 hours.
    Trimmed,
}

fn string(v: Option<&AttributeValue>) -> String {
    match v {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}

impl Store {
    /// The table's current stream, or None when it has none enabled.
    pub async fn stream_arn(&self) -> Result<Option<String>> {
        let Some(t) = self.table_description().await? else {
            return Ok(None);
        };
        let on = t.stream_specification().is_some_and(|s| s.stream_enabled());
        Ok(t.latest_stream_arn().filter(|_| on).map(str::to_string))
    }

    /// Turns the table's stream on (UpdateTable). Another server turning it on at the same time
    /// is no error: DynamoDB refuses the second UpdateTable (the table is being updated, or has
    /// a stream already), and the stream it asked for comes all the same.
    pub async fn enable_stream(&self) -> Result<()> {
        let sent = self
            .client
            .update_table()
            .table_name(&self.table)
            .stream_specification(specification()?)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                let se = e.into_service_error();
                if se.is_resource_in_use_exception() || self.stream_arn().await?.is_some() {
                    Ok(())
                } else {
                    Err(dynamo_err(se))
                }
            }
        }
    }

    /// Every shard of stream `arn` (DescribeStream, page by page).
    pub async fn stream_shards(&self, arn: &str) -> Result<Vec<Shard>> {
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(dynamo_err)?;
            let Some(d) = out.stream_description() else {
                return Ok(shards);
            };
            for s in d.shards() {
                shards.push(Shard {
                    id: s.shard_id().unwrap_or_default().to_string(),
                    parent: s.parent_shard_id().map(str::to_string),
                    open: s
                        .sequence_number_range()
                        .is_none_or(|r| r.ending_sequence_number().is_none()),
                });
            }
            match d.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_string()),
                None => return Ok(shards),
            }
        }
    }

    /// An iterator into shard `shard` of stream `arn`.
    pub async fn shard_iterator(
        &self,
        arn: &str,
        shard: &str,
        from: From,
    ) -> Result<Option<String>> {
        let req = self
            .streams
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(shard);
        let req = match from {
            From::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
            From::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            From::After(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
        };
        let out = req.send().await.map_err(dynamo_err)?;
        Ok(out.shard_iterator().map(str::to_string))
    }

    /// The next page of records at `iterator` (GetRecords).
    pub async fn stream_page(&self, iterator: &str) -> Result<Page> {
        let out = match self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let se = e.into_service_error();
                if se.is_expired_iterator_exception() {
                    return Ok(Page::Expired);
                }
                if se.is_trimmed_data_access_exception() {
                    return Ok(Page::Trimmed);
                }
                return Err(dynamo_err(se));
            }
        };
        let mut records = Vec::new();
        for r in out.records() {
            let Some(d) = r.dynamodb() else { continue };
            let keys = d.keys();
            let mut strings = HashMap::new();
            for (k, v) in d.new_image().into_iter().flatten() {
                if let AttributeValue::S(s) = v {
                    strings.insert(k.clone(), s.clone());
                }
            }
            records.push(Record {
                pk: string(keys.and_then(|k| k.get(PK))),
                sk: string(keys.and_then(|k| k.get(SK))),
                seq: d.sequence_number().unwrap_or_default().to_string(),
                strings,
            });
        }
        Ok(Page::Records(
            records,
            out.next_shard_iterator().map(str::to_string),
        ))
    }
}

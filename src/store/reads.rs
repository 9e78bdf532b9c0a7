//! Reads, each complete: an item by key, any number of keys of one partition (BatchGetItem in
//! chunks of 100, unprocessed keys retried), a partition or a key prefix Queried page to the
//! end (or in pages sized to the matches a reader still wants), a key range page by page in
//! either order, counts by `Select: COUNT`, and the keys of a partition or of the whole table
//! (`Scan`, for the tool and Parse's test clean-up).

use super::*;

impl Store {
    /// The item at a key; a chunked object's whole (`chunks`).
    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        match self.get_head(pk, sk).await? {
            Some(item) => Ok(self.complete(vec![item]).await?.pop()),
            None => Ok(None),
        }
    }

    /// The item at a key as stored: of a chunked object, its head alone (its revision and write
    /// tokens, not its fields).
    pub async fn get_head(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        if !key_fits(pk, sk) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(self.strong)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("GetItem", out.consumed_capacity());
        self.received("GetItem", usize::from(out.item.is_some()));
        Ok(out.item)
    }

    /// Reads any number of keys of one partition (chunks of 100, unprocessed keys retried); each
    /// key once (DynamoDB refuses a BatchGetItem that names a key twice) and only keys that can
    /// exist.
    pub async fn batch_get(&self, pk: &str, sks: &[String]) -> Result<Vec<Item>> {
        let keys = sks.iter().map(|s| (pk.to_string(), s.clone())).collect();
        let found = self.batch_get_keys(keys).await?;
        self.complete(found).await
    }

    /// Reads any number of keys, of any partitions, as `batch_get` does (items as stored).
    pub(super) async fn batch_get_keys(&self, mut all: Vec<(String, String)>) -> Result<Vec<Item>> {
        all.retain(|(p, s)| key_fits(p, s));
        all.sort();
        all.dedup();
        let mut found = Vec::with_capacity(all.len());
        for chunk in all.chunks(100) {
            let mut keys: Vec<HashMap<String, AttributeValue>> =
                chunk.iter().map(|(p, s)| Self::key(p, s)).collect();
            let mut attempt = 0;
            while !keys.is_empty() {
                let ka = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(self.strong)
                    .build()
                    .map_err(build_err)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, ka)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(dynamo_err)?;
                self.record("BatchGetItem", out.consumed_capacity());
                super::usage::within_budget()?;
                if let Some(mut r) = out.responses {
                    let items = r.remove(&self.table).unwrap_or_default();
                    self.received("BatchGetItem", items.len());
                    found.extend(items);
                }
                keys = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    backoff(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }

    /// Queries a whole partition page by page; `each` returns false to stop early. Answers the
    /// read units it consumed (billed on what DynamoDB read, before the filter).
    pub async fn query(
        &self,
        pk: &str,
        filter: Option<&Filter>,
        each: impl FnMut(Item) -> Result<bool>,
    ) -> Result<f64> {
        self.query_prefix(pk, None, filter, each).await
    }

    /// Queries a partition, or only its sort keys that start with `prefix`, page by page;
    /// answers the read units it consumed.
    pub async fn query_prefix(
        &self,
        pk: &str,
        prefix: Option<&str>,
        filter: Option<&Filter>,
        each: impl FnMut(Item) -> Result<bool>,
    ) -> Result<f64> {
        Ok(self.query_scanned(pk, prefix, filter, each).await?.0)
    }

    /// `query_prefix`, also answering how many items DynamoDB read (before its filter): of a
    /// read to the end, how many the partition (or prefix) holds.
    pub async fn query_scanned(
        &self,
        pk: &str,
        prefix: Option<&str>,
        filter: Option<&Filter>,
        each: impl FnMut(Item) -> Result<bool>,
    ) -> Result<(f64, u64)> {
        self.query_items(pk, prefix, filter, true, each).await
    }

    /// `query_scanned`, chunked objects whole (`whole`) or as their heads alone.
    async fn query_items(
        &self,
        pk: &str,
        prefix: Option<&str>,
        filter: Option<&Filter>,
        whole: bool,
        mut each: impl FnMut(Item) -> Result<bool>,
    ) -> Result<(f64, u64)> {
        if prefix.is_some_and(|p| p.len() > MAX_SORT_KEY) {
            // No sort key is that long, so none starts with it.
            return Ok((0.0, 0));
        }
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        let mut units = 0.0;
        let mut scanned = 0u64;
        let filter = filter.map(chunks::widen);
        loop {
            let mut req = self
                .partition_query(pk)
                .set_exclusive_start_key(start.take());
            req = match prefix.filter(|p| !p.is_empty()) {
                // An empty prefix is the whole partition (DynamoDB refuses an empty key value).
                Some(p) => req
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":prefix", AttributeValue::S(p.into())),
                None => req,
            };
            if let Some(f) = &filter {
                req = with_filter(req, f);
            }
            // Under a read budget, pages it can stop between (not DynamoDB's 1 MB).
            req = req.set_limit(super::usage::page_cap());
            let out = req.send().await.map_err(dynamo_err)?;
            super::usage::items_read(out.scanned_count.max(0) as usize);
            scanned += out.scanned_count.max(0) as u64;
            units += self.record("Query", out.consumed_capacity());
            super::usage::within_budget()?;
            let items = out.items.unwrap_or_default();
            self.received("Query", items.len());
            // Large objects whole, a few megabytes at a time (`chunks::groups`).
            for mut group in chunks::groups(items) {
                if whole {
                    group = self.complete(group).await?;
                }
                for item in group {
                    if !each(item)? {
                        return Ok((units, scanned));
                    }
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((units, scanned)),
            }
        }
    }

    /// `query` of a reader that wants `wanted` matches, in pages sized to them rather than
    /// DynamoDB's 1 MB (which it bills whole): the first page reads `wanted` items, each next
    /// one what the matches still missing need at the rate seen so far (a quarter more). `each`
    /// answers how many matches are still missing after an item, or None to stop.
    pub async fn query_sized(
        &self,
        pk: &str,
        filter: Option<&Filter>,
        wanted: usize,
        mut each: impl FnMut(Item) -> Result<Option<usize>>,
    ) -> Result<f64> {
        let (mut start, mut units, mut read, mut missing) = (None, 0.0, 0usize, wanted.max(1));
        let filter = filter.map(chunks::widen);
        loop {
            let matched = wanted.max(1) - missing;
            let limit = match (read, matched) {
                (0, _) => missing,
                (_, 0) => read.saturating_mul(2),
                _ => missing.saturating_mul(read).saturating_mul(5) / (matched * 4) + 1,
            };
            let mut req = self
                .partition_query(pk)
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000));
            if let Some(f) = &filter {
                req = with_filter(req, f);
            }
            let out = req.send().await.map_err(dynamo_err)?;
            units += self.record("Query", out.consumed_capacity());
            super::usage::within_budget()?;
            read += out.scanned_count.max(0) as usize;
            let items = out.items.unwrap_or_default();
            self.received("Query", items.len());
            for group in chunks::groups(items) {
                for item in self.complete(group).await? {
                    match each(item)? {
                        Some(m) => missing = m.max(1),
                        None => return Ok(units),
                    }
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(units),
            }
        }
    }

    /// One page of a partition's items whose sort keys are in `from..=to`, in key order
    /// (`forward`) or reversed, at most `limit` of them; answers the items and where the next
    /// page starts (None: this was the last).
    pub async fn query_page(
        &self,
        pk: &str,
        (from, to): (&str, &str),
        forward: bool,
        limit: i32,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<(Vec<Item>, Option<HashMap<String, AttributeValue>>)> {
        if from > to || to.is_empty() {
            // An empty range (DynamoDB refuses a BETWEEN whose bounds are reversed).
            return Ok((Vec::new(), None));
        }
        let req = self
            .partition_query(pk)
            .expression_attribute_names("#sk", SK);
        // No key value may be empty, in a key condition too: a range from the very start is
        // `<= to` (`from` empty is below every sort key, which is at least one byte).
        let req = if from.is_empty() {
            req.key_condition_expression("#pk = :pk AND #sk <= :to")
        } else {
            req.key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", AttributeValue::S(from.into()))
        };
        let out = req
            .expression_attribute_values(":to", AttributeValue::S(to.into()))
            .scan_index_forward(forward)
            .limit(limit.max(1))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("Query", out.consumed_capacity());
        super::usage::within_budget()?;
        let items = out.items.unwrap_or_default();
        self.received("Query", items.len());
        let mut next = out.last_evaluated_key.filter(|k| !k.is_empty());
        // Of large objects, the first few megabytes (`chunks::groups`); the next page starts
        // after the last of them.
        let mut groups = chunks::groups(items).into_iter();
        let first = groups.next().unwrap_or_default();
        if groups.next().is_some() {
            next = first
                .last()
                .map(|i| Self::key(&text_of(i, PK), &text_of(i, SK)));
        }
        Ok((self.complete(first).await?, next))
    }

    /// A Query of partition `pk` (consistent as the store reads) that reports its consumed
    /// capacity.
    fn partition_query(
        &self,
        pk: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .consistent_read(self.strong)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// How many items a partition holds (Query with Select COUNT, page by page).
    pub async fn count(&self, pk: &str) -> Result<u64> {
        Ok(self.count_where(pk, None).await?.0)
    }

    /// How many items of a partition pass `filter` (all without one), counted by DynamoDB
    /// (of what passes, only the pointers of chunked objects are sent: an empty item for
    /// others), the read units it billed (all the partition's), and the keys of the chunked
    /// objects whose chunks hold a field the filter names (`chunks::moves_any`): only they are
    /// not counted, for the caller to judge whole.
    pub async fn count_where(
        &self,
        pk: &str,
        filter: Option<&Filter>,
    ) -> Result<(u64, f64, Vec<String>)> {
        let mut n = 0u64;
        let mut units = 0.0;
        let mut start = None;
        let mut unsure = Vec::new();
        let widened = filter.map(chunks::widened);
        loop {
            let mut req = self.partition_query(pk).set_exclusive_start_key(start);
            req = match &widened {
                // What passes: its key and pointer only (the heads of chunked objects tell
                // apart those whose moved fields the filter names).
                Some((f, _)) => with_filter(req, f)
                    .select(aws_sdk_dynamodb::types::Select::SpecificAttributes)
                    .projection_expression("#chp"),
                None => req.select(aws_sdk_dynamodb::types::Select::Count),
            };
            let out = req.send().await.map_err(dynamo_err)?;
            units += self.record("Query", out.consumed_capacity());
            super::usage::within_budget()?;
            match (filter.zip(widened.as_ref()), out.items) {
                (Some((f, (_, all))), Some(items)) => {
                    for item in items {
                        match chunks::owner_key(&item) {
                            Some(key) if *all || chunks::moves_any(&item, &f.names) => {
                                unsure.push(key)
                            }
                            _ => n += 1,
                        }
                    }
                }
                _ => n += out.count.max(0) as u64,
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((n, units, unsure)),
            }
        }
    }

    /// Whether a partition holds any item (one Query with Limit 1).
    pub async fn any(&self, pk: &str) -> Result<bool> {
        let out = self
            .partition_query(pk)
            .limit(1)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("Query", out.consumed_capacity());
        Ok(out.count > 0)
    }

    /// Every key in the table (for deleting everything, in tests).
    pub async fn scan_keys(&self) -> Result<Vec<(String, String)>> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.scan_keys_page(start).await?;
            keys.extend(page);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(keys),
            }
        }
    }

    /// One page of the table's keys (a Scan page, up to 1 MB read), and where the next starts.
    #[allow(clippy::type_complexity)]
    pub async fn scan_keys_page(
        &self,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<(
        Vec<(String, String)>,
        Option<HashMap<String, AttributeValue>>,
    )> {
        let mut keys = Vec::new();
        {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(dynamo_err)?;
            self.record("Scan", out.consumed_capacity());
            for it in out.items.unwrap_or_default() {
                if let (Some(AttributeValue::S(p)), Some(AttributeValue::S(s))) =
                    (it.get(PK), it.get(SK))
                {
                    keys.push((p.clone(), s.clone()));
                }
            }
            Ok((keys, out.last_evaluated_key.filter(|k| !k.is_empty())))
        }
    }

    /// The keys of every item of partition `pk` and of the chunks its items name (to delete
    /// them).
    pub async fn partition_keys(&self, pk: &str) -> Result<Vec<(String, String)>> {
        let mut keys = Vec::new();
        self.query_items(pk, None, None, false, |item| {
            if let Some(AttributeValue::S(sk)) = item.get(SK) {
                keys.push((pk.to_string(), sk.clone()));
            }
            if let Some(r) = crate::codec::item_chunks(&item) {
                keys.extend(chunks::chunk_keys(&r));
            }
            Ok(true)
        })
        .await?;
        Ok(keys)
    }
}

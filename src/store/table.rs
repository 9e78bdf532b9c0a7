//! The table itself: checked and created on demand (on-demand billing, or provisioned units
//! for the command-line tool), waited for until ACTIVE, its TTL turned on, described (sizes
//! and counts for the tool) and deleted.

use super::*;

impl Store {
    /// Checks the table exists (creating it if allowed) and waits until it is ACTIVE.
    pub async fn ensure_table(&self, create: bool) -> Result<()> {
        let mut created = false;
        for _ in 0..600 {
            match self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
            {
                Ok(out) => {
                    let status = out.table().and_then(|t| t.table_status().cloned());
                    if matches!(status, Some(TableStatus::Active) | None) {
                        if created {
                            // Best effort: without the permission (`dynamodb:UpdateTimeToLive`)
                            // expired request claims stay (they count as absent; docs/aws.md).
                            let _ = self.enable_ttl(TTL_ATTRIBUTE).await;
                        }
                        return Ok(());
                    }
                }
                Err(e) => {
                    let se = e.into_service_error();
                    if !se.is_resource_not_found_exception() {
                        return Err(dynamo_err(se));
                    }
                    if !create {
                        return Err(Error::Internal(format!(
                            "DynamoDB table {} does not exist (and createTable is false)",
                            self.table
                        )));
                    }
                    if !created {
                        self.create_table(None).await?;
                        created = true;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::Internal(format!(
            "table {} did not become ACTIVE",
            self.table
        )))
    }

    /// Turns on DynamoDB's TTL for the table on attribute `attribute` (the expiry of request
    /// claims, see `idempotency`); a table that has it on already is left as it is.
    pub async fn enable_ttl(&self, attribute: &str) -> Result<()> {
        let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(build_err)?;
        match self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let se = e.into_service_error();
                match se.meta().message() {
                    Some(m) if m.contains("already enabled") => Ok(()),
                    _ => Err(dynamo_err(se)),
                }
            }
        }
    }

    /// Creates the table: on-demand, or with `(read, write)` provisioned capacity units, and
    /// turns on its TTL (`TTL_ATTRIBUTE`) once it is active.
    pub async fn create_table(&self, provisioned: Option<(i64, i64)>) -> Result<()> {
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_err)
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(build_err)
        };
        let res = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?);
        let res = match provisioned {
            Some((r, w)) => res
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(
                    aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                        .read_capacity_units(r)
                        .write_capacity_units(w)
                        .build()
                        .map_err(build_err)?,
                ),
            None => res.billing_mode(BillingMode::PayPerRequest),
        }
        .send()
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => {
                let se = e.into_service_error();
                // Another process created it first.
                if se.is_resource_in_use_exception() {
                    Ok(())
                } else {
                    Err(dynamo_err(se))
                }
            }
        }
    }

    /// The table's description: status, key schema, billing, item count and size (DynamoDB
    /// updates the last two about every six hours).
    pub async fn describe(&self) -> Result<serde_json::Value> {
        let t = self.table_description().await?;
        let t = t.as_ref();
        let keys: Vec<serde_json::Value> = t
            .map(|t| t.key_schema())
            .unwrap_or_default()
            .iter()
            .map(|k| serde_json::json!({"name": k.attribute_name(), "type": k.key_type().as_str()}))
            .collect();
        let billing = t
            .and_then(|t| t.billing_mode_summary())
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str().to_string())
            .unwrap_or_else(|| "PROVISIONED".into());
        let throughput = t.and_then(|t| t.provisioned_throughput());
        Ok(serde_json::json!({
            "table": self.table,
            "status": t.and_then(|t| t.table_status()).map(|s| s.as_str()),
            "keySchema": keys,
            "billingMode": billing,
            "readCapacityUnits": throughput.and_then(|p| p.read_capacity_units()),
            "writeCapacityUnits": throughput.and_then(|p| p.write_capacity_units()),
            "itemCount": t.and_then(|t| t.item_count()),
            "sizeBytes": t.and_then(|t| t.table_size_bytes()),
        }))
    }

    pub async fn delete_table(&self) -> Result<()> {
        self.client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| dynamo_err(e.into_service_error()))?;
        Ok(())
    }

    /// What DescribeTable answers of the table.
    pub(crate) async fn table_description(
        &self,
    ) -> Result<Option<aws_sdk_dynamodb::types::TableDescription>> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| dynamo_err(e.into_service_error()))?;
        Ok(out.table)
    }
}

//! Class, field and index calls: whether a class exists, its schema and all schemas, creating
//! and deleting classes and fields, field options, class-level permissions, the schema's
//! indexes, and the indexes Parse (and Mongo-style `createIndexes`/`dropIndex`) ask for —
//! unique, case-insensitive, auth data. `call` answers `Ok(None)` for a name it does not own.

use super::{arg, schema_arg, str_arg};
use crate::adapter::Adapter;
use crate::error::Result;
use crate::layout::index::{self, Kind};
use serde_json::{json, Value};

/// Answers `method` if it is a class, field or index call; `Ok(None)` if it is not one.
pub(super) async fn call(a: &Adapter, method: &str, args: &[Value]) -> Result<Option<Value>> {
    Ok(Some(match method {
        "classExists" => json!(a.class_exists(&str_arg(args, 0, "className")?).await?),
        "getClass" => a
            .get_class(&str_arg(args, 0, "className")?)
            .await?
            .unwrap_or(Value::Null),
        "getAllClasses" => Value::Array(a.get_all_classes().await?),
        "createClass" => {
            a.create_class(&str_arg(args, 0, "className")?, schema_arg(args, 1))
                .await?
        }
        "addFieldIfNotExists" => {
            a.add_field(
                &str_arg(args, 0, "className")?,
                &str_arg(args, 1, "fieldName")?,
                arg(args, 2),
            )
            .await?;
            Value::Null
        }
        "updateFieldOptions" => {
            a.update_field_options(
                &str_arg(args, 0, "className")?,
                &str_arg(args, 1, "fieldName")?,
                arg(args, 2),
            )
            .await?;
            Value::Null
        }
        "setClassLevelPermissions" => {
            a.set_clps(&str_arg(args, 0, "className")?, arg(args, 1))
                .await?;
            Value::Null
        }
        "setIndexesWithSchemaFormat" => {
            a.set_indexes(
                &str_arg(args, 0, "className")?,
                arg(args, 1),
                arg(args, 2),
                arg(args, 3),
            )
            .await?;
            Value::Null
        }
        "updateSchemaWithIndexes" => {
            a.update_schema_with_indexes().await?;
            Value::Null
        }
        "getIndexes" => Value::Array(a.get_indexes(&str_arg(args, 0, "className")?).await?),
        "deleteClass" => json!(a.delete_class(&str_arg(args, 0, "className")?).await?),
        "deleteAllClasses" => {
            a.delete_all_classes(arg(args, 0).as_bool().unwrap_or(false))
                .await?;
            Value::Null
        }
        "deleteFields" => delete_fields(a, args).await?,
        "ensureUniqueness" => ensure_uniqueness(a, args).await?,
        "ensureIndex" => ensure_index(a, args).await?,
        "ensureAuthDataUniqueness" => {
            let provider = str_arg(args, 0, "provider")?;
            a.ensure_unique("_User", &format!("authData.{provider}.id"))
                .await?;
            Value::Null
        }
        "dropIndex" => drop_index(a, args).await?,
        "createIndexes" => create_indexes(a, args).await?,
        _ => return Ok(None),
    }))
}

/// `deleteFields(className, schema, fieldNames)`.
async fn delete_fields(a: &Adapter, args: &[Value]) -> Result<Value> {
    let names: Vec<String> = arg(args, 2)
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    a.delete_fields(&str_arg(args, 0, "className")?, &names)
        .await?;
    Ok(Value::Null)
}

/// `ensureUniqueness(className, schema, fieldNames)`: each field made unique in turn.
async fn ensure_uniqueness(a: &Adapter, args: &[Value]) -> Result<Value> {
    let class = str_arg(args, 0, "className")?;
    for f in arg(args, 2).as_array().into_iter().flatten() {
        if let Some(f) = f.as_str() {
            a.ensure_unique(&class, f).await?;
        }
    }
    Ok(Value::Null)
}

/// `ensureIndex(className, schema, fieldNames, indexName, caseInsensitive)`.
async fn ensure_index(a: &Adapter, args: &[Value]) -> Result<Value> {
    let class = str_arg(args, 0, "className")?;
    let ci = arg(args, 4).as_bool().unwrap_or(false);
    for f in arg(args, 2).as_array().into_iter().flatten() {
        if let Some(f) = f.as_str() {
            a.ensure_index(&class, f, ci).await?;
        }
    }
    Ok(Value::Null)
}

/// `dropIndex(className, fieldName, caseInsensitive)`: whether an index was there to drop.
async fn drop_index(a: &Adapter, args: &[Value]) -> Result<Value> {
    let class = str_arg(args, 0, "className")?;
    let field = str_arg(args, 1, "fieldName")?;
    let kinds: &[Kind] = if arg(args, 2).as_bool().unwrap_or(false) {
        &[Kind::CaseInsensitive]
    } else {
        &[Kind::Ordered, Kind::Lookup]
    };
    let mut dropped = false;
    for k in kinds {
        dropped |= a.drop_index(&class, &index::spec(&field, *k)).await?;
    }
    Ok(json!(dropped))
}

/// Mongo-style `createIndexes(className, [{key: {field: 1}, name}])`: kept as a schema index
/// with those keys is.
async fn create_indexes(a: &Adapter, args: &[Value]) -> Result<Value> {
    let class = str_arg(args, 0, "className")?;
    for ix in arg(args, 1).as_array().into_iter().flatten() {
        a.ensure_schema_index(&class, ix.get("key").unwrap_or(ix))
            .await?;
    }
    Ok(Value::Null)
}

//! Bulk import against dynoxide: objects written as BatchWriteItem puts with their unique-value
//! sentinels, index entries and relation mirrors answer as created ones do (a login-style
//! username lookup, an indexed query, a relation query), an object DynamoDB cannot store is
//! skipped and named with nothing of it written, the count comes from a recount, a second run
//! of the same page changes nothing, and the consistency check finds nothing wrong.

mod common;

use common::must;
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["objectId"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_objects_answer_as_created_ones() {
    let a = common::adapter().await;
    let users = json!({"fields": {"username": {"type": "String"}, "score": {"type": "Number"}}});
    must(&a, "createClass", json!(["_User", users])).await;
    must(
        &a,
        "ensureUniqueness",
        json!(["_User", users, ["username"]]),
    )
    .await;
    a.ensure_index("_User", "score", false).await.unwrap();
    let page = json!([
        {"objectId": "u1", "username": "ann", "_hashed_password": "$2b$10$x", "score": 3,
         "authData": {"anonymous": {"id": "a1"}}, "_rperm": ["*", "u1"], "_wperm": ["u1"],
         "createdAt": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"},
         "updatedAt": {"__type": "Date", "iso": "2020-01-02T00:00:00.000Z"}},
        {"objectId": "u2", "username": "bob", "score": 5},
        {"objectId": "u3", "username": "cy", "bio": "x".repeat(16 * 1024 * 1024)},
        {"objectId": "u4", "username": "di", "bio": "y".repeat(500_000)},
    ]);
    let done = a.import_objects("_User", &page).await.unwrap();
    assert_eq!(done["objects"], 3, "{done}");
    // u1: object, username sentinel, the score index's entries; u2 the same.
    assert!(done["items"].as_u64().unwrap() >= 6, "{done}");
    let skipped = done["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["objectId"], "u3");
    assert!(
        skipped[0]["error"]
            .as_str()
            .unwrap()
            .contains("at most 16777216 bytes"),
        "{done}"
    );
    assert_eq!(a.recount("_User").await.unwrap(), 3);
    // Over DynamoDB's 400 KB item: imported with its chunks, read whole.
    let large = must(&a, "find", json!(["_User", users, {"username": "di"}, {}])).await;
    assert_eq!(large[0]["bio"], "y".repeat(500_000));

    let by_name = must(&a, "find", json!(["_User", users, {"username": "ann"}, {}])).await;
    assert_eq!(ids(&by_name), ["u1"]);
    assert_eq!(by_name[0]["_hashed_password"], "$2b$10$x");
    assert_eq!(by_name[0]["authData"]["anonymous"]["id"], "a1");
    let by_score = must(
        &a,
        "find",
        json!(["_User", users, {"score": {"$gte": 4}}, {}]),
    )
    .await;
    assert_eq!(ids(&by_score), ["u2"]);
    let none = must(&a, "find", json!(["_User", users, {"username": "cy"}, {}])).await;
    assert_eq!(none, json!([]), "nothing of the skipped object was written");
    // The username is taken as if created: a new user with it is refused.
    let dup = a
        .create_object("_User", &json!({"objectId": "u9", "username": "ann"}), None)
        .await;
    assert!(dup.is_err(), "the imported username is unique");

    // Relations: rows and their mirrors.
    let rows = json!([
        {"owningId": "r1", "relatedId": "u1"},
        {"owningId": "r1", "relatedId": "u2"},
    ]);
    let done = a.import_objects("_Join:users:_Role", &rows).await.unwrap();
    assert_eq!(done["objects"], 2);
    let join = json!({"fields": {"owningId": {"type": "String"}, "relatedId": {"type": "String"}}});
    let of_u2 = must(
        &a,
        "find",
        json!(["_Join:users:_Role", join, {"relatedId": "u2"}, {}]),
    )
    .await;
    assert_eq!(of_u2.as_array().unwrap().len(), 1);

    // The same page again (an interrupted run continued): nothing changes.
    a.import_objects("_User", &page).await.unwrap();
    assert_eq!(a.recount("_User").await.unwrap(), 3);
    let count = must(&a, "count", json!(["_User", users, {}])).await;
    assert_eq!(count, 3);
    let report = a.check(false).await.unwrap().to_json();
    assert_eq!(report["problems"], json!([]), "{report}");
}

//! Unique values claimed outside the object's write (issue 33), against dynoxide: what a write
//! with a unique value bills (one unit per item it changes), a claim left by a write that never
//! landed (standing while it may be a write under way, then taken over), a write stalled past
//! the grace whose claim was taken over meanwhile (it undoes itself: never two holders), and a
//! slow release that never frees a value its object claimed again. The grace is short here
//! (`PSD_CLAIM_GRACE_MS`, the same for every test of this file).

mod common;

use common::{c, must};
use parse_server_dynamodb::adapter::Adapter;
use parse_server_dynamodb::codec::{item_to_stored, Item};
use parse_server_dynamodb::error::code;
use parse_server_dynamodb::layout::{claim_sentinel, sentinel_owner, unique_pk};
use parse_server_dynamodb::store::{Condition, Written};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GRACE_MS: u64 = 1500;

fn grace() {
    std::env::set_var("PSD_CLAIM_GRACE_MS", GRACE_MS.to_string());
}

fn schema() -> Value {
    json!({"fields": {"email": {"type": "String"}, "note": {"type": "String"}}})
}

/// An adapter on a fresh table, with class `U` whose `email` is unique.
async fn unique_class() -> Adapter {
    grace();
    let a = common::adapter().await;
    must(&a, "createClass", json!(["U", schema()])).await;
    must(&a, "ensureUniqueness", json!(["U", schema(), ["email"]])).await;
    a
}

/// Who holds the claim on email `v` (None: nobody).
async fn claim_owner(a: &Adapter, v: &str) -> Option<String> {
    let item = a
        .store()
        .get(&unique_pk("U", "email"), &format!("={v}"))
        .await
        .unwrap();
    item.as_ref().and_then(sentinel_owner).cloned()
}

async fn write_units(a: &Adapter) -> f64 {
    // A count waits for the counters in flight, so each measure holds its write's counter.
    must(a, "count", json!(["U", {}, {}])).await;
    must(a, "consumedCapacity", json!([])).await["writeUnits"]
        .as_f64()
        .unwrap()
}

/// The write units `method` with `args` bills (its count's shard included).
async fn units_of(a: &Adapter, method: &str, args: Value) -> f64 {
    let before = write_units(a).await;
    must(a, method, args).await;
    write_units(a).await - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_value_bills_one_unit_per_item_a_write_changes() {
    let a = unique_class().await;
    let x = json!({"objectId": "x"});
    let create = json!(["U", schema(), {"objectId": "x", "email": "a@x"}]);
    let moved = json!(["U", schema(), x, {"email": "b@x"}]);
    let other = json!(["U", schema(), x, {"note": "n"}]);
    let delete = json!(["U", schema(), x]);
    let units = [
        units_of(&a, "createObject", create).await,
        units_of(&a, "updateObjectsByQuery", moved).await,
        units_of(&a, "updateObjectsByQuery", other).await,
        units_of(&a, "deleteObjectsByQuery", delete).await,
    ];
    // A create: the object, its claim, its count's shard; a new value: the object, the new
    // claim, the old one released; another field: the object alone; a delete: the object, its
    // claim released, its count's shard.
    assert_eq!(units, [3.0, 3.0, 1.0, 3.0]);
    assert_eq!(claim_owner(&a, "a@x").await, None);
    assert_eq!(claim_owner(&a, "b@x").await, None);
    let usage = must(&a, "consumedCapacity", json!([])).await;
    assert_eq!(
        usage["operations"]["TransactWriteItems"]["requests"]
            .as_u64()
            .unwrap_or(0),
        0,
        "{usage}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_left_by_a_write_that_never_landed_stands_for_the_grace_then_is_taken_over() {
    let a = unique_class().await;
    // What a create killed after its claim leaves: a claim for an object that never came.
    let empty = Item::new();
    let left = claim_sentinel("U", "email", "=v@x", "ghost", &empty, "t0", 1);
    a.store().put(left, None).await.unwrap();
    let e = c(
        &a,
        "createObject",
        json!(["U", schema(), {"objectId": "y", "email": "v@x"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.code(),
        code::DUPLICATE_VALUE,
        "young: it may be a write under way"
    );
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(report["leftovers"][0]["kind"], "claim-underway", "{report}");
    tokio::time::sleep(Duration::from_millis(GRACE_MS + 100)).await;
    must(
        &a,
        "createObject",
        json!(["U", schema(), {"objectId": "y", "email": "v@x"}]),
    )
    .await;
    assert_eq!(claim_owner(&a, "v@x").await.as_deref(), Some("y"));
    let found = must(&a, "find", json!(["U", {}, {"email": "v@x"}, {}])).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(report["leftovers"], json!([]), "{report}");
}

/// A proxy to `upstream` that holds each request whose bytes contain `marker` for `delay`
/// before passing it on (a write stalled on its way to DynamoDB).
async fn stalling_proxy(upstream: &str, marker: &'static [u8], delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let up = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let up = up.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&up).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let to_server = async move {
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if buf[..n].windows(marker.len()).any(|w| w == marker) {
                            tokio::time::sleep(delay).await;
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                };
                let to_client = async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::join!(to_server, to_client);
            });
        }
    });
    format!("http://{addr}")
}

/// A second adapter on `a`'s table whose requests holding `marker` reach DynamoDB `delay` late.
async fn twin(a: &Adapter, marker: &'static [u8], delay: Duration) -> Adapter {
    let mut cfg = common::config(a.store().table());
    cfg.endpoint = Some(stalling_proxy(&common::endpoint(), marker, delay).await);
    Adapter::connect(cfg).await.expect("connect")
}

type Answer = Result<Value, parse_server_dynamodb::error::Error>;

/// Calls `method` on `slow` in the background; answers its answer, and the adapter.
fn in_background(
    slow: Adapter,
    method: &'static str,
    args: Value,
) -> tokio::task::JoinHandle<(Answer, Adapter)> {
    tokio::spawn(async move { (c(&slow, method, args).await, slow) })
}

/// Creates object `id` of `U` with `email`.
async fn create(a: &Adapter, id: &str, email: &str) {
    let obj = json!({"objectId": id, "email": email});
    must(a, "createObject", json!(["U", schema(), obj])).await;
}

/// After a write of x stalled past the grace lost its claim on v@x to y: y alone holds it, and
/// the table is clean.
async fn y_alone_holds_v(a: &Adapter) {
    assert_eq!(claim_owner(a, "v@x").await.as_deref(), Some("y"));
    let found = must(a, "find", json!(["U", {}, {"email": "v@x"}, {}])).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["objectId"], "y");
    let report = must(a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
}

fn stored_email(item: Option<Item>) -> Value {
    item_to_stored(&item.expect("stored")).unwrap().obj["email"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_stalled_past_the_grace_whose_claim_was_taken_over_undoes_itself() {
    let a = unique_class().await;
    let slow = twin(&a, b"STALL", Duration::from_millis(GRACE_MS * 2)).await;
    let x = json!({"objectId": "x", "email": "v@x", "note": "STALL"});
    let stalled = in_background(slow, "createObject", json!(["U", schema(), x]));
    // Past the grace, x's claim is taken over: x does not hold the value (its object has not
    // landed).
    tokio::time::sleep(Duration::from_millis(GRACE_MS + 300)).await;
    assert_eq!(claim_owner(&a, "v@x").await.as_deref(), Some("x"));
    create(&a, "y", "v@x").await;
    // Then x's object lands: its write sees the claim lost and takes the object back.
    let (r, _slow) = stalled.await.unwrap();
    assert_eq!(r.unwrap_err().code(), code::DUPLICATE_VALUE);
    assert!(a.store().get("U", "x").await.unwrap().is_none(), "x undone");
    y_alone_holds_v(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_stalled_past_the_grace_whose_claim_was_taken_over_undoes_itself() {
    let a = unique_class().await;
    create(&a, "x", "a@x").await;
    let slow = twin(&a, b"STALL", Duration::from_millis(GRACE_MS * 2)).await;
    let upd = json!({"email": "v@x", "note": "STALL"});
    let stalled = in_background(
        slow,
        "updateObjectsByQuery",
        json!(["U", schema(), {"objectId": "x"}, upd]),
    );
    tokio::time::sleep(Duration::from_millis(GRACE_MS + 300)).await;
    create(&a, "y", "v@x").await;
    let (r, _slow) = stalled.await.unwrap();
    assert_eq!(r.unwrap_err().code(), code::DUPLICATE_VALUE);
    assert_eq!(
        stored_email(a.store().get("U", "x").await.unwrap()),
        "a@x",
        "x back as it was"
    );
    assert_eq!(
        claim_owner(&a, "a@x").await.as_deref(),
        Some("x"),
        "and still holds its value"
    );
    y_alone_holds_v(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_release_never_frees_a_value_its_object_claimed_again() {
    let a = unique_class().await;
    create(&a, "x", "v@x").await;
    // x moves from v to w through a server whose deletes (the release of v) arrive late...
    let slow = twin(&a, b"DeleteItem", Duration::from_millis(1200)).await;
    let to_w = json!(["U", schema(), {"objectId": "x"}, {"email": "w@x"}]);
    let moving = in_background(slow, "updateObjectsByQuery", to_w);
    // ...and back to v meanwhile, through another.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let moved = a.store().get("U", "x").await.unwrap();
    let rev = item_to_stored(moved.as_ref().expect("x")).unwrap().rev;
    assert_eq!(
        stored_email(moved),
        "w@x",
        "the move landed; its release is on its way"
    );
    let to_v = json!(["U", schema(), {"objectId": "x"}, {"email": "v@x"}]);
    must(&a, "updateObjectsByQuery", to_v).await;
    let (r, _slow) = moving.await.unwrap();
    r.unwrap();
    assert_eq!(
        claim_owner(&a, "v@x").await.as_deref(),
        Some("x"),
        "the late release was refused"
    );
    let y = json!({"objectId": "y", "email": "v@x"});
    let e = c(&a, "createObject", json!(["U", schema(), y]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code::DUPLICATE_VALUE);
    // The condition itself: owned by x, claimed at the move's revision or before.
    let sentinels = unique_pk("U", "email");
    let late = a
        .store()
        .delete(&sentinels, "=v@x", Some(Condition::owned_upto("x", rev)));
    assert_eq!(late.await.unwrap(), Written::ConditionFailed(0));
    let report = must(&a, "check", json!([false])).await;
    assert_eq!(report["problems"], json!([]), "{report}");
}

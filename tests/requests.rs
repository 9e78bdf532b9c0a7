//! Request claims (`idempotency`) against dynoxide: a request id is new once, a duplicate while
//! its claim lasts, new again once the claim has expired (before DynamoDB's TTL deletes it), and
//! an id DynamoDB could not key is refused with a clear error.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_is_claimed_once_until_its_claim_expires() {
    let a = common::adapter().await;
    assert!(a.claim_request("r-1", 1).await.unwrap());
    assert!(!a.claim_request("r-1", 1).await.unwrap(), "a duplicate");
    assert!(a.claim_request("r-2", 60).await.unwrap(), "another id");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(
        a.claim_request("r-1", 60).await.unwrap(),
        "expired: new again"
    );
    assert!(!a.claim_request("r-2", 60).await.unwrap(), "still held");
    let long = "x".repeat(600);
    let e = a.claim_request(&long, 60).await.unwrap_err();
    assert!(e.to_string().contains("600 bytes"), "{e}");
}

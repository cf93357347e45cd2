//! Key lineage and the investigation model on a hand-built archive whose answers are known:
//! several generations (session token, role chaining, cross-account copy, federation,
//! CreateAccessKey for the key's own new user and by someone else), a failed mint, a key that
//! comes back as its own grandchild, and an unrelated chain that must stay out.

use std::path::Path;

use serde_json::{Value, json};
use trailsift_detect::investigate::{InvestigateOptions, investigate};
use trailsift_detect::lineage::derive;
use trailsift_query::{Engine, EngineOptions};

const A: &str = "111122223333";
const B: &str = "444455556666";
const K0: &str = "AKIAAAAAAAAAAAAAAAA0";
const K1: &str = "ASIAAAAAAAAAAAAAAAA1";
const K2: &str = "ASIAAAAAAAAAAAAAAAA2";
const K3: &str = "ASIAAAAAAAAAAAAAAAA3";
const K4: &str = "ASIAAAAAAAAAAAAAAAA4";
const K5: &str = "ASIAAAAAAAAAAAAAAAA5";
const K6: &str = "AKIAAAAAAAAAAAAAAAA6";
const K7: &str = "AKIAAAAAAAAAAAAAAAA7";
const KX: &str = "AKIAXXXXXXXXXXXXXXXX";
const K9: &str = "ASIAXXXXXXXXXXXXXXX9";

struct Ev {
    n: u32,
}

impl Ev {
    /// One event by `key` at minute `min` past 01:00 on 2024-08-01.
    fn ev(&mut self, key: Option<&str>, account: &str, min: u32, name: &str, req: Value, resp: Value) -> Value {
        self.n += 1;
        json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{A}:user/alice"),
                "accountId": A, "accessKeyId": key, "userName": "alice"
            },
            "eventTime": format!("2024-08-01T01:{min:02}:00Z"),
            "eventSource": if name.contains("Role") || name.contains("Token") { "sts.amazonaws.com" } else { "iam.amazonaws.com" },
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": req,
            "responseElements": resp,
            "eventID": format!("00000000-0000-0000-0000-{:012}", self.n),
            "readOnly": name.starts_with("List") || name.starts_with("Describe") || name.starts_with("Get"),
            "eventType": "AwsApiCall",
            "recipientAccountId": account
        })
    }
}

fn creds(k: &str) -> Value {
    json!({"credentials": {"accessKeyId": k, "sessionToken": "x", "expiration": "Aug 1, 2024, 2:00:00 AM"}})
}

fn write_archive(dir: &Path) {
    let mut e = Ev { n: 0 };
    let mut recs = vec![
        e.ev(Some(K0), A, 0, "ListBuckets", Value::Null, Value::Null),
        e.ev(Some(K0), A, 1, "GetSessionToken", json!({"durationSeconds": 3600}), creds(K1)),
        e.ev(Some(K0), A, 2, "AssumeRole", json!({"roleArn": format!("arn:aws:iam::{A}:role/dev"), "roleSessionName": "s"}), creds(K2)),
        e.ev(Some(K2), A, 3, "AssumeRole", json!({"roleArn": format!("arn:aws:iam::{A}:role/admin"), "roleSessionName": "s"}), creds(K3)),
        e.ev(Some(K0), A, 5, "GetFederationToken", json!({"name": "fed"}), json!({"credentials": {"accessKeyId": K5}, "federatedUser": {"arn": format!("arn:aws:sts::{A}:federated-user/fed")}})),
        e.ev(Some(K0), A, 6, "CreateUser", json!({"userName": "backdoor"}), json!({"user": {"userName": "backdoor"}})),
        e.ev(Some(K0), A, 7, "CreateAccessKey", json!({"userName": "backdoor"}), json!({"accessKey": {"accessKeyId": K6, "userName": "backdoor", "status": "Active"}})),
        e.ev(Some(KX), A, 8, "CreateAccessKey", json!({"userName": "backdoor"}), json!({"accessKey": {"accessKeyId": K7, "userName": "backdoor", "status": "Active"}})),
        // K6 "mints" K0 again: its own grandchild; must not loop or duplicate.
        e.ev(Some(K6), A, 9, "AssumeRole", json!({"roleArn": format!("arn:aws:iam::{A}:role/dev")}), creds(K0)),
        // Unrelated chain: KX is not in the lineage.
        e.ev(Some(KX), A, 10, "AssumeRole", json!({"roleArn": format!("arn:aws:iam::{A}:role/ops")}), creds(K9)),
        e.ev(Some(K9), A, 11, "ListUsers", Value::Null, Value::Null),
        e.ev(Some(K1), A, 12, "ListUsers", Value::Null, Value::Null),
        e.ev(Some(K5), A, 13, "ListUsers", Value::Null, Value::Null),
        e.ev(Some(K7), A, 14, "ListUsers", Value::Null, Value::Null),
    ];
    // A failed mint: AccessDenied, no credentials.
    let mut failed =
        e.ev(Some(K0), A, 4, "AssumeRole", json!({"roleArn": format!("arn:aws:iam::{A}:role/root-ish")}), Value::Null);
    failed["errorCode"] = json!("AccessDenied");
    failed["errorMessage"] = json!("not authorized");
    recs.push(failed);
    // Cross-account: K3 assumes a role in B; the call is logged in A (with the key) and in B
    // (as an AWSAccount caller, no key), one sharedEventID.
    let mut x =
        e.ev(Some(K3), A, 15, "AssumeRole", json!({"roleArn": format!("arn:aws:iam::{B}:role/partner")}), creds(K4));
    x["sharedEventID"] = json!("5ba7c0de-0000-0000-0000-000000000001");
    recs.push(x.clone());
    let mut copy =
        e.ev(None, B, 15, "AssumeRole", json!({"roleArn": format!("arn:aws:iam::{B}:role/partner")}), creds(K4));
    copy["userIdentity"] = json!({"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": A});
    copy["sharedEventID"] = json!("5ba7c0de-0000-0000-0000-000000000001");
    let mut k4 = e.ev(Some(K4), B, 16, "DescribeInstances", Value::Null, Value::Null);
    k4["readOnly"] = json!(true);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::fs::write(dir.join("a/trail.json"), serde_json::to_vec(&json!({"Records": recs})).unwrap()).unwrap();
    std::fs::write(dir.join("b/trail.json"), serde_json::to_vec(&json!({"Records": [copy, k4]})).unwrap()).unwrap();
}

#[tokio::test]
async fn lineage_follows_every_mint_to_a_fixpoint() {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path());
    let engine = Engine::open(&[dir.path().to_path_buf()], EngineOptions::default()).await.unwrap();
    let l = derive(&engine, &[K0.to_string()]).await.unwrap();
    let got: Vec<(String, Option<String>, Option<String>, u32)> = l
        .keys
        .iter()
        .map(|k| (k.access_key_id.clone(), k.parent_access_key_id.clone(), k.minted_by.clone(), k.depth))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            (K0.into(), None, None, 0),
            (K1.into(), s(K0), s("GetSessionToken"), 1),
            (K2.into(), s(K0), s("AssumeRole"), 1),
            (K5.into(), s(K0), s("GetFederationToken"), 1),
            (K6.into(), s(K0), s("CreateAccessKey"), 1),
            (K7.into(), s(K0), s("CreateAccessKey"), 1),
            (K3.into(), s(K2), s("AssumeRole"), 2),
            (K4.into(), s(K3), s("AssumeRole"), 3),
        ]
    );
    // Where the minting events are.
    let k2 = l.get(K2).unwrap();
    assert_eq!(k2.event_id.as_deref(), Some("00000000-0000-0000-0000-000000000003"));
    assert_eq!(k2.event_time.as_deref(), Some("2024-08-01T01:02:00Z"));
    assert_eq!(k2.grants.as_deref(), Some("arn:aws:iam::111122223333:role/dev"));
    assert!(k2.evidence_path.as_deref().unwrap().ends_with("a/trail.json"));
    assert_eq!(k2.evidence_index, Some(2));
    // The cross-account key belongs to B and its copy in B is listed.
    let k4 = l.get(K4).unwrap();
    assert_eq!(k4.account_id.as_deref(), Some(B));
    assert_eq!(k4.copies.len(), 1);
    assert_eq!(k4.copies[0].account_id.as_deref(), Some(B));
    assert!(k4.copies[0].evidence_path.ends_with("b/trail.json"));
    // The failed mint is reported, not followed; the created user is recorded.
    assert_eq!(l.failed_mints.len(), 1);
    assert_eq!(l.failed_mints[0].error_code, "AccessDenied");
    assert_eq!(l.created_users.len(), 1);
    assert_eq!(l.created_users[0].user_name, "backdoor");
    // Round by round over the evidence (too many minting events to hold, here none), and
    // with a limit the archive's minting events overflow: the same lineage.
    for max_held in [0, 3] {
        let scanned = trailsift_detect::lineage::derive_holding(&engine, &[K0.to_string()], max_held).await.unwrap();
        assert_eq!(scanned, l, "holding at most {max_held} minting events");
    }
    // Seeding with a derived key finds only its descendants.
    let sub = derive(&engine, &[K2.to_string()]).await.unwrap();
    assert_eq!(sub.key_ids(), vec![K2.to_string(), K3.to_string(), K4.to_string()]);
    // A bad seed is refused with a clear error.
    let err = derive(&engine, &["AKIA' OR 1=1".to_string()]).await.unwrap_err();
    assert!(err.to_string().contains("not an access key ID"), "{err}");
}

#[tokio::test]
async fn investigation_counts_every_key_of_the_lineage() {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path());
    let engine = Engine::open(&[dir.path().to_path_buf()], EngineOptions::default()).await.unwrap();
    let mut inv = investigate(&engine, &InvestigateOptions::new(K0)).await.unwrap();
    inv.finish();
    assert!(inv.seen_in_evidence);
    assert_eq!(inv.key_type, "long-term");
    assert_eq!(inv.lineage.len(), 8);
    // Events per key, counted by hand from write_archive.
    let per: Vec<(String, u64)> = inv.keys.iter().map(|k| (k.access_key_id.clone(), k.events)).collect();
    let want: Vec<(String, u64)> = [(K0, 7), (K1, 1), (K2, 1), (K5, 1), (K6, 1), (K7, 1), (K3, 1), (K4, 1)]
        .iter()
        .map(|(k, n)| (k.to_string(), *n))
        .collect();
    assert_eq!(per, want);
    assert_eq!(inv.total_events, 14);
    assert_eq!(inv.total_errors, 1);
    let k0 = &inv.keys[0];
    assert_eq!(k0.event_names.get("AssumeRole"), Some(&2));
    assert_eq!(k0.event_errors.get("AssumeRole"), Some(&1));
    assert_eq!(k0.source_ips, vec!["203.0.113.7".to_string()]);
    assert_eq!(k0.first_seen.as_deref(), Some("2024-08-01T01:00:00Z"));
    assert_eq!(inv.owner.as_ref().and_then(|p| p.arn.as_deref()), Some("arn:aws:iam::111122223333:user/alice"));
    // Mutating: everything but ListBuckets/ListUsers/DescribeInstances (readOnly true) — the
    // record's readOnly flag wins over the name.
    assert_eq!(inv.impact.by_event_name.get("CreateUser"), Some(&1));
    assert!(!inv.impact.by_event_name.contains_key("DescribeInstances"));
    // Containment names the long-term keys to deactivate and the user to remove.
    let targets: Vec<&str> = inv.containment.iter().map(|c| c.target.as_str()).collect();
    for k in [K0, K6, K7] {
        assert!(targets.contains(&k), "{k} missing from {targets:?}");
    }
    assert!(targets.contains(&"backdoor"));
    // The timeline has the mints in time order.
    let mints: Vec<&str> = inv.timeline.iter().filter(|t| t.kind == "mint").map(|t| t.time.as_str()).collect();
    assert_eq!(mints.len(), 7);
    assert!(mints.windows(2).all(|w| w[0] <= w[1]));
    // An unknown key gives an empty, clearly marked investigation.
    let none = investigate(&engine, &InvestigateOptions::new("AKIAZZZZZZZZZZZZZZZZ")).await.unwrap();
    assert!(!none.seen_in_evidence);
    assert_eq!(none.total_events, 0);
}

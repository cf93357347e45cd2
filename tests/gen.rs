//! `trailsift gen`: the command writes what the library writes, honours its options, refuses
//! to write into a non-empty folder, and its planted incident can be found by a query.

mod common;

use common::*;

#[test]
fn gen_command_writes_a_planted_archive_that_queries_agree_with() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let o = out.to_str().unwrap();
    let (code, _, err) = run_text(&[
        "gen",
        "--out",
        o,
        "--records",
        "1500",
        "--files-per-region",
        "36",
        "--plant",
        "exposed-key",
        "--threads",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("planted exposed-key"), "{err}");
    let answers: trailsift_gen::Answers =
        serde_json::from_slice(&std::fs::read(out.join("answers.json")).unwrap()).unwrap();
    // The same options through the library give the same answers (and so the same files).
    let lib = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions {
        records: 1500,
        files_per_region: 36,
        vpc: true,
        plant: vec![trailsift_gen::Scenario::ExposedKey],
        ..Default::default()
    };
    assert_eq!(trailsift_gen::generate(lib.path(), &opts).unwrap(), answers);
    assert!(!answers.vpc_files.is_empty());

    // The leaked key's events, counted by the query engine over the raw evidence.
    let inc = &answers.incidents[0];
    let keys: Vec<String> = inc.lineage.iter().map(|l| format!("'{}'", l.access_key_id)).collect();
    let sql = format!("SELECT count(*) AS n FROM cloudtrail WHERE useridentity.accesskeyid IN ({})", keys.join(", "));
    let (code, text, err) = run_text(&["query", o, "--format", "jsonl", "--sql", &sql]);
    assert!(code == 0 || code == 2, "{err}");
    assert_eq!(jsonl(&text)[0]["n"], inc.total_events);

    // Not into a folder that holds something.
    let (code, _, err) = run_text(&["gen", "--out", o, "--records", "10"]);
    assert_eq!(code, 1);
    assert!(err.contains("not empty"), "{err}");
    // Bad sizes are named.
    let (code, _, err) = run_text(&["gen", "--out", dir.path().join("x").to_str().unwrap(), "--size", "lots"]);
    assert_eq!(code, 2, "clap usage error");
    assert!(err.contains("not a size"), "{err}");
}

#[test]
fn gen_size_is_roughly_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let (code, _, err) = run_text(&["gen", "--out", out.to_str().unwrap(), "--size", "3MB", "--no-vpc"]);
    assert_eq!(code, 0, "{err}");
    let answers: trailsift_gen::Answers =
        serde_json::from_slice(&std::fs::read(out.join("answers.json")).unwrap()).unwrap();
    assert!((2_400_000..3_600_000).contains(&answers.json_bytes), "{} bytes", answers.json_bytes);
    assert!(answers.vpc_files.is_empty());
    assert!(!out.join("AWSLogs/123456789012/vpcflowlogs").exists());
}

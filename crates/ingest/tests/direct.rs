//! The direct reader (records read straight from the bytes) against the tape path (simd-json
//! first, then the builder): for every input both must load the same rows, reject the same
//! records for the same reasons and report the same file problems. Inputs: a generated
//! archive, hand-written records that exercise every odd corner (escapes, surrogates,
//! numbers, duplicate and unknown keys, wrong types, whitespace), thousands of random
//! corruptions of them, and the public samples in `../shared/realdata` when present.

mod common;

use std::path::Path;

use arrow::array::RecordBatch;
use trailsift_ingest::builder::BatchBuilder;
use trailsift_ingest::parse::ParseOutcome;
use trailsift_ingest::schema::{self, Leaves, Projection};

fn parse(bytes: &[u8], projection: Projection, direct: bool) -> (RecordBatch, ParseOutcome) {
    let mut builder = BatchBuilder::new(projection);
    builder.set_direct(direct);
    let schema = builder.schema();
    let (batches, outcome) = common::parse_with(bytes, builder, 5, None);
    (arrow::compute::concat_batches(&schema, &batches).unwrap(), outcome)
}

fn projections() -> Vec<(&'static str, Projection)> {
    let mut leaves = Leaves::Some(Vec::new());
    leaves.add(&["accesskeyid".to_string()]);
    leaves.add(&["sessioncontext".to_string(), "sessionissuer".to_string(), "arn".to_string()]);
    vec![
        ("all", Projection::all()),
        ("two columns", Projection::new([4, schema::COL_EVIDENCE_INDEX])),
        ("struct leaves", Projection::new([1, schema::COL_EVENT_TS]).with_leaves(1, leaves)),
        ("no columns", Projection::new([])),
    ]
}

/// Parses `bytes` both ways under every projection and checks the answers are the same;
/// returns the outcome of the full projection.
fn assert_same(bytes: &[u8], what: &str) -> ParseOutcome {
    let mut full = None;
    for (name, projection) in projections() {
        let (a, oa) = parse(bytes, projection.clone(), true);
        let (b, ob) = parse(bytes, projection, false);
        let ctx = || format!("{what} ({name}): {}", String::from_utf8_lossy(&bytes[..bytes.len().min(300)]));
        assert_eq!(ob.read_directly, 0, "{}", ctx());
        assert_eq!((oa.seen, oa.loaded, oa.filtered), (ob.seen, ob.loaded, ob.filtered), "{}", ctx());
        assert_eq!(oa.rejects, ob.rejects, "{}", ctx());
        assert_eq!(oa.error, ob.error, "{}", ctx());
        assert_eq!(oa.not_cloudtrail, ob.not_cloudtrail, "{}", ctx());
        assert_eq!(a, b, "{}", ctx());
        full.get_or_insert(oa);
    }
    full.expect("at least one projection")
}

fn envelope(records: &[&str]) -> Vec<u8> {
    format!("{{\"Records\":[{}]}}", records.join(",")).into_bytes()
}

/// Records that take every branch of the direct reader, or make it hand over to simd-json.
const ODD_RECORDS: &[&str] = &[
    r#"{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventName":"A\"B\\C\/D\u00e9\ud83d\ude00\n\t\b\f\r","readOnly":true,"managementEvent":false}"#,
    r#"{"eventTime":"2024-01-02T03:04:05\u005a","requestParameters":{"k\u0041":"x\/y","n":[1,-2,0,1.5,1e3,-0,12345678901234567890,1E-7,0.1,-0.0,123456789012345678,1234567890123456789]},"responseElements":{"a":{},"b":[],"c":[{}],"d":null,"e":true,"f":false,"g":"\u0001\u001f\u007f"}}"#,
    r#"{ "eventTime" : "2024-01-02T03:04:05Z" ,
        "userIdentity" : { "type" : "IAMUser" , "accessKeyId" : "AKIAX" , "sessionContext" : { "sessionIssuer" : { "arn" : "arn:r" } } } ,
        "requestParameters" : { "a" : [ 1 , 2 , { "b" : null } ] } , "resources" : [ { "ARN" : "arn:1" } , null ] }"#,
    r#"{"eventName":"first","eventName":"second","userIdentity":{"type":"A","type":"B","arn":"x","ARN":"y"},"brandNewField":{"x":[1,2]},"errorCode":{"nested":true}}"#,
    r#"{"eventTime":12345,"awsRegion":7,"sourceIPAddress":1.5,"userAgent":-0,"errorMessage":[1,"two"],"resources":[{"ARN":"arn:1"},5,"s",{"arn":"lower","extraKey":1}],"userIdentity":"not an object","tlsDetails":[1]}"#,
    r#"{"resources":"weird","additionalEventData":[1,2],"serviceEventDetails":3.0e10,"useridentity":{"TYPE":"Root","accesskeyid":"ASIAXYZ"},"eventTime":"2024-02-29T23:59:59.123Z"}"#,
    r#"{"event\u004eame":"escaped key","eventSource":"s3.amazonaws.com"}"#,
    r#"{"eventName":"lone surrogate \ud800 here","requestParameters":{"s":"\udc00"}}"#,
    r#"{"eventName":"high then other \ud83d\u0041","requestParameters":{"s":"ok"}}"#,
    r#"{"eventName":"raw	tab"}"#,
    r#"{"requestParameters":{"deep":[[[[[[[[[[[[[[[[[[[[{"x":[[[[[[[[[[1]]]]]]]]]]}]]]]]]]]]]]]]]]]]]]]}}"#,
    r#"{"eventName":"ünïcödé ✓ 𝄞","requestParameters":{"text":"ünïcödé ✓ 𝄞 \u2028"},"resources":[]}"#,
    r#"{}"#,
    r#"{"eventTime":"2024-01-02T03:04:05Z","eventTime":"1999-01-01T00:00:00Z","requestParameters":{"a":1,"a":2}}"#,
    r#"{"eventTime":null,"userIdentity":null,"resources":null,"requestParameters":null,"eventName":null}"#,
];

#[test]
fn odd_records_load_as_the_tape_path_loads_them() {
    for (i, r) in ODD_RECORDS.iter().enumerate() {
        assert_same(&envelope(&[r]), &format!("record {i}"));
    }
    // simd-json refuses records 7 to 9 (unpaired surrogates, a raw tab): a file holding one
    // is read by the tape path alone, which rejects them with their reasons.
    let out = assert_same(&envelope(ODD_RECORDS), "all odd records in one file");
    assert_eq!((out.seen, out.loaded, out.read_directly), (15, 12, 0), "{out:?}");
    // Without them, the file is read directly, except the record with an escaped key, which
    // simd-json reads alone.
    let valid: Vec<&str> =
        ODD_RECORDS.iter().enumerate().filter(|(i, _)| !(7..=9).contains(i)).map(|(_, r)| *r).collect();
    let out = assert_same(&envelope(&valid), "the valid odd records in one file");
    assert_eq!((out.seen, out.loaded, out.read_directly), (12, 12, 11), "{out:?}");
}

/// The direct reader guesses each key from the key that followed the one before last time.
/// Records that teach it one order and then break it (other orders, keys that share a
/// guessed key's first bytes, case variants, duplicates, unknown keys, whitespace) must be
/// read as the tape path reads them, and directly.
#[test]
fn keys_in_changing_orders_are_read_alike() {
    let taught = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"P","arn":"arn:a","accountId":"1","accessKeyId":"AKIAA","userName":"alice"},"eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"ua","requestParameters":{"bucketName":"b"},"resources":[{"accountId":"1","type":"AWS::S3::Object","ARN":"arn:o"},{"ARN":"arn:b","accountId":"1","type":"AWS::S3::Bucket"}]}"#;
    let breaks = [
        // The same keys in another order, at the top and inside structs and list items.
        r#"{"eventName":"PutObject","eventTime":"2024-01-02T03:04:06Z","userIdentity":{"userName":"bob","type":"IAMUser","accessKeyId":"AKIAB"},"eventVersion":"1.09","resources":[{"type":"T","ARN":"arn:x"}]}"#,
        // Keys whose first bytes are those of the guessed key, longer and shorter.
        r#"{"eventVersion":"1.08","userIdentityX":{"type":"Root"},"userIdentit":1,"userIdentity":{"type":"Root","typeX":"y","principalIdentity":"q","arn":"arn:r"},"eventTime":"2024-01-02T03:04:07Z","eventSourceARN":"s","eventSource":"ec2.amazonaws.com"}"#,
        // Case variants, duplicates and whitespace where the guessed key was.
        r#"{"eventversion":"1.10","USERIDENTITY":{"TYPE":"AssumedRole","arn":"arn:1","arn":"arn:2"},"eventTime":"2024-01-02T03:04:08Z","eventTime":"2024-01-02T03:04:09Z","eventSource" :"iam.amazonaws.com","eventName":"A","eventName":"B"}"#,
        // The taught order again, then a record with only the last key.
        taught,
        r#"{"resources":[{"accountId":"2"}]}"#,
    ];
    let mut records = vec![taught, taught];
    records.extend(breaks);
    records.push(taught);
    let out = assert_same(&envelope(&records), "keys in changing orders");
    assert_eq!((out.seen, out.loaded, out.read_directly), (8, 8, 8), "{out:?}");
}

#[test]
fn files_the_direct_reader_refuses_are_read_by_the_tape_path() {
    let good = r#"{"eventName":"A","eventTime":"2024-01-02T03:04:05Z"}"#;
    let cases: Vec<Vec<u8>> = vec![
        envelope(&[good, "5", good]),
        // Batches of 5 rows: the first 5 were handed on before the bad record was met.
        envelope(&[good, good, good, good, good, good, good, r#"{"eventName":01}"#, good]),
        envelope(&[good, "\"str\"", "null", good]),
        envelope(&[good, r#"{"eventName":01}"#, good]),
        envelope(&[good, r#"{"eventName":"x",}"#, good]),
        envelope(&[good, r#"{"eventName":1.}"#]),
        envelope(&[good, r#"{"eventName":tru}"#]),
        envelope(&[good, r#"{"eventName":"bad \q escape"}"#]),
        envelope(&[]),
        format!("{{\"Records\":[{good}],\"extra\":1}}").into_bytes(),
        format!("{{\"Records\":[{good}]}} trailing").into_bytes(),
        format!("{{\"Records\":[{good}]}}{{\"Records\":[{good}]}}").into_bytes(),
        format!("{{\"Records\":[{good}]").into_bytes(),
        format!("{{\"Records\":{good}}}").into_bytes(),
        format!("{{\"Records\" : [ {good} , {good} ] }}\n\n").into_bytes(),
        [envelope(&[good]), vec![0xff]].concat(),
        envelope(&[r#"{"eventName":"A","eventTime":"2024-01-02T03:04:05Z","x":"#]),
    ];
    for (i, c) in cases.iter().enumerate() {
        assert_same(c, &format!("case {i}"));
    }
}

/// Found by the corruption test below: a stray `]` between top-level records made the
/// salvage walk reject a value of no length forever, and memory grew until the process died.
#[test]
fn stray_delimiters_between_records_are_rejected_not_looped_on() {
    let text = br#"{"eventName":"x"} ] {"eventName":"y"} , }"#;
    let out = assert_same(text, "stray delimiters");
    assert_eq!(out.loaded, 2);
    assert_eq!(out.rejects.len(), 3, "{:?}", out.rejects);
}

/// `trailsift_gen::Rng`, drawing indexes: seeded, so failures replay.
fn below(rng: &mut trailsift_gen::Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

#[test]
fn corrupted_files_are_answered_alike() {
    const BYTES: &[u8] = b"\"\\{}[],:0-.eEu \n\x01\xc3tfn/9A";
    let base = envelope(&ODD_RECORDS[..6]);
    let mut rng = trailsift_gen::Rng::new(0x5eed_cafe_f00d);
    let mut direct_loads = 0;
    for round in 0..1500 {
        let mut bytes = base.clone();
        for _ in 0..1 + below(&mut rng, 3) {
            let at = below(&mut rng, bytes.len());
            match below(&mut rng, 3) {
                0 => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, BYTES[below(&mut rng, BYTES.len())]),
                _ => bytes[at] = BYTES[below(&mut rng, BYTES.len())],
            }
        }
        let (_, out) = parse(&bytes, Projection::all(), true);
        direct_loads += out.read_directly;
        assert_same(&bytes, &format!("round {round}"));
    }
    assert!(direct_loads > 0, "no corruption left a file the direct reader could read");
}

#[test]
fn generated_archive_is_read_directly_and_alike() {
    let dir = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 1500, files_per_region: 2, ..Default::default() };
    let answers = trailsift_gen::generate(dir.path(), &opts).unwrap();
    let (mut loaded, mut direct) = (0, 0);
    for f in &answers.files {
        let raw = std::fs::read(dir.path().join(&f.path)).unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut text).unwrap();
        let out = assert_same(&text, &f.path);
        loaded += out.loaded;
        direct += out.read_directly;
    }
    assert_eq!(loaded, 1500);
    assert_eq!(direct, loaded, "every generated record is read directly");
}

#[test]
fn realdata_samples_are_answered_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realdata/cloudtrail");
    if !root.is_dir() {
        eprintln!("skipped: {} is not here (the public samples are optional)", root.display());
        return;
    }
    let mut stack = vec![root];
    let (mut files, mut loaded, mut direct) = (0, 0, 0);
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                let raw = std::fs::read(&p).unwrap();
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut text).unwrap();
                let out = assert_same(&text, &p.display().to_string());
                files += 1;
                loaded += out.loaded;
                direct += out.read_directly;
            }
        }
    }
    eprintln!("realdata: {files} files, {loaded} records loaded, {direct} of them read directly");
    assert!(files > 0 && direct > 0);
}

/// Batches built in the vectors of earlier batches given back to the builder
/// (`BatchBuilder::recycle`, as the store writer does) hold exactly what batches built from
/// fresh vectors hold; and the vectors are in fact reused.
#[test]
fn recycled_batches_equal_fresh_ones() {
    use arrow::array::{AsArray, UInt32Array};
    use trailsift_ingest::discover::PathInfo;
    use trailsift_ingest::parse::{FileSource, Sink, parse_file};

    let dir = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 1200, files_per_region: 3, ..Default::default() };
    let answers = trailsift_gen::generate(dir.path(), &opts).unwrap();
    let texts: Vec<Vec<u8>> = answers
        .files
        .iter()
        .map(|f| {
            let raw = std::fs::read(dir.path().join(&f.path)).unwrap();
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut text).unwrap();
            text
        })
        .collect();
    let eventid = schema::RECORD_FIELDS.iter().position(|f| f.name == "eventid").unwrap();
    // Every batch of one builder over all files, copied out before it is given back when
    // `recycle` is set; and where each batch's `eventid` text lived.
    let run = |recycle: bool| {
        let mut builder = BatchBuilder::new(Projection::all());
        let (mut kept, mut places) = (Vec::new(), Vec::new());
        let info = PathInfo::default();
        for text in &texts {
            let mut on_batch = |b: RecordBatch| {
                places.push(b.column(eventid).as_string::<i32>().values().as_ptr() as usize);
                let all = UInt32Array::from_iter_values(0..b.num_rows() as u32);
                kept.push(arrow::compute::take_record_batch(&b, &all).unwrap());
                recycle.then_some(b)
            };
            let mut sink = Sink { builder: &mut builder, batch_rows: 40, on_batch: &mut on_batch, prefilter: None };
            let src = FileSource { path: "mem.json", info: &info, candidate: false };
            let mut data = text.clone();
            let outcome = parse_file(&mut data, None, src, &mut sink, &mut |_: &mut Vec<u8>| None);
            assert_eq!(outcome.loaded, outcome.seen);
        }
        kept.extend(builder.finish());
        (kept, places)
    };
    let (fresh, _) = run(false);
    let (recycled, places) = run(true);
    assert_eq!(fresh.iter().map(RecordBatch::num_rows).sum::<usize>(), 1200);
    assert_eq!(fresh, recycled);
    // Full batches of 40 IDs of 36 characters never outgrow the first one's vector.
    let reused = places.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(reused * 2 > places.len(), "the text vectors were reused {reused} times in {} batches", places.len());
}

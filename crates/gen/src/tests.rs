//! Unit tests of the generator's building blocks.

use super::*;

#[test]
fn key_encodes_account() {
    // The public decoding: base32-decode the 16 characters after the prefix, take the
    // first 6 bytes big-endian, mask 0x7fffffffff80, shift right 7.
    let mut rng = Rng::new(1);
    let key = access_key_id("AKIA", 123_456_789_012, &mut rng);
    assert_eq!(key.len(), 20);
    assert!(matches!(key.as_bytes()[4], b'Q'..=b'Z' | b'2'..=b'7'), "newer-format key: {key}");
    let mut acc: u128 = 0;
    for c in key[4..].bytes() {
        acc = (acc << 5) | B32.iter().position(|&b| b == c).unwrap() as u128;
    }
    let first6 = (acc >> 32) as u64;
    assert_eq!((first6 & 0x7fff_ffff_ff80) >> 7, 123_456_789_012);
}

#[test]
fn iso_formats() {
    assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso(19_935 * 86_400 + 3661), "2024-07-31T01:01:01Z");
    assert_eq!(compact_stamp(19_935 * 86_400 + 3661), "20240731T0101Z");
    assert_eq!(aws_date(19_935 * 86_400 + 13 * 3600 + 5), "Jul 31, 2024, 1:00:05 PM");
    assert_eq!(aws_date(19_935 * 86_400), "Jul 31, 2024, 12:00:00 AM");
}

#[test]
fn iso_and_uuid_match_their_formats() {
    for secs in
        [-86_400i64 * 365, 0, 59, 951_782_400 - 1, 1_722_470_399, 4_102_444_800, 253_402_300_799, 253_402_300_800]
    {
        let (y, m, d) = civil(secs.div_euclid(86_400));
        let r = secs.rem_euclid(86_400);
        let want = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", r / 3600, r % 3600 / 60, r % 60);
        assert_eq!(iso(secs), want, "{secs}");
    }
    for seed in 0..50 {
        let mut a = Rng::new(seed);
        let mut b = Rng::new(seed);
        let (x, y) = (b.next_u64(), b.next_u64());
        let want = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            x & 0xffff,
            y >> 48,
            y & 0xffff_ffff_ffff
        );
        assert_eq!(uuid(&mut a), want);
    }
}

#[test]
fn plans_spread_records_exactly() {
    let opts = GenOptions { records: 12_345, files_per_region: 288, ..Default::default() };
    let p = plans(&opts, &account_ids(2), Span { start: opts.start_day * 86_400, slots: 288 });
    assert_eq!(p.len(), 2 * 2 * 288);
    assert_eq!(p.iter().map(|p| p.records).sum::<u64>(), 12_345);
    // The first region of the first account is the busiest; nights are quieter than days.
    let sum = |f: &dyn Fn(&Plan) -> bool| p.iter().filter(|x| f(x)).map(|x| x.records).sum::<u64>();
    assert!(sum(&|x| x.account == 0 && x.region == "us-east-1") > sum(&|x| x.account == 0 && x.region == "eu-west-1"));
    assert!(sum(&|x| (96..192).contains(&x.slot)) > sum(&|x| x.slot < 72));
}

#[test]
fn size_estimate_is_plausible() {
    let opts = GenOptions::default();
    let n = records_for_size(&opts, 100_000_000);
    assert!((40_000..200_000).contains(&n), "{n} records for 100 MB");
}

#[test]
fn scenario_names_parse() {
    assert_eq!("exposed-key".parse::<Scenario>(), Ok(Scenario::ExposedKey));
    assert!("nope".parse::<Scenario>().is_err());
}

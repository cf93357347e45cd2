//! Network helpers for SQL: `cidr_contains(cidr, ip)`.
//!
//! | call | result |
//! | --- | --- |
//! | `cidr_contains('10.0.0.0/8', '10.1.2.3')` | `true` |
//! | `cidr_contains('2001:db8::/32', '2001:db8::1')` | `true` |
//! | `cidr_contains('192.0.2.7', '192.0.2.7')` | `true` (an address alone is a /32 or /128) |
//! | `cidr_contains('10.0.0.0/8', '::ffff:10.1.2.3')` | `true` (IPv4-mapped IPv6 counts as IPv4) |
//! | `cidr_contains('10.0.0.0/8', '2001:db8::1')` | `false` (different families) |
//! | `cidr_contains('10.0.0.0/33', '10.0.0.1')`, `cidr_contains('x', 'y')`, `cidr_contains('10.0.0.0/8', '-')` | `false` (garbage never matches) |
//! | `cidr_contains(NULL, …)`, `cidr_contains(…, NULL)` | `NULL` |
//!
//! Host bits set in the CIDR (`10.1.2.3/8`) are ignored, as AWS security groups do.

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray};
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::prelude::SessionContext;

/// Registers `cidr_contains` in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(CidrContains::new()));
}

/// Parses `text` as an address, mapping IPv4-mapped IPv6 to IPv4.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let ip: IpAddr = text.trim().parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

/// A parsed CIDR block: network address bits and prefix length, per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cidr {
    /// IPv4 network and prefix length (0–32).
    V4(u32, u8),
    /// IPv6 network and prefix length (0–128).
    V6(u128, u8),
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x:y::/n` or a bare address; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => {
                if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) || l.len() > 3 {
                    return None;
                }
                (a, Some(l.parse::<u8>().ok()?))
            }
            None => (text, None),
        };
        match parse_ip(addr)? {
            IpAddr::V4(v4) => {
                let len = len.unwrap_or(32);
                // A mapped IPv6 prefix (::ffff:a.b.c.d/104) becomes an IPv4 one.
                let len = if addr.contains(':') { len.checked_sub(96)? } else { len };
                (len <= 32).then(|| Cidr::V4(u32::from(v4) & mask32(len), len))
            }
            IpAddr::V6(v6) => {
                let len = len.unwrap_or(128);
                (len <= 128).then(|| Cidr::V6(u128::from(v6) & mask128(len), len))
            }
        }
    }

    /// Whether `ip` (text) is inside this block; false for anything that is not an address.
    pub fn contains(&self, ip: &str) -> bool {
        match (self, parse_ip(ip)) {
            (Cidr::V4(net, len), Some(IpAddr::V4(a))) => u32::from(a) & mask32(*len) == *net,
            (Cidr::V6(net, len), Some(IpAddr::V6(a))) => u128::from(a) & mask128(*len) == *net,
            _ => false,
        }
    }
}

fn mask32(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len as u32) }
}

fn mask128(len: u8) -> u128 {
    if len == 0 { 0 } else { u128::MAX << (128 - len as u32) }
}

/// Whether the address `ip` is in the block `cidr` (false when either is not valid).
pub fn cidr_contains(cidr: &str, ip: &str) -> bool {
    Cidr::parse(cidr).is_some_and(|c| c.contains(ip))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CidrContains {
    signature: Signature,
}

impl CidrContains {
    fn new() -> Self {
        Self { signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for CidrContains {
    fn name(&self) -> &str {
        "cidr_contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = |a: &ArrayRef| -> Result<StringArray> {
            let c = arrow::compute::cast(a, &DataType::Utf8)?;
            Ok(c.as_any().downcast_ref::<StringArray>().expect("cast to Utf8").clone())
        };
        let (cidrs, ips) = (text(&arrays[0])?, text(&arrays[1])?);
        // The CIDR is almost always a literal: parse it once.
        let single =
            (cidrs.len() == 1 || (0..cidrs.len()).all(|i| cidrs.value(i) == cidrs.value(0))) && cidrs.null_count() == 0;
        let fixed = if single && !cidrs.is_empty() { Some(Cidr::parse(cidrs.value(0))) } else { None };
        let n = cidrs.len().max(ips.len());
        let at = |a: &StringArray, i: usize| if a.len() == 1 { 0 } else { i };
        let out: BooleanArray = (0..n)
            .map(|i| {
                let (c, p) = (at(&cidrs, i), at(&ips, i));
                if cidrs.is_null(c) || ips.is_null(p) {
                    return None;
                }
                Some(match &fixed {
                    Some(block) => block.is_some_and(|b| b.contains(ips.value(p))),
                    None => cidr_contains(cidrs.value(c), ips.value(p)),
                })
            })
            .collect();
        if scalar {
            return Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4() {
        assert!(cidr_contains("10.0.0.0/8", "10.255.1.2"));
        assert!(!cidr_contains("10.0.0.0/8", "11.0.0.1"));
        assert!(cidr_contains("172.16.0.0/12", "172.31.255.255"));
        assert!(!cidr_contains("172.16.0.0/12", "172.32.0.0"));
        assert!(cidr_contains("0.0.0.0/0", "203.0.113.9"));
        assert!(cidr_contains("192.0.2.7", "192.0.2.7"));
        assert!(!cidr_contains("192.0.2.7/32", "192.0.2.8"));
        assert!(cidr_contains("10.1.2.3/8", "10.9.9.9"), "host bits are ignored");
        assert!(cidr_contains("10.0.0.0/8", "::ffff:10.1.2.3"));
    }

    #[test]
    fn ipv6() {
        assert!(cidr_contains("2001:db8::/32", "2001:db8:ffff::1"));
        assert!(!cidr_contains("2001:db8::/32", "2001:db9::1"));
        assert!(cidr_contains("fc00::/7", "fd12:3456::1"));
        assert!(cidr_contains("::/0", "2001:db8::1"));
        assert!(cidr_contains("2001:db8::1/128", "2001:db8:0:0:0:0:0:1"));
        assert!(!cidr_contains("10.0.0.0/8", "2001:db8::1"));
        assert!(!cidr_contains("2001:db8::/32", "10.0.0.1"));
        assert!(cidr_contains("::ffff:10.0.0.0/104", "10.2.3.4"));
    }

    #[test]
    fn garbage_is_false() {
        for (c, ip) in [
            ("10.0.0.0/33", "10.0.0.1"),
            ("10.0.0.0/", "10.0.0.1"),
            ("10.0.0.0/-1", "10.0.0.1"),
            ("10.0.0.0/8", "-"),
            ("10.0.0.0/8", ""),
            ("x", "y"),
            ("10.0.0.0/8", "10.0.0.256"),
            ("2001:db8::/129", "2001:db8::1"),
            ("10.0.0.0/8/8", "10.0.0.1"),
        ] {
            assert!(!cidr_contains(c, ip), "{c} {ip}");
        }
    }
}

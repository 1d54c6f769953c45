//! Sizes as flows write them: a byte count or a string such as `"10G"`.

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// A size in bytes, given in Lua as an integer or a string with a binary
/// suffix (`K`, `M`, `G`, `T`; `KiB`/`KB`-style spellings accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl schemars::JsonSchema for ByteSize {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["integer", "string"]})
    }
}

pub fn parse_size(s: &str) -> anyhow::Result<u64> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .with_context(|| format!("bad size {s:?}: expected e.g. 1048576, \"512M\" or \"10G\""))?;
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => bail!("bad size {s:?}: unit must be K, M, G or T (powers of 1024)"),
    };
    n.checked_mul(1 << shift)
        .with_context(|| format!("size {s:?} is too large"))
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Float(f) if f >= 0.0 && f.fract() == 0.0 => Ok(ByteSize(f as u64)),
            Raw::Float(f) => Err(serde::de::Error::custom(format!(
                "size {f} is not a whole number of bytes"
            ))),
            Raw::Text(s) => parse_size(&s)
                .map(ByteSize)
                .map_err(|e| serde::de::Error::custom(format!("{e:#}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("10G").unwrap(), 10 << 30);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert!(
            parse_size("10X")
                .unwrap_err()
                .to_string()
                .contains("unit must be")
        );
        assert!(parse_size("").is_err());
    }
}

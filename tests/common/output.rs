//! Reading what a run wrote: process output as text, files as text, YAML or JSON.
#![allow(dead_code)]

use std::path::Path;

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref())
        .unwrap_or_else(|e| panic!("read {}: {e}", p.as_ref().display()))
}

pub fn yaml(p: impl AsRef<Path>) -> serde_json::Value {
    serde_saphyr::from_str(&read(p.as_ref()))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", p.as_ref().display()))
}

pub fn json(p: impl AsRef<Path>) -> serde_json::Value {
    serde_json::from_str(&read(p.as_ref()))
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", p.as_ref().display()))
}

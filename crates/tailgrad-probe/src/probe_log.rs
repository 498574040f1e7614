//! A run's probe log read back (`RUN_DIR/probes/<name>.json`, written by
//! [`tailgrad_train::probe::ProbeLog`]): one [`Measurement`] per scheduled measurement, whose
//! `record` is read as the instrument's own result struct ([`Measurement::result`]), so a field
//! renamed in the struct is an error naming the file, never a silently missing value.
//!
//! JSON has no NaN or infinity: serde_json writes them as `null`. Reading back, a `null` where a
//! float is expected is NaN ([`Lenient`]), so a result that held a NaN reads back as it was
//! written (infinities too become NaN).

use anyhow::{Context, bail};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One entry of a probe log: a measurement (`record` + `scalars`) or a failed one (`error`).
#[derive(Clone, Debug, Deserialize)]
pub struct Measurement {
    pub step: u64,
    pub epoch: f64,
    #[serde(default)]
    pub scalars: BTreeMap<String, Option<f64>>,
    #[serde(default)]
    pub record: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
}

impl Measurement {
    /// The record as the instrument's result type `T` (NaN written as `null` read back as NaN).
    pub fn result<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        let Some(record) = &self.record else { bail!("the measurement at step {} failed: {}", self.step, self.error.as_deref().unwrap_or("?")) };
        T::deserialize(Lenient(record)).with_context(|| format!("the record at step {} is not a {}", self.step, std::any::type_name::<T>()))
    }
}

/// The log of probe `name` in `run_dir`: every entry, failed ones included.
pub fn read(run_dir: &Path, name: &str) -> anyhow::Result<Vec<Measurement>> {
    read_file(&log_path(run_dir, name))
}

/// `RUN_DIR/probes/<name>.json`.
pub fn log_path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join("probes").join(format!("{name}.json"))
}

pub(crate) fn read_file(path: &Path) -> anyhow::Result<Vec<Measurement>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a probe log", path.display()))
}

/// The last successful measurement of a log, or an error saying there is none.
pub fn last_measured(log: &[Measurement]) -> anyhow::Result<&Measurement> {
    log.iter().rev().find(|m| m.record.is_some()).context("no successful measurement in the log")
}

/// A [`serde::Deserializer`] over a JSON value that reads `null` as NaN where a float is asked for.
pub struct Lenient<'a>(pub &'a Value);

impl<'de, 'a> de::Deserializer<'de> for Lenient<'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (None, Some(i)) => visitor.visit_i64(i),
                _ => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Items(items.iter())),
            Value::Object(map) => visitor.visit_map(Entries { iter: map.iter(), value: None }),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_f64(f64::NAN),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(self, name: &'static str, variants: &'static [&'static str], visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => other.clone().deserialize_enum(name, variants, visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Items<'a>(std::slice::Iter<'a, Value>);

impl<'de, 'a> SeqAccess<'de> for Items<'a> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|v| seed.deserialize(Lenient(v))).transpose()
    }
}

struct Entries<'a> {
    iter: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'de, 'a> MapAccess<'de> for Entries<'a> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.iter.next() else { return Ok(None) };
        self.value = Some(value);
        seed.deserialize(key.as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        seed.deserialize(Lenient(self.value.take().expect("a value follows its key")))
    }
}

//! A small TensorBoard event-file writer: scalars, histograms and text.
//!
//! The format: a file of TFRecords, each `len: u64 LE | masked_crc32c(len): u32 | data |
//! masked_crc32c(data): u32`, with `mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8`, whose data are
//! protobuf `tensorflow.Event` messages. The messages below are the subset of TensorFlow's
//! `event.proto`, `summary.proto`, `tensor.proto` and `tensor_shape.proto` that tailgrad writes,
//! with the same field numbers. (`tensorboard-rs` is unmaintained; see `shared/stack.md`.)

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "EventWhat", tags = "3, 5, 6")]
    what: Option<EventWhat>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum EventWhat {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
    #[prost(message, tag = "6")]
    SessionLog(SessionLog),
}

#[derive(Clone, PartialEq, prost::Message)]
struct SessionLog {
    /// 1 = START: TensorBoard discards events with larger steps written before it (a resumed run).
    #[prost(int32, tag = "1")]
    status: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(message, optional, tag = "9")]
    metadata: Option<SummaryMetadata>,
    #[prost(oneof = "ValueKind", tags = "2, 5, 8")]
    value: Option<ValueKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum ValueKind {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "5")]
    Histo(HistogramProto),
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

#[derive(Clone, PartialEq, prost::Message)]
struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PluginData {
    #[prost(string, tag = "1")]
    plugin_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HistogramProto {
    #[prost(double, tag = "1")]
    min: f64,
    #[prost(double, tag = "2")]
    max: f64,
    #[prost(double, tag = "3")]
    num: f64,
    #[prost(double, tag = "4")]
    sum: f64,
    #[prost(double, tag = "5")]
    sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    bucket: Vec<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TensorProto {
    /// 7 = DT_STRING.
    #[prost(int32, tag = "1")]
    dtype: i32,
    #[prost(message, optional, tag = "2")]
    tensor_shape: Option<TensorShape>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    string_val: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TensorShape {
    #[prost(message, repeated, tag = "2")]
    dim: Vec<TensorShapeDim>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TensorShapeDim {
    #[prost(int64, tag = "1")]
    size: i64,
}

/// Appends events to `events.out.tfevents.<time>.<host>` in a run directory.
pub struct EventWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c::crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl EventWriter {
    /// A new event file in `dir`. With `resumed_at`, a START marker at that step tells TensorBoard
    /// to drop the earlier files' events beyond it (they were recomputed after a resume).
    pub fn create(dir: &Path, resumed_at: Option<u64>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "tailgrad".into());
        let t = now();
        let path = dir.join(format!("events.out.tfevents.{}.{host}.{}", t as u64, std::process::id()));
        let mut w = Self { file: BufWriter::new(File::create(&path)?), path };
        w.write(Event { wall_time: t, step: 0, what: Some(EventWhat::FileVersion("brain.Event:2".into())) })?;
        if let Some(step) = resumed_at {
            w.write(Event { wall_time: t, step: step as i64, what: Some(EventWhat::SessionLog(SessionLog { status: 1 })) })?;
        }
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, event: Event) -> std::io::Result<()> {
        let data = prost::Message::encode_to_vec(&event);
        let len = (data.len() as u64).to_le_bytes();
        self.file.write_all(&len)?;
        self.file.write_all(&masked_crc(&len).to_le_bytes())?;
        self.file.write_all(&data)?;
        self.file.write_all(&masked_crc(&data).to_le_bytes())
    }

    fn summary(&mut self, step: u64, value: Vec<SummaryValue>) -> std::io::Result<()> {
        self.write(Event { wall_time: now(), step: step as i64, what: Some(EventWhat::Summary(Summary { value })) })
    }

    /// Scalars at one step.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> std::io::Result<()> {
        let value = values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(tag, v)| SummaryValue {
                tag: tag.to_string(),
                metadata: None,
                value: Some(ValueKind::SimpleValue(*v as f32)),
            })
            .collect();
        self.summary(step, value)
    }

    /// A histogram of `values` with `bins` equal-width buckets between their min and max.
    pub fn histogram(&mut self, step: u64, tag: &str, values: &[f32], bins: usize) -> std::io::Result<()> {
        let finite: Vec<f64> = values.iter().map(|&v| v as f64).filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return Ok(());
        }
        let (min, max) = finite.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let width = ((max - min) / bins as f64).max(f64::MIN_POSITIVE);
        let mut bucket = vec![0.0; bins];
        for &v in &finite {
            bucket[(((v - min) / width) as usize).min(bins - 1)] += 1.0;
        }
        let histo = HistogramProto {
            min,
            max,
            num: finite.len() as f64,
            sum: finite.iter().sum(),
            sum_squares: finite.iter().map(|v| v * v).sum(),
            bucket_limit: (1..=bins).map(|i| if i == bins { max } else { min + width * i as f64 }).collect(),
            bucket,
        };
        self.summary(step, vec![SummaryValue { tag: tag.into(), metadata: None, value: Some(ValueKind::Histo(histo)) }])
    }

    /// Text (rendered as Markdown by TensorBoard's text plugin).
    pub fn text(&mut self, step: u64, tag: &str, text: &str) -> std::io::Result<()> {
        let tensor = TensorProto {
            dtype: 7,
            tensor_shape: Some(TensorShape { dim: vec![TensorShapeDim { size: 1 }] }),
            string_val: vec![text.as_bytes().to_vec()],
        };
        let metadata = SummaryMetadata { plugin_data: Some(PluginData { plugin_name: "text".into() }) };
        self.summary(
            step,
            vec![SummaryValue { tag: tag.into(), metadata: Some(metadata), value: Some(ValueKind::Tensor(tensor)) }],
        )
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read the records back, checking both CRCs of each, and decode the events.
    fn read_events(path: &Path) -> Vec<Event> {
        let bytes = std::fs::read(path).unwrap();
        let mut events = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len_bytes = &bytes[at..at + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            assert_eq!(u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()), masked_crc(len_bytes));
            let data = &bytes[at + 12..at + 12 + len];
            assert_eq!(u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap()), masked_crc(data));
            events.push(<Event as prost::Message>::decode(data).unwrap());
            at += 16 + len;
        }
        events
    }

    #[test]
    fn crc32c_masking_matches_tensorflow() {
        // CRC-32C("123456789") = 0xe3069283 (the standard check value); masked as TensorFlow does.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8));
    }

    #[test]
    fn records_round_trip() {
        let dir = tailgrad_testkit::TempDir::new();
        let mut w = EventWriter::create(dir.path(), Some(7)).unwrap();
        w.scalars(3, &[("test/accuracy", 0.5), ("nan", f64::NAN)]).unwrap();
        w.histogram(3, "w", &[0.0, 1.0, 1.0, 2.0], 2).unwrap();
        w.text(0, "spec", "hello").unwrap();
        w.flush().unwrap();
        let events = read_events(w.path());
        assert_eq!(events.len(), 5);
        assert_eq!(events[0].what, Some(EventWhat::FileVersion("brain.Event:2".into())));
        assert_eq!(events[1].what, Some(EventWhat::SessionLog(SessionLog { status: 1 })));
        let Some(EventWhat::Summary(s)) = &events[2].what else { panic!() };
        assert_eq!(s.value.len(), 1, "non-finite scalars are skipped");
        assert_eq!(s.value[0].value, Some(ValueKind::SimpleValue(0.5)));
        let Some(EventWhat::Summary(s)) = &events[3].what else { panic!() };
        let Some(ValueKind::Histo(h)) = &s.value[0].value else { panic!() };
        assert_eq!((h.num, h.sum, h.bucket.clone()), (4.0, 4.0, vec![1.0, 3.0]));
    }
}

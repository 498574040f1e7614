//! A small TensorBoard event-file writer: scalars, histograms, text, and the HParams plugin's
//! experiment and session summaries.
//!
//! The format: a file of TFRecords, each `len: u64 LE | masked_crc32c(len): u32 | data |
//! masked_crc32c(data): u32`, with `mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8`, whose data are
//! protobuf `tensorflow.Event` messages. The messages below are the subset of TensorFlow's
//! `event.proto`, `summary.proto`, `tensor.proto`, `tensor_shape.proto` and TensorBoard's
//! `plugins/hparams/{api,plugin_data}.proto` that tailgrad writes, with the same field numbers.
//!
//! Resumed runs: a new event file starts with a `SessionLog` START at the step after the
//! checkpoint. TensorBoard then discards every point of earlier files at that step or later (the
//! interrupted session's points past the checkpoint, which the resumed run recomputes) and keeps
//! the checkpoint's own step, which the resumed run does not write again.

mod proto;

use proto::*;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The value of one hyperparameter.
#[derive(Clone, Debug, PartialEq)]
pub enum HParam {
    Number(f64),
    Text(String),
    Bool(bool),
}

impl HParam {
    fn proto(&self) -> ProtoValue {
        ProtoValue {
            kind: Some(match self {
                HParam::Number(x) => ProtoKind::Number(*x),
                HParam::Text(s) => ProtoKind::Text(s.clone()),
                HParam::Bool(b) => ProtoKind::Bool(*b),
            }),
        }
    }

    fn data_type(&self) -> i32 {
        match self {
            HParam::Text(_) => 1,
            HParam::Bool(_) => 2,
            HParam::Number(_) => 3,
        }
    }
}

/// How a session (a run) ended, for the HParams dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    Success = 1,
    Failure = 2,
}

/// Appends events to `events.out.tfevents.<time>.<host>.<pid>` in a run directory.
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

/// `HParamsPluginData` in a summary value, as TensorBoard's own `hparams.summary` writes it.
fn hparams_value(tag: &str, data: HParamsData) -> SummaryValue {
    let content = prost::Message::encode_to_vec(&HParamsPluginData { version: 0, data: Some(data) });
    let metadata = SummaryMetadata { plugin_data: Some(PluginData { plugin_name: "hparams".into(), content }) };
    // TensorBoard's NULL_TENSOR: an empty float tensor of shape (0,).
    let tensor = TensorProto {
        dtype: 1,
        tensor_shape: Some(TensorShape { dim: vec![TensorShapeDim { size: 0 }] }),
        string_val: vec![],
    };
    SummaryValue { tag: tag.into(), metadata: Some(metadata), value: Some(ValueKind::Tensor(tensor)) }
}

impl EventWriter {
    /// A new event file in `dir`. With `restart_at` (a resumed session: the first step it logs
    /// anew, i.e. the checkpoint's step + 1, or 0 when it starts over), a SessionLog START marker
    /// at that step makes TensorBoard drop every earlier point at steps >= `restart_at`.
    pub fn create(dir: &Path, restart_at: Option<u64>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let t = now();
        let path = dir.join(format!("events.out.tfevents.{}.{}.{}", t as u64, crate::io::hostname(), std::process::id()));
        let mut w = Self { file: BufWriter::new(File::create(&path)?), path };
        w.write(Event { wall_time: t, step: 0, what: Some(EventWhat::FileVersion("brain.Event:2".into())) })?;
        if let Some(step) = restart_at {
            w.write(Event { wall_time: t, step: step as i64, what: Some(EventWhat::SessionLog(SessionLog { status: 1 })) })?;
        }
        // On disk at once: a session killed before its first flush leaves a valid file, not an
        // empty one.
        w.file.flush()?;
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

    /// Scalars at one step (non-finite values are skipped).
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> std::io::Result<()> {
        let value = values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(tag, v)| SummaryValue { tag: tag.to_string(), metadata: None, value: Some(ValueKind::SimpleValue(*v as f32)) })
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
        let metadata = SummaryMetadata { plugin_data: Some(PluginData { plugin_name: "text".into(), content: vec![] }) };
        self.summary(step, vec![SummaryValue { tag: tag.into(), metadata: Some(metadata), value: Some(ValueKind::Tensor(tensor)) }])
    }

    /// The HParams dashboard's record of a run starting with these hyperparameters.
    pub fn hparams_session_start(&mut self, hparams: &[(String, HParam)], group: &str) -> std::io::Result<()> {
        let info = SessionStartInfo {
            hparams: hparams.iter().map(|(k, v)| (k.clone(), v.proto())).collect(),
            group_name: group.into(),
            start_time_secs: now(),
        };
        self.summary(0, vec![hparams_value("_hparams_/session_start_info", HParamsData::SessionStartInfo(info))])
    }

    /// The HParams dashboard's record of how the run ended.
    pub fn hparams_session_end(&mut self, status: SessionStatus) -> std::io::Result<()> {
        let info = SessionEndInfo { status: status as i32, end_time_secs: now() };
        self.summary(0, vec![hparams_value("_hparams_/session_end_info", HParamsData::SessionEndInfo(info))])
    }

    /// Declare a study to the HParams dashboard: its hyperparameters with the values they take,
    /// and the metrics (`(tag, display name)`) to show for each run.
    pub fn hparams_experiment(
        &mut self,
        name: &str,
        description: &str,
        hparams: &[(String, Vec<HParam>)],
        metrics: &[(&str, &str)],
    ) -> std::io::Result<()> {
        let experiment = Experiment {
            name: name.into(),
            description: description.into(),
            time_created_secs: now(),
            hparam_infos: hparams
                .iter()
                .map(|(n, values)| HParamInfo {
                    name: n.clone(),
                    r#type: values.first().map_or(3, HParam::data_type),
                    domain_discrete: Some(ListValue { values: values.iter().map(HParam::proto).collect() }),
                })
                .collect(),
            metric_infos: metrics
                .iter()
                .map(|(tag, display)| MetricInfo {
                    name: Some(MetricName { group: String::new(), tag: (*tag).into() }),
                    display_name: (*display).into(),
                })
                .collect(),
        };
        self.summary(0, vec![hparams_value("_hparams_/experiment", HParamsData::Experiment(experiment))])
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
    fn a_session_killed_before_its_first_flush_leaves_a_valid_file() {
        // Issue 24, item 10: killed sessions left 0-byte event files. A writer that is never
        // flushed nor dropped (as under SIGKILL) has its header records on disk already.
        let dir = tailgrad_testkit::TempDir::new();
        let w = EventWriter::create(dir.path(), Some(8)).unwrap();
        let path = w.path().to_path_buf();
        std::mem::forget(w);
        let bytes = std::fs::read(&path).unwrap();
        let first = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        // Record = length (8) + its CRC (4) + data + CRC (4): the version, then the restart marker.
        let second = u64::from_le_bytes(bytes[16 + first..24 + first].try_into().unwrap()) as usize;
        assert_eq!(bytes.len(), 32 + first + second, "two whole records");
        assert!(bytes.windows(13).any(|w| w == b"brain.Event:2"), "the file-version record");
    }

    #[test]
    fn records_round_trip_and_the_restart_marker_is_field_7_at_the_given_step() {
        let dir = tailgrad_testkit::TempDir::new();
        let mut w = EventWriter::create(dir.path(), Some(8)).unwrap();
        w.scalars(3, &[("test/accuracy", 0.5), ("nan", f64::NAN)]).unwrap();
        w.histogram(3, "w", &[0.0, 1.0, 1.0, 2.0], 2).unwrap();
        w.text(0, "spec", "hello").unwrap();
        w.hparams_session_start(&[("alpha".into(), HParam::Number(1.5))], "").unwrap();
        w.flush().unwrap();
        let events = read_events(w.path());
        assert_eq!(events.len(), 6);
        assert_eq!(events[0].what, Some(EventWhat::FileVersion("brain.Event:2".into())));
        assert_eq!((events[1].step, events[1].what.clone()), (8, Some(EventWhat::SessionLog(SessionLog { status: 1 }))));
        // On the wire (wall time zeroed, so proto3 leaves it out): step 8 (key 0x10), then field 7,
        // key (7 << 3) | 2 = 0x3a (field 6, log_message, would be 0x32), holding status 1 (START).
        let raw = prost::Message::encode_to_vec(&Event { wall_time: 0.0, ..events[1].clone() });
        assert_eq!(raw, [0x10, 8, 0x3a, 2, 0x08, 1]);
        let Some(EventWhat::Summary(s)) = &events[2].what else { panic!() };
        assert_eq!(s.value.len(), 1, "non-finite scalars are skipped");
        assert_eq!(s.value[0].value, Some(ValueKind::SimpleValue(0.5)));
        let Some(EventWhat::Summary(s)) = &events[3].what else { panic!() };
        let Some(ValueKind::Histo(h)) = &s.value[0].value else { panic!() };
        assert_eq!((h.num, h.sum, h.bucket.clone()), (4.0, 4.0, vec![1.0, 3.0]));
        let Some(EventWhat::Summary(s)) = &events[5].what else { panic!() };
        let content = &s.value[0].metadata.as_ref().unwrap().plugin_data.as_ref().unwrap().content;
        let data = <HParamsPluginData as prost::Message>::decode(&content[..]).unwrap();
        let Some(HParamsData::SessionStartInfo(info)) = data.data else { panic!() };
        assert_eq!(info.hparams["alpha"].kind, Some(ProtoKind::Number(1.5)));
    }
}

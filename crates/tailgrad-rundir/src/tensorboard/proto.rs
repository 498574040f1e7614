//! The protobuf messages tailgrad writes: the subset of TensorFlow's `event.proto`,
//! `summary.proto`, `tensor.proto` and `tensor_shape.proto` and of TensorBoard's
//! `plugins/hparams/{api,plugin_data}.proto` in use, with the same field numbers.

use std::collections::BTreeMap;

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Event {
    #[prost(double, tag = "1")]
    pub(super) wall_time: f64,
    #[prost(int64, tag = "2")]
    pub(super) step: i64,
    #[prost(oneof = "EventWhat", tags = "3, 5, 7")]
    pub(super) what: Option<EventWhat>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(super) enum EventWhat {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
    /// `session_log` is field 7 of `Event` (field 6 is the deprecated `log_message`).
    #[prost(message, tag = "7")]
    SessionLog(SessionLog),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct SessionLog {
    /// 1 = START.
    #[prost(int32, tag = "1")]
    pub(super) status: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub(super) value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct SummaryValue {
    #[prost(string, tag = "1")]
    pub(super) tag: String,
    #[prost(message, optional, tag = "9")]
    pub(super) metadata: Option<SummaryMetadata>,
    #[prost(oneof = "ValueKind", tags = "2, 5, 8")]
    pub(super) value: Option<ValueKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(super) enum ValueKind {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "5")]
    Histo(HistogramProto),
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub(super) plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct PluginData {
    #[prost(string, tag = "1")]
    pub(super) plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub(super) content: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct HistogramProto {
    #[prost(double, tag = "1")]
    pub(super) min: f64,
    #[prost(double, tag = "2")]
    pub(super) max: f64,
    #[prost(double, tag = "3")]
    pub(super) num: f64,
    #[prost(double, tag = "4")]
    pub(super) sum: f64,
    #[prost(double, tag = "5")]
    pub(super) sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    pub(super) bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    pub(super) bucket: Vec<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct TensorProto {
    /// 1 = DT_FLOAT, 7 = DT_STRING.
    #[prost(int32, tag = "1")]
    pub(super) dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub(super) tensor_shape: Option<TensorShape>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub(super) string_val: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct TensorShape {
    #[prost(message, repeated, tag = "2")]
    pub(super) dim: Vec<TensorShapeDim>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct TensorShapeDim {
    #[prost(int64, tag = "1")]
    pub(super) size: i64,
}

// ---- The HParams plugin (tensorboard/plugins/hparams/{plugin_data,api}.proto) ----

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    pub(super) version: i32,
    #[prost(oneof = "HParamsData", tags = "2, 3, 4")]
    pub(super) data: Option<HParamsData>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(super) enum HParamsData {
    #[prost(message, tag = "2")]
    Experiment(Experiment),
    #[prost(message, tag = "3")]
    SessionStartInfo(SessionStartInfo),
    #[prost(message, tag = "4")]
    SessionEndInfo(SessionEndInfo),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    pub(super) hparams: BTreeMap<String, ProtoValue>,
    #[prost(string, tag = "4")]
    pub(super) group_name: String,
    #[prost(double, tag = "5")]
    pub(super) start_time_secs: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct SessionEndInfo {
    /// 1 = STATUS_SUCCESS, 2 = STATUS_FAILURE.
    #[prost(int32, tag = "1")]
    pub(super) status: i32,
    #[prost(double, tag = "2")]
    pub(super) end_time_secs: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Experiment {
    #[prost(string, tag = "6")]
    pub(super) name: String,
    #[prost(string, tag = "1")]
    pub(super) description: String,
    #[prost(double, tag = "3")]
    pub(super) time_created_secs: f64,
    #[prost(message, repeated, tag = "4")]
    pub(super) hparam_infos: Vec<HParamInfo>,
    #[prost(message, repeated, tag = "5")]
    pub(super) metric_infos: Vec<MetricInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct HParamInfo {
    #[prost(string, tag = "1")]
    pub(super) name: String,
    /// 1 = DATA_TYPE_STRING, 2 = DATA_TYPE_BOOL, 3 = DATA_TYPE_FLOAT64.
    #[prost(int32, tag = "4")]
    pub(super) r#type: i32,
    #[prost(message, optional, tag = "5")]
    pub(super) domain_discrete: Option<ListValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct MetricInfo {
    #[prost(message, optional, tag = "1")]
    pub(super) name: Option<MetricName>,
    #[prost(string, tag = "3")]
    pub(super) display_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct MetricName {
    #[prost(string, tag = "1")]
    pub(super) group: String,
    #[prost(string, tag = "2")]
    pub(super) tag: String,
}

/// `google.protobuf.Value` (the kinds the HParams plugin uses).
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct ProtoValue {
    #[prost(oneof = "ProtoKind", tags = "2, 3, 4")]
    pub(super) kind: Option<ProtoKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(super) enum ProtoKind {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    Text(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct ListValue {
    #[prost(message, repeated, tag = "1")]
    pub(super) values: Vec<ProtoValue>,
}

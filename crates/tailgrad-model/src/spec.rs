//! The architecture of an MLP as it appears in a config.

use serde::{Deserialize, Serialize};
use tailgrad_init::InitSpec;

/// Non-linearity between layers (none after the last layer: it outputs logits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    Tanh,
    Relu,
    Linear,
}

impl Activation {
    pub fn apply<const D: usize>(self, x: burn::tensor::Tensor<D>) -> burn::tensor::Tensor<D> {
        match self {
            Activation::Tanh => crate::fast_tanh::tanh(x),
            Activation::Relu => burn::tensor::activation::relu(x),
            Activation::Linear => x,
        }
    }
}

/// A fully connected network `input -> hidden[0] -> ... -> classes`, checked: no hidden width 0,
/// one `layer_init` law per layer. Built only through validation (`TryFrom<RawMlpSpec>`, serde),
/// so the fields are private (read with getters) and a struct literal does not compile outside
/// this crate:
///
/// ```compile_fail,E0451
/// use tailgrad_model::{Activation, MlpSpec};
/// let init = tailgrad_init::InitSpec::stable(2.0, 1.0).unwrap();
/// let bad = MlpSpec { input: 4, hidden: vec![0], classes: 2, activation: Activation::Tanh, bias: false, init, layer_init: None };
/// ```
///
/// ```
/// use tailgrad_model::{MlpSpec, RawMlpSpec};
/// let init = tailgrad_init::InitSpec::stable(2.0, 1.0).unwrap();
/// let bad = RawMlpSpec { hidden: Some(vec![8, 0]), ..RawMlpSpec::new(init) };
/// assert_eq!(MlpSpec::try_from(bad).unwrap_err().to_string(), "model: every hidden width must be > 0");
/// let ok = MlpSpec::try_from(RawMlpSpec { depth: Some(2), width: Some(8), ..RawMlpSpec::new(init) }).unwrap();
/// assert_eq!(ok.with_sizes(784, 10).widths(), [784, 8, 8, 10]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawMlpSpec", into = "RawMlpSpec")]
pub struct MlpSpec {
    input: usize,
    hidden: Vec<usize>,
    classes: usize,
    activation: Activation,
    bias: bool,
    init: InitSpec,
    layer_init: Option<Vec<InitSpec>>,
}

/// The `[model]` section as written, before its checks. In a config, the hidden layers are either
/// listed (`hidden = [512, 512]`) or given as `depth` x `width` (`depth = 6`, `width = 512`: six
/// hidden layers of 512).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMlpSpec {
    /// Input width (absent or 0: taken from the dataset).
    #[serde(default)]
    pub input: Option<usize>,
    /// The hidden layers' widths, input side first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
    /// The number of hidden layers, with `width`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// The width of every hidden layer, with `depth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// Output width (absent or 0: the dataset's number of classes).
    #[serde(default)]
    pub classes: Option<usize>,
    #[serde(default)]
    pub activation: Activation,
    /// Biases (initialized to zero). The papers tailgrad reproduces use none.
    #[serde(default)]
    pub bias: bool,
    /// The law of every layer's weights, unless `layer_init` overrides it.
    pub init: InitSpec,
    /// One law per layer (input layer first), when layers differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_init: Option<Vec<InitSpec>>,
}

impl RawMlpSpec {
    /// A network with no hidden layer, sizes from the data and `init` for its weights.
    pub fn new(init: InitSpec) -> Self {
        Self { input: None, hidden: None, depth: None, width: None, classes: None, activation: Activation::Tanh, bias: false, init, layer_init: None }
    }
}

/// Why a model spec or a saved model was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model: {0}")]
    Spec(String),
    #[error("model file {path}: {problem}")]
    File { path: String, problem: String },
    #[error(transparent)]
    Write(#[from] tailgrad_rundir::RunDirError),
}

impl TryFrom<RawMlpSpec> for MlpSpec {
    type Error = ModelError;

    /// The rules every spec keeps: either `hidden` or `depth` and `width`, no hidden width 0, one
    /// `layer_init` law per layer.
    fn try_from(raw: RawMlpSpec) -> Result<Self, ModelError> {
        let hidden = match (raw.hidden, raw.depth, raw.width) {
            (Some(h), None, None) => h,
            (None, Some(d), Some(w)) => vec![w; d],
            (None, None, None) => vec![],
            _ => return Err(ModelError::Spec("give either `hidden = [..]` or both `depth` and `width`".into())),
        };
        if hidden.contains(&0) {
            return Err(ModelError::Spec("every hidden width must be > 0".into()));
        }
        if let Some(inits) = &raw.layer_init
            && inits.len() != hidden.len() + 1
        {
            return Err(ModelError::Spec(format!(
                "`layer_init` has {} entries but the network has {} layers",
                inits.len(),
                hidden.len() + 1
            )));
        }
        Ok(MlpSpec {
            // 0 = "take it from the dataset": the trainer fills it in before building the net.
            input: raw.input.unwrap_or(0),
            hidden,
            classes: raw.classes.unwrap_or(0),
            activation: raw.activation,
            bias: raw.bias,
            init: raw.init,
            layer_init: raw.layer_init,
        })
    }
}

impl From<MlpSpec> for RawMlpSpec {
    fn from(spec: MlpSpec) -> Self {
        RawMlpSpec {
            input: Some(spec.input),
            hidden: Some(spec.hidden),
            depth: None,
            width: None,
            classes: Some(spec.classes),
            activation: spec.activation,
            bias: spec.bias,
            init: spec.init,
            layer_init: spec.layer_init,
        }
    }
}

impl MlpSpec {
    /// Input width (0: not yet taken from the data).
    pub fn input(&self) -> usize {
        self.input
    }

    /// The hidden layers' widths, input side first.
    pub fn hidden(&self) -> &[usize] {
        &self.hidden
    }

    /// Output width (0: not yet taken from the data).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The non-linearity between layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Whether the layers have biases.
    pub fn bias(&self) -> bool {
        self.bias
    }

    /// The law of every layer's weights, unless [`MlpSpec::layer_init`] overrides it.
    pub fn init(&self) -> InitSpec {
        self.init
    }

    /// One law per layer (input layer first), when layers differ.
    pub fn layer_init(&self) -> Option<&[InitSpec]> {
        self.layer_init.as_deref()
    }

    /// The same network with its input and output widths set (the trainer takes them from the
    /// data; [`crate::Mlp::init`] refuses a 0).
    pub fn with_sizes(self, input: usize, classes: usize) -> Self {
        Self { input, classes, ..self }
    }

    /// Layer widths `[input, hidden.., classes]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.input];
        w.extend(&self.hidden);
        w.push(self.classes);
        w
    }

    /// The initializer of layer `l` (0 = the input layer).
    pub fn init_of(&self, l: usize) -> &InitSpec {
        self.layer_init.as_ref().map_or(&self.init, |v| &v[l])
    }

    /// Checks the sizes once the dataset has filled in `input` and `classes`.
    pub fn check_sizes(&self) -> Result<(), ModelError> {
        if self.input == 0 || self.classes == 0 {
            return Err(ModelError::Spec(format!(
                "`input` ({}) and `classes` ({}) must be > 0",
                self.input, self.classes
            )));
        }
        Ok(())
    }
}

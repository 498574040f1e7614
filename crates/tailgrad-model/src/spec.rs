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

/// A fully connected network `input -> hidden[0] -> ... -> classes`.
///
/// In a config, the hidden layers are either listed (`hidden = [512, 512]`) or given as
/// `depth` x `width` (`depth = 6`, `width = 512`: six hidden layers of 512).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawMlpSpec", into = "RawMlpSpec")]
pub struct MlpSpec {
    pub input: usize,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub activation: Activation,
    /// Biases (initialized to zero). The papers tailgrad reproduces use none.
    pub bias: bool,
    /// The law of every layer's weights, unless `layer_init` overrides it.
    pub init: InitSpec,
    /// One law per layer (input layer first), when layers differ.
    pub layer_init: Option<Vec<InitSpec>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMlpSpec {
    #[serde(default)]
    input: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hidden: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    depth: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<usize>,
    #[serde(default)]
    classes: Option<usize>,
    #[serde(default)]
    activation: Activation,
    #[serde(default)]
    bias: bool,
    init: InitSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    layer_init: Option<Vec<InitSpec>>,
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

    fn try_from(raw: RawMlpSpec) -> Result<Self, ModelError> {
        let hidden = match (raw.hidden, raw.depth, raw.width) {
            (Some(h), None, None) => h,
            (None, Some(d), Some(w)) => vec![w; d],
            (None, None, None) => vec![],
            _ => return Err(ModelError::Spec("give either `hidden = [..]` or both `depth` and `width`".into())),
        };
        let spec = MlpSpec {
            // 0 = "take it from the dataset": the trainer fills it in before building the net.
            input: raw.input.unwrap_or(0),
            hidden,
            classes: raw.classes.unwrap_or(0),
            activation: raw.activation,
            bias: raw.bias,
            init: raw.init,
            layer_init: raw.layer_init,
        };
        spec.check()?;
        Ok(spec)
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

    /// The rules every spec keeps, whichever way it was built (a config goes through them when it
    /// is read; [`crate::Mlp::init`] checks them again, so a struct literal that breaks them is
    /// refused, not a panic): no hidden width 0, one `layer_init` law per layer.
    pub fn check(&self) -> Result<(), ModelError> {
        if self.hidden.contains(&0) {
            return Err(ModelError::Spec("every hidden width must be > 0".into()));
        }
        if let Some(inits) = &self.layer_init
            && inits.len() != self.hidden.len() + 1
        {
            return Err(ModelError::Spec(format!(
                "`layer_init` has {} entries but the network has {} layers",
                inits.len(),
                self.hidden.len() + 1
            )));
        }
        Ok(())
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

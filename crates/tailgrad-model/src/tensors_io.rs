//! Named f32 tensors on disk as safetensors (readable from numpy/PyTorch with `safetensors`),
//! written atomically: to a temporary name in the same folder, synced, then renamed, so a crash
//! leaves either the old file or the new one, never half of one.

use crate::ModelError;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

/// A host copy of one tensor: name, shape, row-major values.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl HostTensor {
    /// A host copy of a device tensor.
    pub fn of<const D: usize>(name: impl Into<String>, t: &burn::tensor::Tensor<D>) -> Self {
        let values = t.to_data().convert::<f32>().try_to_vec::<f32>().expect("f32 data");
        HostTensor { name: name.into(), shape: t.dims().to_vec(), values }
    }
}

fn file_error(path: &Path, problem: impl ToString) -> ModelError {
    ModelError::File { path: path.display().to_string(), problem: problem.to_string() }
}

/// Write `tensors` and string `metadata` to `path` atomically.
pub fn save(path: &Path, tensors: &[HostTensor], metadata: HashMap<String, String>) -> Result<(), ModelError> {
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| Ok((t.name.clone(), TensorView::new(Dtype::F32, t.shape.clone(), b).map_err(|e| file_error(path, e))?)))
        .collect::<Result<Vec<_>, ModelError>>()?;
    let data = safetensors::serialize(views, Some(metadata)).map_err(|e| file_error(path, e))?;
    Ok(tailgrad_rundir::io::write_atomically(path, &data)?)
}

/// Read every tensor (which must be f32; sorted by name) and the metadata of a safetensors file.
pub fn load(path: &Path) -> Result<(Vec<HostTensor>, HashMap<String, String>), ModelError> {
    let data = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let file = SafeTensors::deserialize(&data).map_err(|e| file_error(path, format!("not a safetensors file: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(&data).map_err(|e| file_error(path, e))?;
    let mut tensors = Vec::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(file_error(path, format!("tensor `{name}` is {:?}, expected F32", view.dtype())));
        }
        let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        tensors.push(HostTensor { name, shape: view.shape().to_vec(), values });
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((tensors, meta.metadata().clone().unwrap_or_default()))
}

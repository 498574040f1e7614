//! A run's data, loaded once and put on the device, and its model spec with the sizes the data
//! give (`model.input` / `model.classes` = 0: from the data).

use crate::spec::RunSpec;
use anyhow::bail;
use burn::tensor::Device;
use tailgrad_data::DeviceSplit;
use tailgrad_model::MlpSpec;

/// A run's data on the device and its model spec with sizes taken from the data.
pub struct Prepared {
    pub split: tailgrad_data::Split,
    pub model_spec: MlpSpec,
    pub train_set: DeviceSplit,
    pub val_set: Option<DeviceSplit>,
    pub test_set: DeviceSplit,
    /// The test images of the classes that `data.classes` leaves out (the novel concepts).
    pub novel_set: Option<DeviceSplit>,
}

/// Load `spec`'s data once onto `device` and resolve `model.input` / `model.classes` (0 = from
/// the data).
pub fn prepare(spec: &RunSpec, device: &Device) -> anyhow::Result<Prepared> {
    let split = spec.data().load(spec.seed())?;
    let model_spec = model_for(spec, &split)?;
    let upload = |images| DeviceSplit::upload(images, split.dataset, spec.data().normalize(), device);
    let train_set = upload(&split.train);
    let val_set = split.validation.as_ref().map(upload);
    let test_set = upload(&split.test);
    let novel_set = split.novel.as_ref().map(upload);
    Ok(Prepared { split, model_spec, train_set, val_set, test_set, novel_set })
}

/// `spec`'s network for the data of `split`: `model.input` / `model.classes` of 0 are taken from
/// the data; a given `input` must be the images' size and a given `classes` must cover the data's.
pub fn model_for(spec: &RunSpec, split: &tailgrad_data::Split) -> anyhow::Result<MlpSpec> {
    let (features, classes) = (split.train.features(), split.train.classes);
    let given = spec.model();
    let model_spec = given.clone().with_sizes(
        if given.input() == 0 { features } else { given.input() },
        if given.classes() == 0 { classes } else { given.classes() },
    );
    if model_spec.input() != features {
        bail!("config: `model.input` = {} but {} images have {features} values", model_spec.input(), split.dataset);
    }
    if model_spec.classes() < classes {
        bail!("config: `model.classes` = {} but {} has {classes} classes", model_spec.classes(), split.dataset);
    }
    Ok(model_spec)
}

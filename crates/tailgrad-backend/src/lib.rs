//! Which device a run uses: the one place where tailgrad chooses a burn backend.
//!
//! * `cpu`  - burn's `flex` backend (pure Rust, multi-threaded; the CI reference).
//! * `wgpu` - burn's wgpu backend on the best adapter wgpu reports, software ones included
//!   (Mesa's lavapipe in CI). Fails, never falls back, when there is no adapter at all.
//! * `auto` - wgpu on a hardware GPU (discrete, integrated or virtual); otherwise the CPU backend
//!   with a one-line notice. A software adapter such as lavapipe is ~70x slower than `flex` on
//!   tailgrad's MLPs, so `auto` never picks one.
//!
//! `CUBECL_WGPU_DEFAULT_DEVICE` is not consulted: the adapter is chosen here and printed.

use burn::tensor::{Device, DeviceKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::str::FromStr;
use std::task::{Context, Poll, Waker};

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Auto,
    Wgpu,
    Cpu,
}

impl FromStr for BackendChoice {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, BackendError> {
        match s {
            "auto" => Ok(Self::Auto),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            "cpu" | "flex" => Ok(Self::Cpu),
            other => Err(BackendError::Unknown(other.to_string())),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Wgpu => "wgpu",
            Self::Cpu => "cpu",
        })
    }
}

/// One wgpu adapter as wgpu reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adapter {
    pub name: String,
    /// Vulkan, Metal, Dx12, Gl or BrowserWebGpu.
    pub api: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.
    pub kind: wgpu::DeviceType,
}

impl Adapter {
    pub fn is_hardware(&self) -> bool {
        matches!(self.kind, wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu | wgpu::DeviceType::VirtualGpu)
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {:?})", self.name, self.api, self.kind)
    }
}

/// The device a run will use, and a one-line account of why.
#[derive(Clone, Debug)]
pub struct Selected {
    pub device: Device,
    /// `cpu` or `wgpu`: what ends up in the run's spec and summary.
    pub backend: BackendChoice,
    /// e.g. `wgpu: NVIDIA H100 (Vulkan, DiscreteGpu)` or `cpu: flex`.
    pub description: String,
    /// Set when `auto` fell back to the CPU: the notice to print.
    pub notice: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BackendError {
    #[error("backend: unknown backend `{0}` (expected auto, wgpu or cpu)")]
    Unknown(String),
    #[error(
        "backend: wgpu found no adapter at all; install a GPU driver, or Mesa's software Vulkan \
         (Debian: apt-get install mesa-vulkan-drivers libvulkan1), or use --backend cpu"
    )]
    NoAdapter,
}

/// Every adapter wgpu can open on this machine, native APIs (Vulkan/Metal/DX12) before GL.
pub fn adapters() -> Vec<Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let mut found: Vec<Adapter> = block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .map(|a| {
            let info = a.get_info();
            Adapter { name: info.name, api: format!("{:?}", info.backend), kind: info.device_type }
        })
        .collect();
    found.sort_by_key(|a| a.api == "Gl");
    found
}

/// Resolve a choice to a device.
pub fn select(choice: BackendChoice) -> Result<Selected, BackendError> {
    let cpu = |notice: Option<String>| Selected {
        device: Device::flex(),
        backend: BackendChoice::Cpu,
        description: "cpu: flex".into(),
        notice,
    };
    match choice {
        BackendChoice::Cpu => Ok(cpu(None)),
        BackendChoice::Auto => {
            let all = adapters();
            match pick(&all, true) {
                Some((adapter, kind)) => Ok(wgpu_on(adapter, kind)),
                None => {
                    let seen = if all.is_empty() {
                        "none".to_string()
                    } else {
                        all.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                    };
                    Ok(cpu(Some(format!(
                        "note: no hardware GPU adapter (wgpu sees: {seen}); using the CPU backend (flex). \
                         Force a software adapter with --backend wgpu."
                    ))))
                }
            }
        }
        BackendChoice::Wgpu => {
            let all = adapters();
            let (adapter, kind) = pick(&all, false).ok_or(BackendError::NoAdapter)?;
            Ok(wgpu_on(adapter, kind))
        }
    }
}

fn wgpu_on(adapter: &Adapter, kind: DeviceKind) -> Selected {
    Selected {
        device: Device::wgpu(kind),
        backend: BackendChoice::Wgpu,
        description: format!("wgpu: {adapter}"),
        notice: None,
    }
}

/// The preferred adapter (discrete > integrated > virtual > software CPU) and burn's name for it.
fn pick(all: &[Adapter], hardware_only: bool) -> Option<(&Adapter, DeviceKind)> {
    use wgpu::DeviceType::*;
    let order = [DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu];
    let best = order
        .iter()
        .filter(|t| !hardware_only || **t != Cpu)
        .find_map(|t| all.iter().find(|a| a.kind == *t))?;
    let index = all.iter().filter(|a| a.kind == best.kind && a.api == best.api).position(|a| a == best).unwrap_or(0);
    let kind = match best.kind {
        DiscreteGpu => DeviceKind::DiscreteGpu(index),
        IntegratedGpu => DeviceKind::IntegratedGpu(index),
        VirtualGpu => DeviceKind::VirtualGpu(index),
        _ => DeviceKind::Cpu,
    };
    Some((best, kind))
}

/// Drive a future that native wgpu resolves immediately.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::DeviceType;

    fn adapter(name: &str, api: &str, kind: DeviceType) -> Adapter {
        Adapter { name: name.into(), api: api.into(), kind }
    }

    #[test]
    fn auto_prefers_hardware_and_never_a_software_adapter() {
        let lavapipe = adapter("llvmpipe", "Vulkan", DeviceType::Cpu);
        let igpu = adapter("Intel", "Vulkan", DeviceType::IntegratedGpu);
        let dgpu = adapter("H100", "Vulkan", DeviceType::DiscreteGpu);
        assert!(pick(std::slice::from_ref(&lavapipe), true).is_none());
        let only = [lavapipe.clone()];
        let (a, kind) = pick(&only, false).unwrap();
        assert_eq!((a, kind), (&lavapipe, DeviceKind::Cpu));
        let all = [lavapipe.clone(), igpu.clone(), dgpu.clone()];
        assert_eq!(pick(&all, true).unwrap(), (&dgpu, DeviceKind::DiscreteGpu(0)));
        assert_eq!(pick(&all[..2], true).unwrap(), (&igpu, DeviceKind::IntegratedGpu(0)));
    }

    #[test]
    fn choices_parse_and_reject_unknown_names() {
        assert_eq!("auto".parse::<BackendChoice>(), Ok(BackendChoice::Auto));
        assert_eq!("cpu".parse::<BackendChoice>(), Ok(BackendChoice::Cpu));
        assert_eq!("wgpu".parse::<BackendChoice>(), Ok(BackendChoice::Wgpu));
        assert_eq!(
            "cuda".parse::<BackendChoice>().unwrap_err().to_string(),
            "backend: unknown backend `cuda` (expected auto, wgpu or cpu)"
        );
    }
}

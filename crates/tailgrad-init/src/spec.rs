//! `InitSpec`: which law, at what scale, with which fan convention.
//!
//! Written in configs as `{ law = "stable", alpha = 1.5, sigma_w = 1.0 }` and on the command line
//! as `stable:alpha=1.5,sigma=1`. Both go through the same flat [`RawInitSpec`] and the same
//! validation, so an error names the same field whichever way it was written.

use crate::stable::Stable;
use crate::InitError;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The law of the weight entries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Law {
    /// Alpha-stable `S_alpha(beta, c, 0)`; `c = sigma_w (1 / (2 N_eff))^(1/alpha)` (Qu et al. 2022),
    /// so alpha = 2 is a Gaussian of variance `sigma_w^2 / N_eff`.
    Stable { alpha: f64, beta: f64 },
    /// Student-t with `nu` degrees of freedom, scaled by `sigma_w / sqrt(N_eff)`
    /// (variance `sigma_w^2 nu / ((nu - 2) N_eff)` for nu > 2; tail index nu).
    StudentT { nu: f64 },
    /// Cauchy: the stable law at alpha = 1, scale `sigma_w / (2 N_eff)`.
    Cauchy,
    /// Gaussian with standard deviation `sigma_w / sqrt(N_eff)`.
    Gaussian,
    /// Uniform on `(-a, a)`, `a = sigma_w sqrt(3 / N_eff)`: variance `sigma_w^2 / N_eff`.
    Uniform,
    /// Glorot & Bengio (2010) normal: std `sigma_w sqrt(2 / (fan_in + fan_out))` (ignores `fan`).
    Xavier,
    /// He et al. (2015) normal: std `sigma_w sqrt(2 / fan_in)` (ignores `fan`).
    He,
}

/// How the effective width `N_eff` of a dense layer is formed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fan {
    /// `N_eff = sqrt(fan_in * fan_out)`, the convention of Qu, Wardak & Gong (default).
    #[default]
    Geometric,
    /// `N_eff = fan_in`, the convention of random-network (mean-field) studies.
    In,
}

/// A validated initializer: law, scale `sigma_w > 0`, fan convention. Built only through
/// validation (`TryFrom<RawInitSpec>`, `FromStr`, [`InitSpec::stable`], serde), so every value
/// samples without panicking: the fields are private, read with [`InitSpec::law`],
/// [`InitSpec::sigma_w`] and [`InitSpec::fan`]. A struct literal does not compile outside this
/// crate:
///
/// ```compile_fail,E0451
/// use tailgrad_init::{Fan, InitSpec, Law};
/// let bad = InitSpec { law: Law::Stable { alpha: 5.0, beta: 0.0 }, sigma_w: -1.0, fan: Fan::In };
/// ```
///
/// ```
/// use tailgrad_init::{Fan, InitSpec};
/// assert!(InitSpec::stable(5.0, 1.0).is_err(), "alpha outside (0, 2] is refused");
/// let ok = InitSpec::stable(1.5, 1.0).unwrap().with_fan(Fan::In);
/// assert_eq!((ok.sigma_w(), ok.fan()), (1.0, Fan::In));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawInitSpec", into = "RawInitSpec")]
pub struct InitSpec {
    law: Law,
    sigma_w: f64,
    fan: Fan,
}

/// The flat, unvalidated form shared by TOML and the command line.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInitSpec {
    pub law: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan: Option<Fan>,
}

impl InitSpec {
    /// The Gaussian of Qu et al. at scale `sigma_w` (stable with alpha = 2).
    pub fn stable(alpha: f64, sigma_w: f64) -> Result<Self, InitError> {
        Self::try_from(RawInitSpec {
            law: "stable".into(),
            alpha: Some(alpha),
            sigma_w: Some(sigma_w),
            ..Default::default()
        })
    }

    /// The law of the weight entries.
    pub fn law(&self) -> Law {
        self.law
    }

    /// The scale `sigma_w` (> 0).
    pub fn sigma_w(&self) -> f64 {
        self.sigma_w
    }

    /// How the effective width is formed.
    pub fn fan(&self) -> Fan {
        self.fan
    }

    /// The same law and scale under another fan convention (always valid).
    pub fn with_fan(self, fan: Fan) -> Self {
        Self { fan, ..self }
    }

    /// `N_eff` of a `fan_in x fan_out` layer under this spec's convention.
    pub fn n_eff(&self, fan_in: usize, fan_out: usize) -> f64 {
        match self.fan {
            Fan::Geometric => ((fan_in * fan_out) as f64).sqrt(),
            Fan::In => fan_in as f64,
        }
    }

    /// The scale `c` of a `fan_in x fan_out` layer's law, the unit in which diagnostics measure
    /// its weights (`max |W| / c`): the stable scale `sigma_w (1 / (2 N_eff))^(1/alpha)` for the
    /// stable and Cauchy laws (Qu et al.), the standard deviation for the Gaussian, Xavier and He
    /// laws, `sigma_w / sqrt(N_eff)` (the factor on a standard Student-t draw) for Student-t, and
    /// the half-width for the uniform law.
    pub fn scale(&self, fan_in: usize, fan_out: usize) -> f64 {
        let n = self.n_eff(fan_in, fan_out);
        let s = self.sigma_w;
        match self.law {
            Law::Stable { alpha, .. } => s * (1.0 / (2.0 * n)).powf(1.0 / alpha),
            Law::Cauchy => s / (2.0 * n),
            Law::Gaussian | Law::StudentT { .. } => s / n.sqrt(),
            Law::Xavier => s * (2.0 / (fan_in + fan_out) as f64).sqrt(),
            Law::He => s * (2.0 / fan_in as f64).sqrt(),
            Law::Uniform => s * (3.0 / n).sqrt(),
        }
    }

    /// Draw the `fan_in x fan_out` weights of one layer, row-major (burn's `Linear` layout).
    pub fn sample<R: Rng + ?Sized>(&self, fan_in: usize, fan_out: usize, rng: &mut R) -> Vec<f32> {
        let c = self.scale(fan_in, fan_out);
        let mut out = vec![0.0f32; fan_in * fan_out];
        match self.law {
            Law::Stable { alpha, beta } => stable_law(alpha, beta, c).fill_f32(rng, &mut out),
            Law::Cauchy => stable_law(1.0, 0.0, c).fill_f32(rng, &mut out),
            Law::Gaussian | Law::Xavier | Law::He => {
                for x in &mut out {
                    let z: f64 = StandardNormal.sample(rng);
                    *x = (c * z) as f32;
                }
            }
            Law::StudentT { nu } => {
                let t = StudentT::new(nu).expect("nu validated > 0");
                for x in &mut out {
                    *x = ((c * t.sample(rng)) as f32).clamp(f32::MIN, f32::MAX);
                }
            }
            Law::Uniform => {
                for x in &mut out {
                    *x = (c * (2.0 * rng.next_u64() as f64 / u64::MAX as f64 - 1.0)) as f32;
                }
            }
        }
        out
    }

    /// A short label for plots and tables, e.g. `stable a=1.5 s=1`.
    pub fn label(&self) -> String {
        let s = self.sigma_w;
        match self.law {
            Law::Stable { alpha, beta } if beta != 0.0 => format!("stable a={alpha} b={beta} s={s}"),
            Law::Stable { alpha, .. } => format!("stable a={alpha} s={s}"),
            Law::StudentT { nu } => format!("student-t nu={nu} s={s}"),
            other => format!("{} s={s}", Law::name(&other)),
        }
    }
}

/// The stable law of scale `c` (validated parameters).
fn stable_law(alpha: f64, beta: f64, c: f64) -> Stable {
    Stable::new(alpha, beta, c).expect("validated stable parameters")
}

impl Law {
    /// The law's name as configs write it.
    pub fn name(&self) -> &'static str {
        match self {
            Law::Stable { .. } => "stable",
            Law::StudentT { .. } => "student-t",
            Law::Cauchy => "cauchy",
            Law::Gaussian => "gaussian",
            Law::Uniform => "uniform",
            Law::Xavier => "xavier",
            Law::He => "he",
        }
    }

    /// The stability index of the law, or its tail index where that is below 2: alpha for a
    /// stable law (Cauchy: 1), `min(nu, 2)` for Student-t (whose tail `P(|X| > x) ~ x^-nu` is in the
    /// domain of attraction of the alpha = min(nu, 2) stable law), 2 for the Gaussian laws (a
    /// finite variance), None for the uniform (bounded: no tail). Hill's estimator
    /// ([`crate::tail::hill`]) measures the same index on sampled weights.
    pub fn tail_index(&self) -> Option<f64> {
        match *self {
            Law::Stable { alpha, .. } => Some(alpha),
            Law::Cauchy => Some(1.0),
            Law::StudentT { nu } => Some(nu.min(2.0)),
            Law::Gaussian | Law::Xavier | Law::He => Some(2.0),
            Law::Uniform => None,
        }
    }
}

const LAWS: &str = "stable, student-t, cauchy, gaussian, uniform, xavier, he";

impl TryFrom<RawInitSpec> for InitSpec {
    type Error = InitError;

    fn try_from(raw: RawInitSpec) -> Result<Self, InitError> {
        let sigma_w = raw.sigma_w.unwrap_or(1.0);
        if !(sigma_w > 0.0 && sigma_w.is_finite()) {
            return Err(InitError::OutOfRange { field: "sigma_w", value: sigma_w, expected: "finite and > 0" });
        }
        let law_name = raw.law.trim().to_ascii_lowercase();
        let allowed: &[&str] = match law_name.as_str() {
            "stable" => &["alpha", "beta"],
            "student-t" => &["nu"],
            "cauchy" | "gaussian" | "normal" | "uniform" | "xavier" | "glorot" | "he" | "kaiming" => &[],
            _ => return Err(InitError::UnknownLaw { law: raw.law, known: LAWS }),
        };
        for (field, given) in [("alpha", raw.alpha.is_some()), ("beta", raw.beta.is_some()), ("nu", raw.nu.is_some())] {
            if given && !allowed.contains(&field) {
                return Err(InitError::UnexpectedField { law: law_name.clone(), field });
            }
        }
        let law = match law_name.as_str() {
            "stable" => {
                let alpha = raw.alpha.ok_or(InitError::MissingField { law: "stable", field: "alpha" })?;
                let beta = raw.beta.unwrap_or(0.0);
                Stable::new(alpha, beta, 1.0)?;
                Law::Stable { alpha, beta }
            }
            "student-t" => {
                let nu = raw.nu.ok_or(InitError::MissingField { law: "student-t", field: "nu" })?;
                if !(nu > 0.0 && nu.is_finite()) {
                    return Err(InitError::OutOfRange { field: "nu", value: nu, expected: "finite and > 0" });
                }
                Law::StudentT { nu }
            }
            "cauchy" => Law::Cauchy,
            "gaussian" | "normal" => Law::Gaussian,
            "uniform" => Law::Uniform,
            "xavier" | "glorot" => Law::Xavier,
            "he" | "kaiming" => Law::He,
            _ => unreachable!("unknown laws were rejected above"),
        };
        Ok(Self { law, sigma_w, fan: raw.fan.unwrap_or_default() })
    }
}

impl From<InitSpec> for RawInitSpec {
    fn from(spec: InitSpec) -> Self {
        let mut raw = RawInitSpec {
            law: Law::name(&spec.law).into(),
            sigma_w: Some(spec.sigma_w),
            fan: Some(spec.fan),
            ..Default::default()
        };
        match spec.law {
            Law::Stable { alpha, beta } => {
                raw.alpha = Some(alpha);
                raw.beta = (beta != 0.0).then_some(beta);
            }
            Law::StudentT { nu } => raw.nu = Some(nu),
            _ => {}
        }
        raw
    }
}

/// Parses the command-line form `LAW[:key=value,...]`, e.g. `stable:alpha=1.5,sigma=1` or
/// `student-t:nu=3,sigma=0.5,fan=in`. `sigma` and `sigma_w` are synonyms.
impl FromStr for InitSpec {
    type Err = InitError;

    fn from_str(text: &str) -> Result<Self, InitError> {
        let (law, rest) = text.split_once(':').unwrap_or((text, ""));
        let mut raw = RawInitSpec { law: law.to_string(), ..Default::default() };
        for pair in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| InitError::Syntax {
                text: text.to_string(),
                problem: format!("`{pair}` is not key=value"),
            })?;
            let key = key.trim();
            let value = value.trim();
            let number = || {
                value.parse::<f64>().map_err(|_| InitError::Syntax {
                    text: text.to_string(),
                    problem: format!("`{key}` must be a number, got `{value}`"),
                })
            };
            match key {
                "alpha" => raw.alpha = Some(number()?),
                "beta" => raw.beta = Some(number()?),
                "nu" => raw.nu = Some(number()?),
                "sigma" | "sigma_w" => raw.sigma_w = Some(number()?),
                "fan" => {
                    raw.fan = Some(match value {
                        "geometric" => Fan::Geometric,
                        "in" => Fan::In,
                        _ => {
                            return Err(InitError::Syntax {
                                text: text.to_string(),
                                problem: format!("`fan` must be `geometric` or `in`, got `{value}`"),
                            });
                        }
                    })
                }
                _ => {
                    return Err(InitError::Syntax {
                        text: text.to_string(),
                        problem: format!("unknown key `{key}` (expected alpha, beta, nu, sigma, fan)"),
                    });
                }
            }
        }
        InitSpec::try_from(raw)
    }
}

impl fmt::Display for InitSpec {
    /// The command-line form, which [`FromStr`] parses back to the same spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", Law::name(&self.law))?;
        match self.law {
            Law::Stable { alpha, beta } if beta != 0.0 => write!(f, "alpha={alpha},beta={beta},")?,
            Law::Stable { alpha, .. } => write!(f, "alpha={alpha},")?,
            Law::StudentT { nu } => write!(f, "nu={nu},")?,
            _ => {}
        }
        let fan = match self.fan {
            Fan::Geometric => "geometric",
            Fan::In => "in",
        };
        write!(f, "sigma={},fan={fan}", self.sigma_w)
    }
}

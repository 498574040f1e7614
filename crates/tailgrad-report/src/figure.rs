//! Generic x-y figures (one row of panels; lines or points; linear or log axes), PNG and SVG,
//! for the instruments' results (variance vs flatness, Hessian density, loss slices, ...).

use anyhow::Context;
use crate::plot::{PALETTE, register_font};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Line,
    Points,
}

#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
}

#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
}

/// Write `<stem>.png` and `<stem>.svg` into `dir`. Points that a log axis cannot show
/// (<= 0, non-finite) are left out.
pub fn xy_figure(panels: &[Panel], title: &str, dir: &Path, stem: &str) -> anyhow::Result<()> {
    register_font();
    let size = (460 * panels.len().max(1) as u32 + 20, 440);
    let png = dir.join(format!("{stem}.png"));
    draw(BitMapBackend::new(&png, size).into_drawing_area(), panels, title).with_context(|| format!("drawing {}", png.display()))?;
    let svg = dir.join(format!("{stem}.svg"));
    draw(SVGBackend::new(&svg, size).into_drawing_area(), panels, title).with_context(|| format!("drawing {}", svg.display()))?;
    Ok(())
}

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        (lo / 1.3, hi * 1.3)
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-12 + lo.abs() * 1e-3);
        (lo - pad, hi + pad)
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panels: &[Panel], title: &str) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        let keep = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!panel.log_x || x > 0.0) && (!panel.log_y || y > 0.0);
        let series: Vec<(&Series, Vec<(f64, f64)>)> =
            panel.series.iter().map(|s| (s, s.points.iter().copied().filter(keep).collect())).collect();
        let xr = range(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)), panel.log_x);
        let yr = range(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)), panel.log_y);
        let mut builder = ChartBuilder::on(area);
        builder.caption(&panel.title, ("sans-serif", 15)).margin(12).x_label_area_size(34).y_label_area_size(58);
        macro_rules! body {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(panel.x_desc.as_str())
                    .y_desc(panel.y_desc.as_str())
                    .x_label_formatter(&tick)
                    .y_label_formatter(&tick)
                    .light_line_style(WHITE.mix(0.0))
                    .draw()?;
                for (i, (s, pts)) in series.iter().enumerate() {
                    let c = PALETTE[i % PALETTE.len()];
                    let anno = match s.style {
                        Style::Line => chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?,
                        Style::Points => chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?,
                    };
                    anno.label(s.name.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.4))
                    .label_font(("sans-serif", 12))
                    .draw()?;
            }};
        }
        match (panel.log_x, panel.log_y) {
            (false, false) => body!(builder.build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?),
            (true, false) => body!(builder.build_cartesian_2d((xr.0..xr.1).log_scale(), yr.0..yr.1)?),
            (false, true) => body!(builder.build_cartesian_2d(xr.0..xr.1, (yr.0..yr.1).log_scale())?),
            (true, true) => body!(builder.build_cartesian_2d((xr.0..xr.1).log_scale(), (yr.0..yr.1).log_scale())?),
        }
    }
    root.present()?;
    Ok(())
}

/// A tick label: three significant decimals, or `1e-7` style far from 1 (log axes put ticks at
/// values like 9.999999999999998e-8).
fn tick(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-2..1e4).contains(&a) {
        format!("{v:.1e}").replace(".0e", "e")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tick_labels_are_short() {
        let t = |v: f64| super::tick(&v);
        assert_eq!([t(9.999999999999998e-8), t(2.5), t(0.1), t(20000.0), t(0.0), t(1.0)], ["1e-7", "2.5", "0.1", "2e4", "0", "1"]);
    }

    #[test]
    fn a_figure_that_cannot_be_written_names_its_file() {
        // Issue 24, item 8: `report` on a read-only filesystem printed plotters' error alone.
        let tmp = tailgrad_testkit::TempDir::new();
        let blocked = tmp.path().join("not-a-folder");
        std::fs::write(&blocked, b"x").unwrap();
        let panel = super::Panel { series: vec![super::Series { name: "s".into(), points: vec![(0.0, 1.0), (1.0, 2.0)], style: super::Style::Line }], ..Default::default() };
        let e = format!("{:#}", super::xy_figure(&[panel], "t", &blocked, "fig").unwrap_err());
        assert!(e.starts_with(&format!("drawing {}", blocked.join("fig.png").display())), "{e}");
    }
}

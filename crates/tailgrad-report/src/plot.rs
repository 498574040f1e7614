//! Learning-curve figures: one column per panel (e.g. per sigma_w), test accuracy on top and
//! training loss (log scale) below, one colour per series (e.g. per alpha): every seed as a thin
//! line, and the median over seeds as a bold one. A collapsed seed shows as a thin line at
//! chance, not as a band that drags a mean down.

use anyhow::Context;
use crate::aggregate::Group;
use crate::stats::quantile;
use tailgrad_rundir::MetricRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// DejaVu Sans (Bitstream Vera licence, see `assets/`), so PNG text renders on any machine.
pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let font: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        if plotters::style::register_font("sans-serif", FontStyle::Normal, font).is_err() {
            panic!("the bundled DejaVu Sans font does not parse");
        }
    });
}

/// Write `<stem>.png` and `<stem>.svg` into `dir`.
pub fn learning_curves(groups: &[Group], title: &str, dir: &Path, stem: &str) -> anyhow::Result<()> {
    register_font();
    let panels = panel_names(groups);
    let size = ((420 * panels.len().max(1)) as u32 + 40, 760);
    let png = dir.join(format!("{stem}.png"));
    draw(BitMapBackend::new(&png, size).into_drawing_area(), groups, &panels, title).with_context(|| format!("drawing {}", png.display()))?;
    let svg = dir.join(format!("{stem}.svg"));
    draw(SVGBackend::new(&svg, size).into_drawing_area(), groups, &panels, title).with_context(|| format!("drawing {}", svg.display()))?;
    Ok(())
}

fn panel_names(groups: &[Group]) -> Vec<String> {
    let mut panels: Vec<String> = Vec::new();
    for g in groups {
        if !panels.contains(&g.panel) {
            panels.push(g.panel.clone());
        }
    }
    panels
}

/// One quantity of a cell: each seed's curve and the median curve.
struct Lines<'g> {
    group: &'g Group,
    seeds: Vec<Vec<(f64, f64)>>,
    median: Vec<(f64, f64)>,
}

fn lines(group: &Group, f: fn(&MetricRow) -> Option<f64>) -> Lines<'_> {
    let seeds = group.runs.iter().map(|r| r.rows.iter().filter_map(|row| f(row).map(|v| (row.epoch, v))).collect()).collect();
    let median = group.steps(f).into_iter().filter_map(|(_, epoch, v)| quantile(&v, 0.5).map(|m| (epoch, m))).collect();
    Lines { group, seeds, median }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, groups: &[Group], panels: &[String], title: &str) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let areas = root.split_evenly((2, panels.len().max(1)));
    let mut series: Vec<String> = Vec::new();
    for g in groups {
        if !series.contains(&g.series) {
            series.push(g.series.clone());
        }
    }
    let color = |name: &str| PALETTE[series.iter().position(|s| s == name).unwrap_or(0) % PALETTE.len()];
    let x_max = groups.iter().flat_map(|g| g.runs.iter().flat_map(|r| r.rows.iter().map(|row| row.epoch))).fold(1e-9, f64::max);
    let accuracy = |r: &MetricRow| Some(r.test_acc);
    let train_loss = |r: &MetricRow| r.train_loss.filter(|l| *l > 0.0 && l.is_finite());
    for (p, panel) in panels.iter().enumerate() {
        let cells: Vec<&Group> = groups.iter().filter(|g| &g.panel == panel).collect();
        let acc: Vec<Lines> = cells.iter().map(|g| lines(g, accuracy)).collect();
        let loss: Vec<Lines> = cells.iter().map(|g| lines(g, train_loss)).collect();
        let acc_lo = acc.iter().flat_map(|l| l.seeds.iter().flatten().map(|p| p.1)).fold(1.0f64, f64::min).clamp(0.0, 0.9);
        panel_chart(&areas[p], panel, "test accuracy", &acc, x_max, (acc_lo, 1.0), false, &color)?;
        let (lo, hi) = loss.iter().flat_map(|l| l.seeds.iter().flatten().map(|p| p.1)).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let range = if lo < hi { (lo * 0.8, hi * 1.25) } else { (0.01, 10.0) };
        panel_chart(&areas[panels.len() + p], panel, "train loss", &loss, x_max, range, true, &color)?;
    }
    root.present()?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn panel_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &str,
    y_desc: &str,
    cells: &[Lines],
    x_max: f64,
    (y_lo, y_hi): (f64, f64),
    log_y: bool,
    color: &dyn Fn(&str) -> RGBColor,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let mut builder = ChartBuilder::on(area);
    builder.caption(panel, ("sans-serif", 16)).margin(10).x_label_area_size(32).y_label_area_size(52);
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart.configure_mesh().x_desc("epoch").y_desc(y_desc).light_line_style(WHITE.mix(0.0)).draw()?;
            for cell in cells {
                let c = color(&cell.group.series);
                let clamp = |(x, y): (f64, f64)| (x, y.clamp(y_lo, y_hi));
                for seed in &cell.seeds {
                    chart.draw_series(LineSeries::new(seed.iter().copied().map(clamp), c.mix(0.35).stroke_width(1)))?;
                }
                let [_, collapsed, diverged] = cell.group.outcomes();
                let mut label = format!("{} (median of {})", cell.group.series, cell.group.runs.len());
                if collapsed + diverged > 0 {
                    label.push_str(&format!(", {collapsed} collapsed, {diverged} diverged"));
                }
                chart
                    .draw_series(LineSeries::new(cell.median.iter().copied().map(clamp), c.stroke_width(3)))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(3)));
            }
            chart
                .configure_series_labels()
                .position(if log_y { SeriesLabelPosition::UpperRight } else { SeriesLabelPosition::LowerRight })
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 12))
                .draw()?;
        }};
    }
    if log_y {
        body!(builder.build_cartesian_2d(0f64..x_max, (y_lo..y_hi).log_scale())?);
    } else {
        body!(builder.build_cartesian_2d(0f64..x_max, y_lo..y_hi)?);
    }
    Ok(())
}

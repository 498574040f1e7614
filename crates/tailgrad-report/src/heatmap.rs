//! Heat maps over a 2-D grid (e.g. the (alpha, sigma_w) phase diagram of Qu, Wardak & Gong):
//! one panel per quantity, cells coloured on a viridis-like scale and labelled with their value.

use anyhow::Context;
use crate::plot::register_font;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// One quantity over the grid: `values[row][col]` (None = no data, drawn grey), and optionally
/// lines over it (e.g. theories' boundaries).
pub struct HeatPanel {
    pub title: String,
    pub values: Vec<Vec<Option<f64>>>,
    /// How a cell's value is printed.
    pub label: fn(f64) -> String,
    pub lines: Vec<HeatLine>,
}

/// A line over a heat map through points in cell units: `(x, y)` with cell `(col, row)` spanning
/// `[col, col + 1] x [row, row + 1]`; its colour as RGB, solid or dashed.
#[derive(Clone, Debug)]
pub struct HeatLine {
    pub points: Vec<(f64, f64)>,
    pub rgb: (u8, u8, u8),
    pub dashed: bool,
}

/// Anchors of the viridis colour map (matplotlib's, at 0, 1/4, 1/2, 3/4, 1).
const VIRIDIS: [(f64, f64, f64); 5] =
    [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];

fn viridis(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Write `<stem>.png` and `<stem>.svg`: rows labelled by `row_labels` (bottom to top), columns by
/// `col_labels`.
pub fn heat_maps(
    panels: &[HeatPanel],
    (row_name, row_labels): (&str, &[String]),
    (col_name, col_labels): (&str, &[String]),
    title: &str,
    dir: &Path,
    stem: &str,
) -> anyhow::Result<()> {
    register_font();
    let size = (520 * panels.len().max(1) as u32, 480);
    let png = dir.join(format!("{stem}.png"));
    draw(BitMapBackend::new(&png, size).into_drawing_area(), panels, (row_name, row_labels), (col_name, col_labels), title).with_context(|| format!("drawing {}", png.display()))?;
    let svg = dir.join(format!("{stem}.svg"));
    draw(SVGBackend::new(&svg, size).into_drawing_area(), panels, (row_name, row_labels), (col_name, col_labels), title).with_context(|| format!("drawing {}", svg.display()))?;
    Ok(())
}

/// The dashes of the polyline `points` (pixels): pieces `on` long separated by gaps `off` long,
/// the pattern running on across the polyline's corners.
pub(crate) fn dashes(points: &[(i32, i32)], on: f64, off: f64) -> Vec<Vec<(i32, i32)>> {
    let mut pieces = Vec::new();
    let mut current: Vec<(i32, i32)> = Vec::new();
    // Distance left in the current dash (drawing) or gap (not drawing).
    let (mut drawing, mut left) = (true, on);
    for pair in points.windows(2) {
        let (a, b) = ((pair[0].0 as f64, pair[0].1 as f64), (pair[1].0 as f64, pair[1].1 as f64));
        let length = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let at = |t: f64| ((a.0 + t * (b.0 - a.0)).round() as i32, (a.1 + t * (b.1 - a.1)).round() as i32);
        let mut done = 0.0;
        if drawing && current.is_empty() {
            current.push(at(0.0));
        }
        while length - done > left {
            done += left;
            let p = at(done / length);
            if drawing {
                current.push(p);
                pieces.push(std::mem::take(&mut current));
            } else {
                current.push(p);
            }
            drawing = !drawing;
            left = if drawing { on } else { off };
        }
        left -= length - done;
        if drawing {
            current.push(at(1.0));
        }
    }
    if current.len() >= 2 {
        pieces.push(current);
    }
    pieces
}

/// Grid labels sit at the centres of the cells.
fn centre_label(v: &SegmentValue<usize>, labels: &[String]) -> String {
    match v {
        SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    panels: &[HeatPanel],
    (row_name, rows): (&str, &[String]),
    (col_name, cols): (&str, &[String]),
    title: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 18))?;
    for (area, panel) in root.split_evenly((1, panels.len().max(1))).iter().zip(panels) {
        let finite: Vec<f64> = panel.values.iter().flatten().flatten().copied().filter(|v| v.is_finite()).collect();
        let (lo, hi) = finite.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            // A segmented range `0..n` has n + 1 segments: the last index is n - 1.
            .build_cartesian_2d((0..cols.len().max(1) - 1).into_segmented(), (0..rows.len().max(1) - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(cols.len())
            .y_labels(rows.len())
            .x_label_formatter(&|v| centre_label(v, cols))
            .y_label_formatter(&|v| centre_label(v, rows))
            .x_desc(col_name)
            .y_desc(row_name)
            .draw()?;
        for (r, row) in panel.values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let color = match v {
                    Some(v) if v.is_finite() => viridis(if hi > lo { (v - lo) / (hi - lo) } else { 0.5 }),
                    _ => RGBColor(200, 200, 200),
                };
                let corners = [(SegmentValue::Exact(c), SegmentValue::Exact(r)), (SegmentValue::Exact(c + 1), SegmentValue::Exact(r + 1))];
                chart.draw_series(std::iter::once(Rectangle::new(corners, color.filled())))?;
                let text = v.map_or("-".to_string(), panel.label);
                let dark = matches!(v, Some(x) if x.is_finite() && hi > lo && (x - lo) / (hi - lo) < 0.6);
                let style = ("sans-serif", 14)
                    .into_font()
                    .color(if dark { &WHITE } else { &BLACK })
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart.draw_series(std::iter::once(Text::new(text, (SegmentValue::CenterOf(c), SegmentValue::CenterOf(r)), style)))?;
            }
        }
        for line in panel.lines.iter().filter(|l| l.points.len() >= 2) {
            // Pixels of fractional cell positions: interpolate between the integer boundaries.
            let px = |x: f64, y: f64| {
                let (c, r) = (x.floor().max(0.0) as usize, y.floor().max(0.0) as usize);
                let (x0, y0) = chart.backend_coord(&(SegmentValue::Exact(c), SegmentValue::Exact(r)));
                let (x1, y1) = chart.backend_coord(&(SegmentValue::Exact(c + 1), SegmentValue::Exact(r + 1)));
                let (fx, fy) = (x - c as f64, y - r as f64);
                let base = area.get_base_pixel();
                ((x0 as f64 + fx * (x1 - x0) as f64) as i32 - base.0, (y0 as f64 + fy * (y1 - y0) as f64) as i32 - base.1)
            };
            let points: Vec<(i32, i32)> = line.points.iter().map(|&(x, y)| px(x, y)).collect();
            let style = RGBColor(line.rgb.0, line.rgb.1, line.rgb.2).stroke_width(3);
            let pieces = if line.dashed { dashes(&points, 10.0, 6.0) } else { vec![points] };
            for piece in pieces {
                area.draw(&PathElement::new(piece, style))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

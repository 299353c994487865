//! Figures for `nti-gpu run`, as PNG and SVG: one generic [`Figure`] of [`Series`] (lines,
//! lines with a shaded error band, markers with vertical error bars, horizontal reference
//! lines, histogram bars, matrix heatmaps) covers every plot the pipeline writes: the TI
//! integrand ⟨∂_t Ũ⟩(t) per estimator, the training loss (log y), g(r) of generated against
//! reference samples, βF_ex / βμ_ex against density for several methods, convergence and
//! weight diagnostics, the MBAR overlap matrix.
//!
//! Drawing is done by the `plotters` crate through one code path for every backend: into an
//! in-memory RGB buffer (PNG, encoded by the `image` crate) or into SVG text (plotters'
//! `svg_backend`), both written atomically. In the PNG, text uses DejaVu Sans, bundled in
//! `assets/fonts/` and drawn by `ab_glyph` (see `canvas`), so rendering needs no system fonts
//! (no fontconfig); in the SVG every text is a `<text>` element, laid out with the same font
//! metrics, and the viewer's sans-serif font draws it.
//!
//! Axis ranges come from the data (error bars and bands included). Non-finite values, and
//! non-positive ones on a log axis, are skipped: a line is broken there, a point is dropped.
//! A figure with nothing finite to draw is an [`Error::Plot`].
//!
//! ```no_run
//! use nti_gpu::report::plot::{Figure, Series};
//! let t: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
//! let y: Vec<f64> = t.iter().map(|t| 500.0 * (1.0 - (-t / 0.1f64).exp()) - 2000.0 * (-t / 0.02f64).exp()).collect();
//! let err = vec![20.0; t.len()];
//! let fig = Figure::new("TI integrand", "t", "⟨∂_t Ũ⟩")
//!     .with_series(Series::band("reverse SDE", t, y, err));
//! nti_gpu::report::plot::write_png(&fig, std::path::Path::new("integrand.png"))?;
//! # Ok::<(), nti_gpu::Error>(())
//! ```

use std::path::Path;

use image::RgbImage;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{BackendCoord, DrawingErrorKind};

use super::canvas::Canvas;
use crate::error::{Error, Result};

/// Default image width in pixels.
pub const DEFAULT_WIDTH: u32 = 900;
/// Default image height in pixels.
pub const DEFAULT_HEIGHT: u32 = 600;
/// Smallest accepted width; below it the axis labels do not fit.
pub const MIN_WIDTH: u32 = 240;
/// Smallest accepted height; below it the axis labels do not fit.
pub const MIN_HEIGHT: u32 = 180;
/// Largest accepted width or height.
pub const MAX_SIDE: u32 = 8192;
/// Opacity of a band's fill over the white background.
pub const BAND_ALPHA: f64 = 0.25;
/// Series colours, assigned by series index and repeated after ten (Tableau 10).
pub const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// Family named in text styles: the PNG draws every text in the bundled DejaVu Sans (see
/// [`Canvas`]); an SVG viewer uses the first of these it has.
const FONT_FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";
/// Horizontal distance in pixels between the markers of successive point series at the same
/// x, so that several methods' values at one density do not hide each other.
pub const POINT_DODGE_PX: i32 = 8;
/// Default line width in pixels.
pub const LINE_WIDTH: u32 = 2;
const MARKER_RADIUS: i32 = 5;
const CAP_HALF_WIDTH: i32 = 4;

/// A figure: axes, labels and the series drawn on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Title above the plot.
    pub title: String,
    /// Label of the horizontal axis.
    pub x_label: String,
    /// Label of the vertical axis.
    pub y_label: String,
    /// Logarithmic horizontal axis (values ≤ 0 are skipped).
    pub log_x: bool,
    /// Logarithmic vertical axis (values ≤ 0 are skipped).
    pub log_y: bool,
    /// The data, drawn in order; series `i` gets colour [`series_color`]`(i)`.
    pub series: Vec<Series>,
    /// Image width in pixels ([`MIN_WIDTH`]..=[`MAX_SIDE`]).
    pub width: u32,
    /// Image height in pixels ([`MIN_HEIGHT`]..=[`MAX_SIDE`]).
    pub height: u32,
}

/// One labelled data set of a [`Figure`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry; an empty label leaves the series out of the legend.
    pub label: String,
    /// What to draw.
    pub kind: SeriesKind,
    /// Draw the line (of a `Line`, `Band` or `HLine`) dashed, e.g. for a reference curve.
    pub dashed: bool,
    /// Colour; `None`: the palette's colour of the series' index ([`series_color`]).
    pub color: Option<[u8; 3]>,
    /// Line width in pixels; `None`: [`LINE_WIDTH`].
    pub width: Option<u32>,
    /// Opacity of the series' lines and markers over what is below them (1: opaque).
    pub opacity: f64,
}

/// The shape of a [`Series`].
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesKind {
    /// A polyline through `(x, y)` points, in the order given.
    Line(Vec<(f64, f64)>),
    /// A line through `(x[i], y[i])` with the band `y[i] ± err[i]` shaded under it.
    Band {
        /// Abscissae.
        x: Vec<f64>,
        /// Ordinates (the line).
        y: Vec<f64>,
        /// Half-widths of the band (sign ignored).
        err: Vec<f64>,
    },
    /// Markers at `(x[i], y[i])`, with vertical error bars `y[i] ± err[i]` when given. With
    /// several point series in a figure, each is shifted sideways by a few pixels
    /// ([`dodge_px`]) so that values at a shared x stay visible; the horizontal axis leaves
    /// room for the shifted markers at its ends.
    Points {
        /// Abscissae.
        x: Vec<f64>,
        /// Ordinates.
        y: Vec<f64>,
        /// Half-lengths of the error bars (sign ignored), one per point.
        err: Option<Vec<f64>>,
    },
    /// A horizontal line at this y across the whole plot (a target, a reference value); it
    /// widens the vertical axis to include y, not the horizontal one.
    HLine(f64),
    /// Histogram bars: bar `i` covers `[edges[i], edges[i + 1]]` from 0 to `heights[i]`,
    /// shaded and outlined.
    Bars {
        /// Bin edges, ascending (one more than the heights).
        edges: Vec<f64>,
        /// Bar heights.
        heights: Vec<f64>,
    },
    /// A matrix as coloured cells: `values[i][j]` at column j (x = j) and row i (y = i),
    /// white at 0 to dark blue at the largest value, the value written in each cell that is
    /// large enough to hold it. Meant for linear axes; a heatmap has no legend entry.
    Heatmap(Vec<Vec<f64>>),
}

impl Figure {
    /// An empty figure of the default size ([`DEFAULT_WIDTH`] × [`DEFAULT_HEIGHT`]) with
    /// linear axes.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Figure {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log_x: false,
            log_y: false,
            series: Vec::new(),
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
        }
    }

    /// Adds a series (drawn after those already there).
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Makes the vertical axis logarithmic.
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
    }

    /// Makes the horizontal axis logarithmic.
    pub fn log_x(mut self) -> Self {
        self.log_x = true;
        self
    }

    /// Sets the image size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Plot {
            title: self.title.clone(),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        if !(MIN_WIDTH..=MAX_SIDE).contains(&self.width)
            || !(MIN_HEIGHT..=MAX_SIDE).contains(&self.height)
        {
            return Err(self.error(format!(
                "size {}x{} is out of range: width must be {MIN_WIDTH}..={MAX_SIDE} and height \
                 {MIN_HEIGHT}..={MAX_SIDE} pixels (default {DEFAULT_WIDTH}x{DEFAULT_HEIGHT})",
                self.width, self.height
            )));
        }
        for s in &self.series {
            let mismatch = match &s.kind {
                SeriesKind::Line(_) | SeriesKind::HLine(_) => None,
                SeriesKind::Band { x, y, err } => (x.len() != y.len() || x.len() != err.len())
                    .then(|| format!("x, y, err have {}, {}, {}", x.len(), y.len(), err.len())),
                SeriesKind::Points { x, y, err } => (x.len() != y.len()
                    || err.as_ref().is_some_and(|e| e.len() != x.len()))
                .then(|| {
                    format!(
                        "x, y{} have {}, {}{}",
                        if err.is_some() { ", err" } else { "" },
                        x.len(),
                        y.len(),
                        err.as_ref()
                            .map(|e| format!(", {}", e.len()))
                            .unwrap_or_default()
                    )
                }),
                SeriesKind::Bars { edges, heights } => {
                    (edges.len() != heights.len() + 1).then(|| {
                        format!(
                            "{} edges for {} bars (one more edge than bars needed)",
                            edges.len(),
                            heights.len()
                        )
                    })
                }
                SeriesKind::Heatmap(rows) => rows
                    .iter()
                    .any(|r| r.len() != rows[0].len())
                    .then(|| "rows of different lengths".to_string()),
            };
            if let Some(m) = mismatch {
                return Err(self.error(format!(
                    "series `{}`: {m} values; give one value of each per point",
                    s.label
                )));
            }
        }
        Ok(())
    }
}

/// Opacity of a faint series ([`Series::faint`]).
pub const FAINT_OPACITY: f64 = 0.35;

impl Series {
    fn with_kind(label: impl Into<String>, kind: SeriesKind) -> Self {
        Series {
            label: label.into(),
            kind,
            dashed: false,
            color: None,
            width: None,
            opacity: 1.0,
        }
    }

    /// A solid line through `points`.
    pub fn line(label: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Self::with_kind(label, SeriesKind::Line(points.into_iter().collect()))
    }

    /// A line through `(x, y)` with the band `y ± err` shaded.
    pub fn band(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, err: Vec<f64>) -> Self {
        Self::with_kind(label, SeriesKind::Band { x, y, err })
    }

    /// Markers at `(x, y)`, with vertical error bars `± err` if given.
    pub fn points(
        label: impl Into<String>,
        x: Vec<f64>,
        y: Vec<f64>,
        err: Option<Vec<f64>>,
    ) -> Self {
        Self::with_kind(label, SeriesKind::Points { x, y, err })
    }

    /// A horizontal line at `y` across the plot.
    pub fn hline(label: impl Into<String>, y: f64) -> Self {
        Self::with_kind(label, SeriesKind::HLine(y))
    }

    /// Histogram bars over `edges` (one more than `heights`).
    pub fn bars(label: impl Into<String>, edges: Vec<f64>, heights: Vec<f64>) -> Self {
        Self::with_kind(label, SeriesKind::Bars { edges, heights })
    }

    /// The matrix `values` as coloured cells (row i at y = i, column j at x = j).
    pub fn heatmap(values: Vec<Vec<f64>>) -> Self {
        Self::with_kind("", SeriesKind::Heatmap(values))
    }

    /// Draws the line dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Draws the series in colour `rgb` instead of its palette colour.
    pub fn color(mut self, rgb: [u8; 3]) -> Self {
        self.color = Some(rgb);
        self
    }

    /// Draws the lines `px` pixels wide.
    pub fn width(mut self, px: u32) -> Self {
        self.width = Some(px.max(1));
        self
    }

    /// Draws the series thin and see-through ([`FAINT_OPACITY`]), as the raw data under a
    /// smoothed curve.
    pub fn faint(mut self) -> Self {
        self.opacity = FAINT_OPACITY;
        self.width = Some(1);
        self
    }
}

/// The colour of series number `index` (the [`PALETTE`], repeated).
pub fn series_color(index: usize) -> [u8; 3] {
    PALETTE[index % PALETTE.len()]
}

/// The colour a band of series `index` shows where it covers white background.
pub fn band_fill_color(index: usize) -> [u8; 3] {
    series_color(index).map(|c| (f64::from(c) * BAND_ALPHA + 255.0 * (1.0 - BAND_ALPHA)) as u8)
}

/// The colour of a heatmap cell whose value is the fraction `f` (0..=1) of the largest:
/// white to dark blue.
pub fn heat_color(f: f64) -> [u8; 3] {
    const DARK: [f64; 3] = [8.0, 48.0, 107.0];
    let f = if f.is_finite() {
        f.clamp(0.0, 1.0)
    } else {
        0.0
    };
    DARK.map(|d| (255.0 + (d - 255.0) * f).round() as u8)
}

/// Renders the figure into an RGB image of `fig.width` × `fig.height` pixels.
pub fn render(fig: &Figure) -> Result<RgbImage> {
    render_with_frame(fig).map(|(image, _)| image)
}

/// Renders the figure like [`render`] and also returns the [`Frame`] mapping data to pixels.
pub fn render_with_frame(fig: &Figure) -> Result<(RgbImage, Frame)> {
    let (image, mut frames) = render_panels(std::slice::from_ref(fig))?;
    Ok((image, frames.remove(0)))
}

/// Renders the figure as an SVG document of `fig.width` × `fig.height` pixels: the same
/// drawing as [`render`], every line a vector path and every text a `<text>` element.
pub fn render_svg(fig: &Figure) -> Result<String> {
    render_panels_svg(std::slice::from_ref(fig))
}

/// Renders the panels stacked from top to bottom into one image as wide as the widest and
/// as high as all together, with the [`Frame`] of each (in the whole image's pixels).
pub fn render_panels(panels: &[Figure]) -> Result<(RgbImage, Vec<Frame>)> {
    let (ready, (w, h), font) = prepare_panels(panels)?;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    let frames = {
        let root = Canvas::new(&mut buf, (w, h), font).into_drawing_area();
        draw_panels(panels, &ready, root)?
    };
    let image = RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| panels[0].error("internal error: pixel buffer size mismatch"))?;
    Ok((image, frames))
}

/// The SVG of [`render_panels`]' stack.
pub fn render_panels_svg(panels: &[Figure]) -> Result<String> {
    let (ready, size, font) = prepare_panels(panels)?;
    let mut svg = String::new();
    {
        let root = Canvas::svg(&mut svg, size, font).into_drawing_area();
        draw_panels(panels, &ready, root)?;
    }
    Ok(svg)
}

/// Renders the figure to PNG and writes it to `path` atomically (temporary file, then rename),
/// creating the parent directory if needed.
pub fn write_png(fig: &Figure, path: &Path) -> Result<()> {
    let bytes = encode_png(&render(fig)?)
        .map_err(|e| fig.error(format!("PNG encoding for {} failed: {e}", path.display())))?;
    crate::output::write_atomic(path, &bytes)
}

/// Renders the figure to SVG and writes it to `path` atomically.
pub fn write_svg(fig: &Figure, path: &Path) -> Result<()> {
    crate::output::write_atomic(path, render_svg(fig)?.as_bytes())
}

/// Writes the stacked panels as `png_path` (PNG) and, with the same stem, as SVG; returns
/// the SVG's path. Nothing is written when the figure cannot be drawn.
pub fn write_figure(panels: &[Figure], png_path: &Path) -> Result<std::path::PathBuf> {
    let (image, _) = render_panels(panels)?;
    let svg = render_panels_svg(panels)?;
    let bytes = encode_png(&image).map_err(|e| {
        panels[0].error(format!(
            "PNG encoding for {} failed: {e}",
            png_path.display()
        ))
    })?;
    let svg_path = png_path.with_extension("svg");
    crate::output::write_atomic(png_path, &bytes)?;
    crate::output::write_atomic(&svg_path, svg.as_bytes())?;
    Ok(svg_path)
}

fn encode_png(image: &RgbImage) -> image::ImageResult<Vec<u8>> {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes).write_image(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(bytes)
}

/// Where the data went on the image: maps data coordinates to pixels and lists the ticks.
/// Returned by [`render_with_frame`], for tests and for callers that annotate the image.
#[derive(Debug, Clone)]
pub struct Frame {
    x: Axis,
    y: Axis,
    /// Pixel of (x lower end, y lower end) and of (x upper end, y upper end).
    px_lo: (i32, i32),
    px_hi: (i32, i32),
}

impl Frame {
    /// The pixel `(column, row)` at data point `(x, y)`, or `None` if the point is not finite,
    /// not positive on a log axis, or off the image.
    pub fn pixel(&self, x: f64, y: f64) -> Option<(u32, u32)> {
        let (ax, ay) = (self.x.to_axis(x)?, self.y.to_axis(y)?);
        let fx = (ax - self.x.lo) / (self.x.hi - self.x.lo);
        let fy = (ay - self.y.lo) / (self.y.hi - self.y.lo);
        let px = f64::from(self.px_lo.0) + fx * f64::from(self.px_hi.0 - self.px_lo.0);
        let py = f64::from(self.px_lo.1) + fy * f64::from(self.px_hi.1 - self.px_lo.1);
        (px >= 0.0 && py >= 0.0 && px < f64::from(u32::MAX) && py < f64::from(u32::MAX))
            .then_some((px.round() as u32, py.round() as u32))
    }

    /// The plot area in pixels: (left, top, right, bottom), inclusive.
    pub fn plot_area(&self) -> (u32, u32, u32, u32) {
        let c = |v: i32| v.max(0) as u32;
        (
            c(self.px_lo.0),
            c(self.px_hi.1),
            c(self.px_hi.0),
            c(self.px_lo.1),
        )
    }

    /// The horizontal axis range in data units (lower, upper).
    pub fn x_range(&self) -> (f64, f64) {
        self.x.data_range()
    }

    /// The vertical axis range in data units (lower, upper).
    pub fn y_range(&self) -> (f64, f64) {
        self.y.data_range()
    }

    /// The labelled ticks of the horizontal axis: (value in data units, label).
    pub fn x_ticks(&self) -> Vec<(f64, String)> {
        self.x.data_ticks()
    }

    /// The labelled ticks of the vertical axis: (value in data units, label).
    pub fn y_ticks(&self) -> Vec<(f64, String)> {
        self.y.data_ticks()
    }
}

/// A figure ready to draw: its series in axis coordinates and its axes.
struct Ready {
    series: Vec<Prepared>,
    x: Axis,
    y: Axis,
}

/// Checks and prepares every panel; returns them with the size of the stack and the font.
fn prepare_panels(
    panels: &[Figure],
) -> Result<(Vec<Ready>, (u32, u32), &'static ab_glyph::FontRef<'static>)> {
    let Some(first) = panels.first() else {
        return Err(Error::Plot {
            title: String::new(),
            message: "a figure needs at least one panel".into(),
        });
    };
    let font = super::canvas::font().ok_or_else(|| {
        first.error("the bundled font assets/fonts/DejaVuSans.ttf could not be parsed")
    })?;
    let ready = panels.iter().map(prepare).collect::<Result<Vec<_>>>()?;
    let w = panels
        .iter()
        .map(|f| f.width)
        .max()
        .unwrap_or(DEFAULT_WIDTH);
    let h: u32 = panels.iter().map(|f| f.height).sum();
    if h > MAX_SIDE {
        return Err(first.error(format!(
            "the stacked panels are {h} pixels high, more than {MAX_SIDE}"
        )));
    }
    Ok((ready, (w, h), font))
}

/// Checks the figure and computes its series in axis coordinates and its axes.
fn prepare(fig: &Figure) -> Result<Ready> {
    fig.validate()?;
    let x_scale = Scale { log: fig.log_x };
    let y_scale = Scale { log: fig.log_y };
    let mut prepared: Vec<Prepared> = fig
        .series
        .iter()
        .map(|s| Prepared::new(s, x_scale, y_scale))
        .collect();
    let (xs, ys) = extents(&prepared);
    if xs.is_empty() || ys.is_empty() {
        return Err(fig.error(format!(
            "no finite data to plot in {} series (every value is NaN or infinite{}); \
             check the inputs",
            fig.series.len(),
            match (fig.log_x, fig.log_y) {
                (false, false) => "",
                (true, false) => ", or not positive on the log x axis",
                (false, true) => ", or not positive on the log y axis",
                (true, true) => ", or not positive on a log axis",
            }
        )));
    }
    // Room at both ends of x for markers shifted sideways (and their own radius): as a
    // fraction of the plot area's approximate width.
    let n_points = prepared.iter().filter(|s| s.shape == Shape::Points).count();
    let x_pad = if n_points > 0 {
        let px = MARKER_RADIUS + 4 + dodge_px(n_points - 1, n_points).abs();
        f64::from(px) / (0.8 * f64::from(fig.width))
    } else {
        0.0
    };
    let x_axis = Axis::new(x_scale, &xs, (fig.width / 110).max(3) as usize, x_pad);
    let y_axis = Axis::new(y_scale, &ys, (fig.height / 75).max(3) as usize, 0.0);
    for (name, a) in [("x", &x_axis), ("y", &y_axis)] {
        let span = a.hi - a.lo;
        if !(span.is_finite() && span > 0.0 && a.ticks.len() <= 1000) {
            let (lo, hi) = a.data_range();
            return Err(fig.error(format!(
                "the {name} values span {lo:e} … {hi:e}, too wide to draw; check the data for \
                 garbage values"
            )));
        }
    }
    for p in &mut prepared {
        p.clamp_band_lows(y_axis.lo);
    }
    Ok(Ready {
        series: prepared,
        x: x_axis,
        y: y_axis,
    })
}

type PlotError = Box<dyn std::error::Error>;

/// Draws the prepared panels stacked on `root` and presents it.
fn draw_panels<DB: DrawingBackend>(
    panels: &[Figure],
    ready: &[Ready],
    root: DrawingArea<DB, plotters::coord::Shift>,
) -> Result<Vec<Frame>>
where
    DB::ErrorType: 'static,
{
    let fail = |i: usize, e: PlotError| panels[i].error(format!("drawing failed: {e}"));
    root.fill(&WHITE).map_err(|e| fail(0, e.into()))?;
    let mut areas = Vec::with_capacity(panels.len());
    let mut rest = root.clone();
    for fig in &panels[..panels.len() - 1] {
        let (top, bottom) = rest.split_vertically(fig.height as i32);
        areas.push(top);
        rest = bottom;
    }
    areas.push(rest);
    let mut frames = Vec::with_capacity(panels.len());
    for (i, (fig, area)) in panels.iter().zip(areas).enumerate() {
        let area = if fig.width < area.dim_in_pixel().0 {
            area.split_horizontally(fig.width as i32).0
        } else {
            area
        };
        frames.push(draw(fig, &ready[i], &area).map_err(|e| fail(i, e))?);
    }
    root.present().map_err(|e| fail(0, e.into()))?;
    Ok(frames)
}

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&BLACK)
}

/// How series number `i` is drawn: colour, opacity, line width.
#[derive(Debug, Clone, Copy)]
struct Look {
    color: RGBColor,
    opacity: f64,
    width: u32,
}

impl Look {
    fn of(s: &Series, i: usize) -> Self {
        Look {
            color: rgb(s.color.unwrap_or_else(|| series_color(i))),
            opacity: s.opacity.clamp(0.0, 1.0),
            width: s.width.unwrap_or(LINE_WIDTH),
        }
    }

    fn stroke(self) -> ShapeStyle {
        self.color.mix(self.opacity).stroke_width(self.width)
    }
}

fn draw<DB: DrawingBackend>(
    fig: &Figure,
    ready: &Ready,
    root: &DrawingArea<DB, plotters::coord::Shift>,
) -> std::result::Result<Frame, PlotError>
where
    DB::ErrorType: 'static,
{
    let (series, x_axis, y_axis) = (&ready.series, &ready.x, &ready.y);
    let tick_px = 15.0;
    let y_tick_chars = y_axis.ticks.iter().map(|(_, l)| l.chars().count()).max();
    let y_area = (y_tick_chars.unwrap_or(3) as f64 * tick_px * 0.62 + 42.0) as u32;
    let mut builder = ChartBuilder::on(root);
    builder
        .margin_top(12)
        .margin_right(24)
        .margin_left(8)
        .margin_bottom(8)
        .x_label_area_size(56)
        .y_label_area_size(y_area);
    if !fig.title.is_empty() {
        builder.caption(&fig.title, font(22.0));
    }
    let mut chart = builder.build_cartesian_2d(x_axis.clone(), y_axis.clone())?;
    chart
        .configure_mesh()
        .x_desc(fig.x_label.as_str())
        .y_desc(fig.y_label.as_str())
        .axis_desc_style(font(18.0))
        .label_style(font(tick_px))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(240, 240, 240))
        .axis_style(BLACK)
        .draw()?;

    // Areas first (heatmap cells, band fills, bars), so that no fill covers another
    // series' line or markers.
    for (i, s) in series.iter().enumerate() {
        let look = Look::of(&fig.series[i], i);
        match s.shape {
            Shape::Heatmap => {
                for c in &s.cells {
                    let fill = rgb(heat_color(c.value / s.cell_max)).filled();
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(c.x0, c.y0), (c.x1, c.y1)],
                        fill,
                    )))?;
                }
            }
            Shape::Bars => {
                for c in &s.cells {
                    let y0 = c.bottom.unwrap_or(y_axis.lo);
                    let corners = [(c.x0, y0), (c.x1, c.y1)];
                    let fill = look.color.mix(0.45 * look.opacity).filled();
                    chart.draw_series(std::iter::once(Rectangle::new(corners, fill)))?;
                    let edge = look.color.mix(look.opacity).stroke_width(1);
                    chart.draw_series(std::iter::once(Rectangle::new(corners, edge)))?;
                }
            }
            _ => {
                let fill = look.color.mix(BAND_ALPHA).filled();
                for poly in &s.band_polygons {
                    chart.draw_series(std::iter::once(Polygon::new(poly.clone(), fill)))?;
                }
            }
        }
    }
    // The values of heatmap cells large enough to hold them.
    for s in series.iter().filter(|s| s.shape == Shape::Heatmap) {
        for c in &s.cells {
            let (a, b) = (
                chart.backend_coord(&(c.x0, c.y0)),
                chart.backend_coord(&(c.x1, c.y1)),
            );
            if (b.0 - a.0).abs() < 38 || (b.1 - a.1).abs() < 18 {
                continue;
            }
            let dark = c.value / s.cell_max > 0.55;
            let style = font(13.0)
                .pos(Pos::new(HPos::Center, VPos::Center))
                .color(if dark { &WHITE } else { &BLACK });
            let at = (0.5 * (c.x0 + c.x1), 0.5 * (c.y0 + c.y1));
            chart.draw_series(std::iter::once(Text::new(
                format!("{:.2}", c.value),
                at,
                style,
            )))?;
        }
    }

    let n_points = series.iter().filter(|s| s.shape == Shape::Points).count();
    let points_rank: Vec<usize> = series
        .iter()
        .scan(0, |k, s| {
            let rank = *k;
            *k += usize::from(s.shape == Shape::Points);
            Some(rank)
        })
        .collect();
    let mut any_label = false;
    for (i, s) in series.iter().enumerate() {
        let look = Look::of(&fig.series[i], i);
        let line_style = look.stroke();
        let anno = match s.shape {
            Shape::Line | Shape::Band | Shape::HLine => {
                let mut last = None;
                let hline = s.hline.map(|y| vec![(x_axis.lo, y), (x_axis.hi, y)]);
                for seg in s.segments.iter().chain(hline.as_ref()) {
                    let a = if s.dashed {
                        chart.draw_series(DashedLineSeries::new(
                            seg.iter().copied(),
                            9,
                            6,
                            line_style,
                        ))?
                    } else {
                        chart.draw_series(LineSeries::new(seg.iter().copied(), line_style))?
                    };
                    last = Some(a);
                }
                match last {
                    Some(a) => a,
                    None => chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?,
                }
            }
            Shape::Points => {
                // Shifted sideways in pixels, so that series sharing x values stay apart.
                let dx = dodge_px(points_rank[i], n_points);
                chart.draw_series(s.bars.iter().map(|&(x, lo, hi)| ErrorBar {
                    ends: [(x, lo), (x, hi)],
                    dx,
                    style: look.stroke(),
                }))?;
                let kind = GlyphKind::Marker(MarkerShape::for_series(i));
                chart.draw_series(s.segments.iter().flatten().map(|&at| Glyph {
                    at,
                    dx,
                    kind,
                    look,
                }))?
            }
            Shape::Bars | Shape::Heatmap => {
                // Drawn above; the call carries the legend entry.
                chart.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
            }
        };
        if s.label.is_empty() || s.shape == Shape::Heatmap {
            continue;
        }
        any_label = true;
        anno.label(s.label.as_str());
        let kind = match s.shape {
            Shape::Points => GlyphKind::Marker(MarkerShape::for_series(i)),
            Shape::Bars => GlyphKind::BoxSample,
            Shape::Line | Shape::Band | Shape::HLine | Shape::Heatmap => GlyphKind::LineSample {
                dashed: s.dashed,
                band: s.shape == Shape::Band,
            },
        };
        let offset = if s.shape == Shape::Points { 13 } else { 0 };
        anno.legend(move |(x, y)| Glyph {
            at: (x + offset, y),
            dx: 0,
            kind,
            look,
        });
    }

    if any_label {
        chart
            .configure_series_labels()
            .position(legend_position(fig, series, x_axis, y_axis))
            .label_font(font(15.0))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .margin(12)
            .legend_area_size(34)
            .draw()?;
    }

    Ok(Frame {
        x: x_axis.clone(),
        y: y_axis.clone(),
        px_lo: chart.backend_coord(&(x_axis.lo, y_axis.lo)),
        px_hi: chart.backend_coord(&(x_axis.hi, y_axis.hi)),
    })
}

/// Horizontal shift in pixels of the `rank`-th of `count` point series: [`POINT_DODGE_PX`]
/// apart, centred on the true x (no shift for a single point series).
pub fn dodge_px(rank: usize, count: usize) -> i32 {
    if count < 2 {
        return 0;
    }
    let twice = 2 * rank as i32 - (count as i32 - 1);
    twice * POINT_DODGE_PX / 2
}

/// Marker shapes, cycled over series so that point sets differ in shape as well as colour.
#[derive(Debug, Clone, Copy, PartialEq)]
enum MarkerShape {
    Circle,
    Square,
    Triangle,
    Diamond,
    InvertedTriangle,
}

impl MarkerShape {
    fn for_series(i: usize) -> Self {
        [
            MarkerShape::Circle,
            MarkerShape::Square,
            MarkerShape::Triangle,
            MarkerShape::Diamond,
            MarkerShape::InvertedTriangle,
        ][i % 5]
    }
}

/// A vertical error bar with caps from `ends[0]` to `ends[1]`, shifted `dx` pixels sideways.
struct ErrorBar {
    ends: [(f64, f64); 2],
    dx: i32,
    style: ShapeStyle,
}

impl<'a> PointCollection<'a, (f64, f64)> for &'a ErrorBar {
    type Point = &'a (f64, f64);
    type IntoIter = std::slice::Iter<'a, (f64, f64)>;
    fn point_iter(self) -> Self::IntoIter {
        self.ends.iter()
    }
}

impl<DB: DrawingBackend> Drawable<DB> for ErrorBar {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _parent_dim: (u32, u32),
    ) -> std::result::Result<(), DrawingErrorKind<DB::ErrorType>> {
        let (Some(a), Some(b)) = (pos.next(), pos.next()) else {
            return Ok(());
        };
        let (a, b) = ((a.0 + self.dx, a.1), (b.0 + self.dx, b.1));
        backend.draw_line(a, b, &self.style)?;
        for end in [a, b] {
            backend.draw_line(
                (end.0 - CAP_HALF_WIDTH, end.1),
                (end.0 + CAP_HALF_WIDTH, end.1),
                &self.style,
            )?;
        }
        Ok(())
    }
}

/// A marker or a legend sample, drawn in pixels around one anchor point (shifted `dx`
/// pixels sideways).
struct Glyph<C> {
    at: C,
    dx: i32,
    kind: GlyphKind,
    look: Look,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum GlyphKind {
    /// A filled marker centred on the anchor.
    Marker(MarkerShape),
    /// A 26-pixel line sample starting at the anchor, over a shaded box for a band.
    LineSample { dashed: bool, band: bool },
    /// A shaded, outlined box (histogram bars).
    BoxSample,
}

impl<'a, C> PointCollection<'a, C> for &'a Glyph<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for Glyph<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _parent_dim: (u32, u32),
    ) -> std::result::Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else {
            return Ok(());
        };
        let x = x + self.dx;
        let Look {
            color,
            opacity,
            width,
        } = self.look;
        let fill = color.mix(opacity).filled();
        let r = MARKER_RADIUS;
        let poly = |pts: &[(i32, i32)]| {
            pts.iter()
                .map(|&(dx, dy)| (x + dx, y + dy))
                .collect::<Vec<_>>()
        };
        match self.kind {
            GlyphKind::Marker(MarkerShape::Circle) => {
                backend.draw_circle((x, y), r as u32, &fill, true)
            }
            GlyphKind::Marker(MarkerShape::Square) => {
                backend.draw_rect((x - r + 1, y - r + 1), (x + r - 1, y + r - 1), &fill, true)
            }
            GlyphKind::Marker(MarkerShape::Triangle) => {
                backend.fill_polygon(poly(&[(0, -r - 1), (r, r - 1), (-r, r - 1)]), &fill)
            }
            GlyphKind::Marker(MarkerShape::Diamond) => backend.fill_polygon(
                poly(&[(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)]),
                &fill,
            ),
            GlyphKind::Marker(MarkerShape::InvertedTriangle) => {
                backend.fill_polygon(poly(&[(0, r + 1), (r, -r + 1), (-r, -r + 1)]), &fill)
            }
            GlyphKind::BoxSample => {
                let shade = color.mix(0.45 * opacity).filled();
                backend.draw_rect((x, y - 7), (x + 26, y + 7), &shade, true)?;
                backend.draw_rect((x, y - 7), (x + 26, y + 7), &color.mix(opacity), false)
            }
            GlyphKind::LineSample { dashed, band } => {
                if band {
                    let shade = color.mix(BAND_ALPHA).filled();
                    backend.draw_rect((x, y - 7), (x + 26, y + 7), &shade, true)?;
                }
                let stroke = color.mix(opacity).stroke_width(width);
                let gap = if dashed { 3 } else { 0 };
                for (a, b) in [(0, 9 - gap), (9, 18 - gap), (18, 26)] {
                    backend.draw_line((x + a, y), (x + b, y), &stroke)?;
                }
                Ok(())
            }
        }
    }
}

/// Where to put the legend: the corner of the plot area the data crowd least.
fn legend_position(
    fig: &Figure,
    series: &[Prepared],
    x_axis: &Axis,
    y_axis: &Axis,
) -> SeriesLabelPosition {
    let labelled: Vec<&Series> = fig.series.iter().filter(|s| !s.label.is_empty()).collect();
    let chars = labelled
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    // Legend box size as a fraction of the plot area (approximate plot area = 85% × 80%).
    let box_w = ((chars as f64 * 9.0 + 70.0) / (0.85 * f64::from(fig.width))).min(0.9);
    let box_h = ((labelled.len() as f64 * 22.0 + 24.0) / (0.8 * f64::from(fig.height))).min(0.9);
    let corners = [
        (
            SeriesLabelPosition::UpperRight,
            1.0 - box_w,
            1.0,
            1.0 - box_h,
            1.0,
        ),
        (SeriesLabelPosition::UpperLeft, 0.0, box_w, 1.0 - box_h, 1.0),
        (
            SeriesLabelPosition::LowerRight,
            1.0 - box_w,
            1.0,
            0.0,
            box_h,
        ),
        (SeriesLabelPosition::LowerLeft, 0.0, box_w, 0.0, box_h),
    ];
    let mut counts = [0usize; 4];
    let mut count = |ax: f64, ay: f64| {
        let u = (ax - x_axis.lo) / (x_axis.hi - x_axis.lo);
        let v = (ay - y_axis.lo) / (y_axis.hi - y_axis.lo);
        for (k, c) in corners.iter().enumerate() {
            if u >= c.1 && u <= c.2 && v >= c.3 && v <= c.4 {
                counts[k] += 1;
            }
        }
    };
    // Samples along a straight piece, so that a long one counts too.
    let count_segment = |a: (f64, f64), b: (f64, f64), count: &mut dyn FnMut(f64, f64)| {
        for k in 0..16 {
            let f = f64::from(k) / 16.0;
            count(a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1));
        }
    };
    for s in series {
        for poly in &s.band_polygons {
            for p in poly {
                count(p.0, p.1);
            }
        }
        for &(x, lo, hi) in &s.bars {
            for k in 0..=8 {
                count(x, lo + (hi - lo) * f64::from(k) / 8.0);
            }
        }
        for c in &s.cells {
            let y0 = c.bottom.unwrap_or(y_axis.lo);
            for (fx, fy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                count(c.x0 + fx * (c.x1 - c.x0), y0 + fy * (c.y1 - y0));
            }
        }
        if let Some(y) = s.hline {
            count_segment((x_axis.lo, y), (x_axis.hi, y), &mut count);
        }
        for seg in &s.segments {
            if s.shape == Shape::Points {
                seg.iter().for_each(|p| count(p.0, p.1));
                continue;
            }
            for w in seg.windows(2) {
                count_segment(w[0], w[1], &mut count);
            }
            if let Some(p) = seg.last() {
                count(p.0, p.1);
            }
        }
    }
    let best = (0..4).min_by_key(|&k| counts[k]).unwrap_or(0);
    corners[best].0.clone()
}

/// Linear or logarithmic (base 10) mapping between data and axis coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    log: bool,
}

impl Scale {
    /// Axis coordinate of a data value, `None` if it cannot be drawn.
    fn to_axis(self, v: f64) -> Option<f64> {
        if !v.is_finite() || (self.log && v <= 0.0) {
            None
        } else if self.log {
            Some(v.log10())
        } else {
            Some(v)
        }
    }

    fn to_data(self, a: f64) -> f64 {
        if self.log {
            10f64.powf(a)
        } else {
            a
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Line,
    Band,
    Points,
    HLine,
    Bars,
    Heatmap,
}

/// A rectangle of a histogram or heatmap, in axis coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    /// A bar's lower end; `None` where it is below a log axis (the axis' lower end).
    bottom: Option<f64>,
    value: f64,
}

/// A series in axis coordinates, split where values cannot be drawn.
#[derive(Debug, Clone)]
struct Prepared {
    label: String,
    shape: Shape,
    dashed: bool,
    /// Line pieces (for points: one piece holding every drawable point).
    segments: Vec<Vec<(f64, f64)>>,
    /// Closed band outlines: upper bound forwards, then lower bound backwards.
    band_polygons: Vec<Vec<(f64, f64)>>,
    /// Error bars: (x, low, high).
    bars: Vec<(f64, f64, f64)>,
    /// Band or bar lower ends that were not positive on a log y axis: (polygon or bar index,
    /// vertex index) to set to the axis' lower end once it is known.
    log_lows: Vec<(usize, usize)>,
    /// The y of a horizontal line.
    hline: Option<f64>,
    /// Histogram bars or heatmap cells.
    cells: Vec<Cell>,
    /// The largest heatmap value (the darkest colour), positive.
    cell_max: f64,
}

impl Prepared {
    fn new(s: &Series, xs: Scale, ys: Scale) -> Self {
        let mut p = Prepared {
            label: s.label.clone(),
            shape: Shape::Line,
            dashed: s.dashed,
            segments: Vec::new(),
            band_polygons: Vec::new(),
            bars: Vec::new(),
            log_lows: Vec::new(),
            hline: None,
            cells: Vec::new(),
            cell_max: 1.0,
        };
        match &s.kind {
            SeriesKind::Line(pts) => {
                p.segments = split_runs(
                    pts.iter()
                        .map(|&(x, y)| Some((xs.to_axis(x)?, ys.to_axis(y)?))),
                );
            }
            SeriesKind::Band { x, y, err } => {
                p.shape = Shape::Band;
                p.segments = split_runs(
                    x.iter()
                        .zip(y)
                        .map(|(&x, &y)| Some((xs.to_axis(x)?, ys.to_axis(y)?))),
                );
                // (x, upper, lower or None when not positive on a log axis)
                let bounds = x.iter().zip(y).zip(err).map(|((&x, &y), &e)| {
                    let e = e.abs();
                    let ax = xs.to_axis(x)?;
                    let hi = ys.to_axis(y + e)?;
                    if !(y - e).is_finite() {
                        return None;
                    }
                    Some((ax, hi, ys.to_axis(y - e)))
                });
                for run in split_runs(bounds) {
                    if run.len() < 2 {
                        continue;
                    }
                    let k = p.band_polygons.len();
                    let mut poly: Vec<(f64, f64)> = run.iter().map(|&(x, hi, _)| (x, hi)).collect();
                    for &(x, _, lo) in run.iter().rev() {
                        if lo.is_none() {
                            p.log_lows.push((k, poly.len()));
                        }
                        poly.push((x, lo.unwrap_or(f64::NAN)));
                    }
                    p.band_polygons.push(poly);
                }
            }
            SeriesKind::Points { x, y, err } => {
                p.shape = Shape::Points;
                let mut pts = Vec::new();
                for (i, (&x, &y)) in x.iter().zip(y).enumerate() {
                    let (Some(ax), Some(ay)) = (xs.to_axis(x), ys.to_axis(y)) else {
                        continue;
                    };
                    pts.push((ax, ay));
                    let Some(e) = err.as_ref().map(|e| e[i].abs()) else {
                        continue;
                    };
                    let (Some(hi), true) = (ys.to_axis(y + e), (y - e).is_finite()) else {
                        continue;
                    };
                    if e == 0.0 {
                        continue;
                    }
                    let lo = ys.to_axis(y - e);
                    if lo.is_none() {
                        p.log_lows.push((usize::MAX, p.bars.len()));
                    }
                    p.bars.push((ax, lo.unwrap_or(f64::NAN), hi));
                }
                p.segments = vec![pts];
            }
            SeriesKind::HLine(y) => {
                p.shape = Shape::HLine;
                p.hline = ys.to_axis(*y);
            }
            SeriesKind::Bars { edges, heights } => {
                p.shape = Shape::Bars;
                for (w, &h) in edges.windows(2).zip(heights) {
                    let (Some(x0), Some(x1), Some(y1)) =
                        (xs.to_axis(w[0]), xs.to_axis(w[1]), ys.to_axis(h))
                    else {
                        continue;
                    };
                    let bottom = ys.to_axis(0.0);
                    p.cells.push(Cell {
                        x0,
                        x1,
                        y0: bottom.unwrap_or(y1),
                        y1,
                        bottom,
                        value: h,
                    });
                }
            }
            SeriesKind::Heatmap(rows) => {
                p.shape = Shape::Heatmap;
                for (i, row) in rows.iter().enumerate() {
                    for (j, &v) in row.iter().enumerate() {
                        let (x, y) = (j as f64, i as f64);
                        let (Some(x0), Some(x1), Some(y0), Some(y1), true) = (
                            xs.to_axis(x - 0.5),
                            xs.to_axis(x + 0.5),
                            ys.to_axis(y - 0.5),
                            ys.to_axis(y + 0.5),
                            v.is_finite(),
                        ) else {
                            continue;
                        };
                        p.cells.push(Cell {
                            x0,
                            x1,
                            y0,
                            y1,
                            bottom: Some(y0),
                            value: v,
                        });
                    }
                }
                let max = p.cells.iter().map(|c| c.value).fold(0.0, f64::max);
                p.cell_max = if max > 0.0 { max } else { 1.0 };
            }
        }
        p
    }

    /// Every finite axis coordinate, for the axis ranges: x values into `xs`, y into `ys`.
    fn extents(&self, xs: &mut Vec<f64>, ys: &mut Vec<f64>) {
        let lines = self.segments.iter().flatten().copied();
        let bands = self.band_polygons.iter().flatten().copied();
        let bars = self.bars.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
        let cells = self.cells.iter().flat_map(|c| [(c.x0, c.y0), (c.x1, c.y1)]);
        for (x, y) in lines.chain(bands).chain(bars).chain(cells) {
            if x.is_finite() && y.is_finite() {
                xs.push(x);
                ys.push(y);
            }
        }
        ys.extend(self.hline.filter(|y| y.is_finite()));
    }

    /// Sets the lower ends that were below a log axis to the axis' lower end.
    fn clamp_band_lows(&mut self, y_lo: f64) {
        for &(k, i) in &self.log_lows {
            if k == usize::MAX {
                self.bars[i].1 = y_lo;
            } else {
                self.band_polygons[k][i].1 = y_lo;
            }
        }
        for c in &mut self.cells {
            if c.bottom.is_none() {
                c.y0 = y_lo;
            }
        }
    }
}

/// Splits a sequence into maximal runs of drawable (`Some`) items.
fn split_runs<T>(items: impl Iterator<Item = Option<T>>) -> Vec<Vec<T>> {
    let mut runs = vec![Vec::new()];
    for item in items {
        match item {
            Some(v) => runs.last_mut().map(|r| r.push(v)).unwrap_or_default(),
            None => {
                if runs.last().is_some_and(|r| !r.is_empty()) {
                    runs.push(Vec::new());
                }
            }
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// All finite x and y axis coordinates of the figure.
fn extents(series: &[Prepared]) -> (Vec<f64>, Vec<f64>) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for s in series {
        s.extents(&mut xs, &mut ys);
    }
    (xs, ys)
}

/// One axis: its range and labelled ticks, all in axis coordinates (log10 on a log axis).
#[derive(Debug, Clone)]
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    /// Labelled ticks: (axis coordinate, label).
    ticks: Vec<(f64, String)>,
    /// Unlabelled grid lines between the ticks.
    minor: Vec<f64>,
}

/// Fraction of the data span added on each side of an axis.
const PAD: f64 = 0.03;

/// The axis range (axis coordinates) around data from `min` to `max`: [`PAD`] of the span
/// added at each end, or more so that the fraction `room` (below 0.3) of the whole length
/// stays free at each end. A degenerate range (one value, or a span below 1e-9 of the
/// values) gets ±10 % of the value around its middle (±1 around 0; half a decade on a log
/// axis), so that a single point sits in the middle of a readable axis.
fn padded_range(scale: Scale, min: f64, max: f64, room: f64) -> (f64, f64) {
    let span = max - min;
    let scale_of = min.abs().max(max.abs());
    if span > 1e-9 * scale_of && span > 0.0 {
        let f = room.clamp(0.0, 0.3);
        let pad = span * PAD.max(f / (1.0 - 2.0 * f));
        return (min - pad, max + pad);
    }
    let mid = 0.5 * (min + max);
    if scale.log {
        (mid - 0.5, mid + 0.5)
    } else if mid == 0.0 {
        (-1.0, 1.0)
    } else {
        let half = 0.1 * mid.abs();
        (mid - half, mid + half)
    }
}

impl Axis {
    /// An axis covering `values` (finite axis coordinates, not empty) with about
    /// `target_ticks` labelled ticks, and at least the fraction `room` of its length free at
    /// each end (room for markers drawn beside the data).
    fn new(scale: Scale, values: &[f64], target_ticks: usize, room: f64) -> Self {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = padded_range(scale, min, max, room);
        let (ticks, minor) = if scale.log {
            log_ticks(lo, hi, target_ticks)
        } else {
            linear_ticks(lo, hi, target_ticks)
        };
        Axis {
            scale,
            lo,
            hi,
            ticks,
            minor,
        }
    }

    /// The label of the tick at axis coordinate `a` (the nearest tick's).
    fn label(&self, a: f64) -> String {
        self.ticks
            .iter()
            .min_by(|p, q| (p.0 - a).abs().total_cmp(&(q.0 - a).abs()))
            .map(|t| t.1.clone())
            .unwrap_or_default()
    }

    fn to_axis(&self, v: f64) -> Option<f64> {
        self.scale.to_axis(v)
    }

    fn data_range(&self) -> (f64, f64) {
        (self.scale.to_data(self.lo), self.scale.to_data(self.hi))
    }

    fn data_ticks(&self) -> Vec<(f64, String)> {
        self.ticks
            .iter()
            .map(|(a, l)| (self.scale.to_data(*a), l.clone()))
            .collect()
    }
}

/// The axis is its own plotters coordinate: linear in axis coordinates, with our ticks and
/// labels.
impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value - self.lo) / (self.hi - self.lo);
        let px = f64::from(limit.0) + f * f64::from(limit.1 - limit.0);
        px.round().clamp(-1e6, 1e6) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.iter().map(|t| t.0).collect()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Axis {
    fn format(value: &f64) -> String {
        format!("{value}")
    }

    fn format_ext(&self, value: &f64) -> String {
        self.label(*value)
    }
}

/// A "nice" tick step (1, 2, 2.5 or 5 × 10^k) giving about `target` intervals over `span`.
fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Ticks at multiples of a nice step within `[lo, hi]`, labelled with as many decimals as the
/// step needs, and minor grid lines at a fifth of the step.
fn linear_ticks(lo: f64, hi: f64, target: usize) -> (Vec<(f64, String)>, Vec<f64>) {
    let step = nice_step(hi - lo, target);
    let values = multiples(lo, hi, step);
    let fmt = NumberFormat::for_step(step, lo.abs().max(hi.abs()));
    let ticks = values.iter().map(|&v| (v, fmt.format(v))).collect();
    let minor = multiples(lo, hi, step / 5.0)
        .into_iter()
        .filter(|m| values.iter().all(|v| (v - m).abs() > step * 1e-6))
        .collect();
    (ticks, minor)
}

/// The multiples of `step` in `[lo, hi]`, computed from integers so that they do not drift.
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last.max(first - 1))
        .take(10_000)
        .map(|k| if k == 0 { 0.0 } else { k as f64 * step })
        .collect()
}

/// Ticks of a log10 axis over `[lo, hi]` (axis coordinates): decades when the range spans
/// three or more, else 1-2-5 or 1…9 times powers of ten, else linear nice values.
fn log_ticks(lo: f64, hi: f64, target: usize) -> (Vec<(f64, String)>, Vec<f64>) {
    let at = |(d, m): (i64, u32)| (f64::from(m) * 10f64.powi(d as i32)).log10();
    let in_range = |a: f64| a >= lo - 1e-9 && a <= hi + 1e-9;
    let mantissas = |ms: &[u32]| -> Vec<(i64, u32)> {
        (lo.floor() as i64..=hi.ceil() as i64)
            .flat_map(|d| ms.iter().map(move |&m| (d, m)))
            .filter(|&dm| in_range(at(dm)))
            .collect()
    };
    let decades = mantissas(&[1]);
    if decades.len() >= 3 {
        let every = decades.len().div_ceil(target.max(2)) as i64;
        let (major, skipped): (Vec<_>, Vec<_>) =
            decades.iter().partition(|(d, _)| d.rem_euclid(every) == 0);
        let ticks = major
            .iter()
            .map(|&(d, m)| (at((d, m)), mantissa_label(m, d)))
            .collect();
        let minor = if every == 1 {
            mantissas(&[2, 3, 4, 5, 6, 7, 8, 9])
                .into_iter()
                .map(at)
                .collect()
        } else {
            skipped.into_iter().map(at).collect()
        };
        return (ticks, minor);
    }
    for ms in [&[1u32, 2, 5][..], &[1, 2, 3, 4, 5, 6, 7, 8, 9]] {
        let picks = mantissas(ms);
        if picks.len() >= 3 {
            let ticks = picks
                .iter()
                .map(|&(d, m)| (at((d, m)), mantissa_label(m, d)))
                .collect();
            let minor = mantissas(&[1, 2, 3, 4, 5, 6, 7, 8, 9])
                .into_iter()
                .filter(|dm| !picks.contains(dm))
                .map(at)
                .collect();
            return (ticks, minor);
        }
    }
    // Less than about a factor of three: linear ticks in data units, placed on the log axis.
    let (ticks, minor) = linear_ticks(10f64.powf(lo), 10f64.powf(hi), target);
    let to_log = |v: f64| (v > 0.0).then(|| v.log10());
    (
        ticks
            .into_iter()
            .filter_map(|(v, l)| Some((to_log(v)?, l)))
            .collect(),
        minor.into_iter().filter_map(to_log).collect(),
    )
}

/// The label of m × 10^d: plain decimals for moderate exponents, else `me d`.
fn mantissa_label(m: u32, d: i64) -> String {
    if (-4..=5).contains(&d) {
        let v = f64::from(m) * 10f64.powi(d as i32);
        format!("{:.*}", (-d).max(0) as usize, v)
    } else {
        format!("{m}e{d}")
    }
}

/// How to print tick values of one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberFormat {
    /// Fixed point with this many decimals.
    Fixed(usize),
    /// Scientific notation with this many decimals in the mantissa.
    Scientific(usize),
}

impl NumberFormat {
    /// The format for ticks `step` apart, the largest of magnitude `max_abs`.
    fn for_step(step: f64, max_abs: f64) -> Self {
        let step_exp = step.log10().floor() as i32;
        // A step of 2.5 × 10^k needs one digit more than 10^k.
        let extra = i32::from(((step / 10f64.powi(step_exp)) - 2.5).abs() < 1e-9);
        let max_exp = if max_abs > 0.0 {
            max_abs.log10().floor() as i32
        } else {
            0
        };
        if max_exp >= 6 || step_exp <= -5 {
            NumberFormat::Scientific((max_exp - step_exp + extra).max(0) as usize)
        } else {
            NumberFormat::Fixed((extra - step_exp).max(0) as usize)
        }
    }

    fn format(self, v: f64) -> String {
        let s = match self {
            NumberFormat::Fixed(d) => format!("{v:.d$}"),
            NumberFormat::Scientific(_) if v == 0.0 => "0".to_string(),
            NumberFormat::Scientific(d) => format!("{v:.d$e}"),
        };
        // Never print "-0" or "-0.00".
        if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
            s[1..].to_string()
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &[(f64, String)]) -> Vec<&str> {
        ticks.iter().map(|t| t.1.as_str()).collect()
    }

    #[test]
    fn linear_ticks_are_nice_and_labelled_with_the_digits_they_need() {
        let (t, minor) = linear_ticks(-2600.0, 560.0, 8);
        assert_eq!(
            labels(&t),
            ["-2500", "-2000", "-1500", "-1000", "-500", "0", "500"]
        );
        // Minor grid every 100 (-2600…500) except at the 7 majors.
        assert_eq!(minor.len(), 32 - 7, "{minor:?}");
        let (t, _) = linear_ticks(-0.03, 1.03, 8);
        assert_eq!(labels(&t), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let (t, _) = linear_ticks(0.0, 1.0, 4);
        assert_eq!(labels(&t), ["0.00", "0.25", "0.50", "0.75", "1.00"]);
        let (t, _) = linear_ticks(1.0e7, 4.0e7, 3);
        assert_eq!(labels(&t), ["1e7", "2e7", "3e7", "4e7"]);
        let (t, _) = linear_ticks(-3e-6, 3e-6, 3);
        assert_eq!(labels(&t), ["-2e-6", "0", "2e-6"]);
        // Zero is printed "0", never "-0".
        let (t, _) = linear_ticks(-0.3, 0.3, 6);
        assert!(labels(&t).contains(&"0.0") && !labels(&t).iter().any(|l| l.starts_with("-0.0")));
    }

    #[test]
    fn nice_steps() {
        for (span, target, step) in [
            (2500.0, 8, 500.0),
            (1.0, 10, 0.1),
            (1.0, 4, 0.25),
            (7.0, 7, 1.0),
            (0.003, 3, 0.001),
            (90.0, 4, 25.0),
        ] {
            let s = nice_step(span, target);
            assert!(
                (s - step).abs() < 1e-12 * step,
                "span {span}/{target}: {s} not {step}"
            );
        }
    }

    #[test]
    fn log_ticks_choose_decades_or_mantissas() {
        // Nine decades, at most 5 labels: every second decade, skipped ones as grid lines.
        let (t, minor) = log_ticks(-6.1, 3.1, 5);
        assert_eq!(labels(&t), ["1e-6", "0.0001", "0.01", "1", "100"]);
        assert_eq!(minor.len(), 5);
        assert_eq!(t[3].0, 0.0);
        // Three decades: each labelled, 2…9 times them as grid lines (and 0.9 just inside).
        let (t, minor) = log_ticks(-0.05, 2.05, 8);
        assert_eq!(labels(&t), ["1", "10", "100"]);
        assert_eq!(minor.len(), 17);
        // Under two decades: 1-2-5.
        let (t, _) = log_ticks(0.02f64.log10() - 0.01, 0.0, 8);
        assert_eq!(labels(&t), ["0.02", "0.05", "0.1", "0.2", "0.5", "1"]);
        // Half a decade: 1…9.
        let (t, _) = log_ticks(0.2f64.log10(), 0.7f64.log10(), 8);
        assert_eq!(labels(&t), ["0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]);
        // A narrow range: linear ticks in data units.
        let (t, _) = log_ticks(0.95f64.log10(), 1.3f64.log10(), 8);
        assert_eq!(
            labels(&t),
            ["0.95", "1.00", "1.05", "1.10", "1.15", "1.20", "1.25", "1.30"]
        );
        assert!((t[1].0 - 0.0).abs() < 1e-15);
        // Large exponents in scientific form.
        assert_eq!(mantissa_label(2, 7), "2e7");
        assert_eq!(mantissa_label(5, -3), "0.005");
        assert_eq!(mantissa_label(2, 3), "2000");
    }

    #[test]
    fn runs_split_at_undrawable_values() {
        let runs = split_runs([Some(1), None, None, Some(2), Some(3), None].into_iter());
        assert_eq!(runs, vec![vec![1], vec![2, 3]]);
        assert!(split_runs(std::iter::empty::<Option<u8>>()).is_empty());
    }

    #[test]
    fn band_on_log_axis_keeps_its_upper_bound_and_clamps_the_lower() {
        // y − err ≤ 0 for the first two points: their lower bound goes to the axis bottom.
        let s = Series::band(
            "b",
            vec![1.0, 2.0, 3.0],
            vec![1.0, 2.0, 10.0],
            vec![2.0, 2.0, 1.0],
        );
        let mut p = Prepared::new(&s, Scale { log: false }, Scale { log: true });
        assert_eq!(p.band_polygons.len(), 1);
        assert_eq!(p.log_lows.len(), 2);
        p.clamp_band_lows(-1.5);
        let poly = &p.band_polygons[0];
        let expect = [
            3f64.log10(),
            4f64.log10(),
            11f64.log10(),
            9f64.log10(),
            -1.5,
            -1.5,
        ];
        for (v, e) in poly.iter().zip(expect) {
            assert!((v.1 - e).abs() < 1e-12, "{poly:?}");
        }
    }

    #[test]
    fn legend_goes_to_the_emptiest_corner() {
        // Data fill the top right; the legend goes elsewhere (upper left is next in line).
        let fig = Figure::new("t", "x", "y").with_series(Series::line(
            "rising",
            (0..=10).map(|i| (f64::from(i), f64::from(i * i))),
        ));
        let p: Vec<Prepared> = fig
            .series
            .iter()
            .map(|s| Prepared::new(s, Scale { log: false }, Scale { log: false }))
            .collect();
        let (xs, ys) = extents(&p);
        let (xa, ya) = (
            Axis::new(Scale { log: false }, &xs, 8, 0.0),
            Axis::new(Scale { log: false }, &ys, 8, 0.0),
        );
        assert_eq!(
            legend_position(&fig, &p, &xa, &ya),
            SeriesLabelPosition::UpperLeft
        );
        let falling = Figure::new("t", "x", "y").with_series(Series::line(
            "falling",
            (0..=10).map(|i| (f64::from(i), f64::from(100 - i * i))),
        ));
        let p: Vec<Prepared> = falling
            .series
            .iter()
            .map(|s| Prepared::new(s, Scale { log: false }, Scale { log: false }))
            .collect();
        assert_eq!(
            legend_position(&falling, &p, &xa, &ya),
            SeriesLabelPosition::UpperRight
        );
    }
}

//! The drawing surfaces of the plots: plotters' in-memory RGB bitmap backend, with text laid
//! out and rasterised here by `ab_glyph` from the bundled DejaVu Sans, and plotters' SVG
//! backend, whose text stays `<text>` elements but is measured with the same font, so that
//! both lay a figure out alike.
//!
//! Why not plotters' own text path: its `ab_glyph` font backend (0.3.7) ignores each glyph's
//! left side bearing, so letters drift ("TI" drawn as overlapping "Tl", "=" shifted left), and
//! its `ttf` backend needs the system's fonts through fontconfig. This backend draws every
//! string itself (advances, kerning and bearings), honours plotters' anchors and rotations,
//! and needs no font on the system.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// DejaVu Sans (Bitstream Vera licence, see assets/fonts/LICENSE-DejaVu.txt).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The bundled font, parsed once; `None` if the bytes are not a font (a broken build).
pub(crate) fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// A plotters backend that measures text with the bundled font: over an RGB buffer it also
/// draws the text (pixel by pixel), over SVG it hands the text on as `<text>`.
pub(crate) struct Canvas<B> {
    inner: B,
    font: &'static FontRef<'static>,
    /// Rasterise text here (bitmaps) rather than pass it to the inner backend (SVG).
    raster_text: bool,
}

impl<'a> Canvas<BitMapBackend<'a>> {
    /// A canvas over `buf` (RGB, `size.0 * size.1 * 3` bytes).
    pub(crate) fn new(
        buf: &'a mut [u8],
        size: (u32, u32),
        font: &'static FontRef<'static>,
    ) -> Self {
        Canvas {
            inner: BitMapBackend::with_buffer(buf, size),
            font,
            raster_text: true,
        }
    }
}

impl<'a> Canvas<SVGBackend<'a>> {
    /// A canvas writing an SVG document of `size` pixels into `buf` (complete once the
    /// drawing is presented or the canvas dropped).
    pub(crate) fn svg(
        buf: &'a mut String,
        size: (u32, u32),
        font: &'static FontRef<'static>,
    ) -> Self {
        Canvas {
            inner: SVGBackend::with_string(buf, size),
            font,
            raster_text: false,
        }
    }
}

/// Glyphs of one line of text, laid out left to right from the origin at the top of the line.
struct Layout {
    glyphs: Vec<ab_glyph::Glyph>,
    width: f32,
    height: f32,
}

fn layout(font: &FontRef<'static>, size: f64, text: &str) -> Layout {
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let ascent = scaled.ascent();
    let mut caret = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scaled.scale(), point(caret, ascent)));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    Layout {
        glyphs,
        width: caret,
        height: ascent - scaled.descent(),
    }
}

impl<B: DrawingBackend> DrawingBackend for Canvas<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let l = layout(self.font, style.size(), text);
        Ok((l.width.ceil() as u32, l.height.ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        if !self.raster_text {
            return self.inner.draw_text(text, style, pos);
        }
        let l = layout(self.font, style.size(), text);
        let anchor = style.anchor();
        // Offset of the layout's top-left corner from the anchor, before rotation.
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -l.width / 2.0,
            HPos::Right => -l.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -l.height / 2.0,
            VPos::Bottom => -l.height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        for glyph in l.glyphs {
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    // floor(v + 0.5), not round(): round() sends −0.5 and 0.5 to −1 and 1,
                    // which leaves a blank row or column through a glyph straddling 0.
                    let gx = (bounds.min.x + x as f32 + dx + 0.5).floor() as i32;
                    let gy = (bounds.min.y + y as f32 + dy + 0.5).floor() as i32;
                    pixels.push((gx, gy, coverage));
                }
            });
            for (gx, gy, coverage) in pixels {
                let (tx, ty) = transform.transform(gx, gy);
                let (x, y) = (pos.0 + tx, pos.1 + ty);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let c = BackendColor {
                        alpha: color.alpha * f64::from(coverage.min(1.0)),
                        rgb: color.rgb,
                    };
                    self.inner.draw_pixel((x, y), c)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::{FontTransform, IntoFont, TextStyle, BLACK};

    const W: u32 = 200;
    const H: u32 = 80;

    fn style(size: f64) -> TextStyle<'static> {
        ("sans-serif", size).into_font().color(&BLACK)
    }

    /// Columns and rows holding dark pixels after drawing `text` at `pos`.
    fn ink(text: &str, style: &TextStyle<'_>, pos: (i32, i32)) -> (Vec<u32>, Vec<u32>) {
        let mut buf = vec![255u8; (W * H * 3) as usize];
        let mut c = Canvas::new(&mut buf, (W, H), font().unwrap());
        c.draw_text(text, style, pos).unwrap();
        drop(c);
        let (mut cols, mut rows) = (Vec::new(), Vec::new());
        for y in 0..H {
            for x in 0..W {
                if buf[((y * W + x) * 3) as usize] < 128 {
                    cols.push(x);
                    rows.push(y);
                }
            }
        }
        cols.sort_unstable();
        cols.dedup();
        rows.sort_unstable();
        rows.dedup();
        (cols, rows)
    }

    #[test]
    fn glyphs_keep_their_side_bearings() {
        // plotters 0.3.7's own ab_glyph path drops the left side bearing; here the stem of
        // "l" starts at the pen position plus the bearing, and the second glyph of "Tl"
        // after T's advance (and kerning) plus its bearing.
        let f = font().unwrap();
        let scaled = f.as_scaled(PxScale::from(40.0));
        let l = scaled.glyph_id('l');
        let t = scaled.glyph_id('T');
        let (cols, _) = ink("l", &style(40.0), (20, 10));
        let expect = 20.0 + scaled.h_side_bearing(l);
        assert!(
            (f64::from(cols[0]) - f64::from(expect)).abs() <= 1.0,
            "l starts at {} not {expect}",
            cols[0]
        );
        let (cols, _) = ink("Tl", &style(40.0), (20, 10));
        let second =
            20.0 + scaled.h_advance(t) + scaled.kern(t, l) + scaled.h_side_bearing(l) + 0.5;
        // The last column of ink is the stem of l: its right edge.
        let l_right = second + (scaled.h_advance(l) - 2.0 * scaled.h_side_bearing(l));
        let last = f64::from(*cols.last().unwrap());
        assert!(
            (last - f64::from(l_right)).abs() <= 2.0,
            "{last} vs {l_right}"
        );
        // And the estimated width is the sum of the advances.
        let mut pixel = [0u8; 3];
        let c = Canvas::new(&mut pixel, (1, 1), f);
        let (w, h) = c.estimate_text_size("Tl", &style(40.0)).unwrap();
        assert_eq!(
            w,
            (scaled.h_advance(t) + scaled.kern(t, l) + scaled.h_advance(l)).ceil() as u32
        );
        assert_eq!(h, (scaled.ascent() - scaled.descent()).ceil() as u32);
    }

    #[test]
    fn vertically_centred_text_has_no_blank_row() {
        // A centred anchor puts the glyph origin at a half pixel: every row from the top of
        // "8" to its bottom is inked (no gap where the offsets straddle zero).
        for size in [14.0, 15.0, 16.0, 18.0] {
            let centred = style(size).pos(plotters_backend::text_anchor::Pos::new(
                HPos::Right,
                VPos::Center,
            ));
            let (_, rows) = ink("0.50", &centred, (150, 40));
            let span = (rows[rows.len() - 1] - rows[0] + 1) as usize;
            assert_eq!(rows.len(), span, "size {size}: rows {rows:?}");
        }
    }

    #[test]
    fn text_rotates_and_anchors() {
        // "lll" is wide and short; rotated by 270° it is tall and narrow (y axis labels).
        let (cols, rows) = ink("lll", &style(30.0), (100, 10));
        assert!(
            cols.len() < 20 && rows.len() > 18,
            "{} x {}",
            cols.len(),
            rows.len()
        );
        let rotated = style(30.0).transform(FontTransform::Rotate270);
        let (cols, rows) = ink("——", &rotated, (100, 70));
        assert!(
            rows.len() > 2 * cols.len(),
            "rotated: {} cols x {} rows",
            cols.len(),
            rows.len()
        );
        // Anchored at its right end, text ends left of the anchor.
        let right = style(30.0).pos(plotters_backend::text_anchor::Pos::new(
            HPos::Right,
            VPos::Top,
        ));
        let (cols, _) = ink("ll", &right, (150, 10));
        assert!(*cols.last().unwrap() <= 150 && *cols.last().unwrap() > 135);
    }
}

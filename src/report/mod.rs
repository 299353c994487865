//! The report of a run: `report.md` with its tables and diagnostics ([`summary`]), the
//! plotting layer every figure is drawn with ([`plot`]), and the figures of the
//! grand-canonical view ([`grand`]).

mod canvas;
pub mod grand;
pub mod plot;
pub mod summary;

//! Results files and plots of a run.

mod canvas;
pub mod plot;
pub mod summary;

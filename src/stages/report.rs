//! The report stage (step 5 of `nti-gpu run`): `report.md` and the plots, rebuilt from
//! results.json and the sampler records on disk ([`crate::report::summary`]), so it can be
//! redone at any time from a finished or partial output directory.

use crate::error::Result;
use crate::report::summary::{write_report, ReportFiles};
use crate::scene::Scene;
use std::path::Path;

/// Writes the report and plots of `scene`'s output directory `out_dir`.
pub fn report_stage(scene: &Scene, out_dir: &Path) -> Result<ReportFiles> {
    write_report(scene, out_dir)
}

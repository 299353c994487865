//! Progress of the stages on stderr: a bar on a terminal that can draw one, plain lines
//! elsewhere (a pipe, a log file, `TERM=dumb`), and the numbers both print.

use crate::stages::Progress;
use std::time::{Duration, Instant};

/// Longest silence of the plain-text progress between two lines.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// `x` rounded to `digits` significant figures, written plainly (no digit grouping, no
/// exponent): 3189.68 → "3190", 12.345 → "12.3", 0.031234 → "0.0312".
pub fn significant(x: f64, digits: i32) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let round = |x: f64| {
        let magnitude = x.abs().log10().floor() as i32;
        let scale = 10f64.powi(digits - 1 - magnitude);
        (x * scale).round() / scale
    };
    let r = round(x);
    // The magnitude after rounding: 99.96 is "100", not "100.0".
    let decimals = (digits - 1 - r.abs().log10().floor() as i32).max(0) as usize;
    format!("{r:.decimals$}")
}

/// A duration as a person reads it: "0.213 s", "12.3 s", "4 min 05 s", "2 h 03 min".
pub fn duration_text(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    if seconds < 59.95 {
        return format!("{} s", significant(seconds, 3));
    }
    let s = seconds.round() as u64;
    if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

/// Whether stderr is a terminal that draws a progress bar: a terminal, and (on Unix) `TERM`
/// set and not `dumb`, as indicatif requires to draw anything.
pub fn bar_terminal(is_terminal: bool, term: Option<&str>) -> bool {
    let dumb = match term {
        Some(t) => t == "dumb",
        None => cfg!(unix),
    };
    is_terminal && !dumb
}

/// Progress on stderr: a bar where [`bar_terminal`] holds, else [`LogProgress`] lines.
#[derive(Default)]
pub struct Bar {
    bar: Option<indicatif::ProgressBar>,
    log: Option<LogProgress>,
}

impl Bar {
    /// No stage yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Progress for Bar {
    fn start(&mut self, label: &str, total: u64) {
        use std::io::IsTerminal;
        let term = std::env::var("TERM").ok();
        if !bar_terminal(std::io::stderr().is_terminal(), term.as_deref()) {
            let log = LogProgress::new(label, total);
            eprintln!("{}", log.header());
            self.log = Some(log);
            return;
        }
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:>14} [{bar:32}] {pos}/{len} steps  {rate}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", significant(state.per_sec(), 3));
            },
        )
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        self.bar = Some(bar);
    }

    fn set(&mut self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
        if let Some(line) = self.log.as_mut().and_then(|l| l.set(done)) {
            eprintln!("{line}");
        }
    }

    fn set_total(&mut self, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
        }
        if let Some(l) = self.log.as_mut() {
            l.set_total(total);
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
        if let Some(l) = self.log.take() {
            eprintln!("{}", l.finish());
        }
    }
}

/// Plain-text progress of one stage: a line at every tenth of it and at least every
/// [`HEARTBEAT`], with the rate and the time left, and the stage's time at the end.
pub struct LogProgress {
    label: String,
    total: u64,
    /// When the stage started (its time at the end counts from here).
    began: Instant,
    /// The first report (time, steps): the rate is measured from it, so that steps done
    /// before (a resumed stage) or the set-up before the first step do not count.
    first: Option<(Instant, u64)>,
    next_tenth: u64,
    last_line: Instant,
}

impl LogProgress {
    /// A stage of `total` steps, starting now.
    pub fn new(label: &str, total: u64) -> Self {
        let now = Instant::now();
        Self {
            label: label.to_string(),
            total,
            began: now,
            first: None,
            next_tenth: 1,
            last_line: now,
        }
    }

    /// The stage's length became `total` steps: later lines count against it.
    pub fn set_total(&mut self, total: u64) {
        self.total = total;
    }

    /// The line that announces the stage.
    pub fn header(&self) -> String {
        format!("{}: {} steps", self.label, self.total)
    }

    /// `done` steps are done: the line to print, if one is due.
    pub fn set(&mut self, done: u64) -> Option<String> {
        let now = Instant::now();
        let total = self.total.max(1);
        let tenth_due = done * 10 >= self.next_tenth * total;
        let Some((t0, d0)) = self.first else {
            self.first = Some((now, done));
            self.next_tenth = done * 10 / total + 1;
            // No rate from one report; say where the stage stands when it is past a tenth
            // already (a resumed or short stage).
            return tenth_due.then(|| self.line(done, None, now));
        };
        if !(tenth_due || now.duration_since(self.last_line) >= HEARTBEAT) {
            return None;
        }
        self.next_tenth = done * 10 / total + 1;
        let secs = now.duration_since(t0).as_secs_f64();
        let rate = (secs > 0.0 && done > d0).then(|| (done - d0) as f64 / secs);
        Some(self.line(done, rate, now))
    }

    fn line(&mut self, done: u64, rate: Option<f64>, now: Instant) -> String {
        self.last_line = now;
        let mut line = format!("{}: {done}/{}", self.label, self.total);
        if self.total > 0 {
            line.push_str(&format!(
                " ({:.0} %)",
                100.0 * done as f64 / self.total as f64
            ));
        }
        if let Some(rate) = rate {
            let left = self.total.saturating_sub(done) as f64 / rate;
            line.push_str(&format!(
                ", {} steps/s, {} left",
                significant(rate, 3),
                duration_text(left)
            ));
        }
        line
    }

    /// The closing line: the stage's wall time from its start.
    pub fn finish(&self) -> String {
        format!(
            "{}: done in {}",
            self.label,
            duration_text(self.began.elapsed().as_secs_f64())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_three_significant_figures() {
        for (x, text) in [
            (3189.6805, "3190"),
            (12.345, "12.3"),
            (99.96, "100"),
            (1.0, "1.00"),
            (0.031234, "0.0312"),
            (1_234_567.0, "1230000"),
            (0.0, "0"),
        ] {
            assert_eq!(significant(x, 3), text, "{x}");
        }
        assert_eq!(duration_text(0.2134), "0.213 s");
        assert_eq!(duration_text(12.34), "12.3 s");
        assert_eq!(duration_text(245.0), "4 min 05 s");
        assert_eq!(duration_text(7390.0), "2 h 03 min");
    }

    #[test]
    fn a_bar_needs_a_terminal_that_can_draw() {
        assert!(bar_terminal(true, Some("xterm-256color")));
        assert!(!bar_terminal(true, Some("dumb")));
        assert!(!bar_terminal(false, Some("xterm-256color")));
        if cfg!(unix) {
            assert!(!bar_terminal(true, None));
        }
    }

    /// A stage whose length becomes known later counts later lines against it.
    #[test]
    fn a_stage_can_learn_its_length() {
        let mut log = LogProgress::new("sample N=40", 16_000);
        assert_eq!(
            log.set(2_000).as_deref(),
            Some("sample N=40: 2000/16000 (12 %)")
        );
        log.set_total(20_800);
        assert!(log
            .set(20_800)
            .unwrap()
            .starts_with("sample N=40: 20800/20800 (100 %)"));
    }

    /// A short stage whose only report is its last one still reports its whole time.
    #[test]
    fn a_short_stage_reports_its_time_from_its_start() {
        let mut log = LogProgress::new("sample N=10", 120);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            log.set(120).as_deref(),
            Some("sample N=10: 120/120 (100 %)")
        );
        let end = log.finish();
        let secs: f64 = end
            .strip_prefix("sample N=10: done in ")
            .and_then(|s| s.strip_suffix(" s"))
            .unwrap_or_else(|| panic!("{end}"))
            .parse()
            .unwrap();
        assert!((0.06..5.0).contains(&secs), "{end}");
    }

    /// Lines at every tenth, with the rate measured from the first report on.
    #[test]
    fn lines_come_at_tenths_with_the_rate() {
        let mut log = LogProgress::new("train", 1000);
        assert_eq!(log.set(1), None);
        assert_eq!(log.set(50), None);
        std::thread::sleep(Duration::from_millis(20));
        let line = log.set(100).unwrap();
        assert!(
            line.starts_with("train: 100/1000 (10 %), ") && line.contains(" steps/s, "),
            "{line}"
        );
        assert_eq!(log.set(150), None);
        assert!(log.set(210).unwrap().starts_with("train: 210/1000 (21 %)"));
    }
}

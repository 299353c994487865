//! The library's error type. Every variant says what went wrong and, where a user can act,
//! what to do about it.

use std::path::PathBuf;

/// Errors of the nti-gpu library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No GPU adapter (and no software one) could be found.
    #[error(
        "no GPU adapter found{filter}.\n  {hint}\n  Run `nti-gpu info` to list the adapters wgpu can see."
    )]
    NoAdapter {
        /// The filter that was applied, if any (" matching ...").
        filter: String,
        /// What to install or change.
        hint: String,
    },
    /// The device could not be created or lacks a limit we need.
    #[error("GPU device error: {0}")]
    Device(String),
    /// A shader failed to compose, parse or validate.
    #[error("shader `{name}`: {message}")]
    Shader {
        /// Shader file name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The scene file has a syntax error.
    #[error("{path}:{line}:{col}: syntax error: {message}")]
    SceneSyntax {
        /// File name (or `<string>`).
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// Parser message.
        message: String,
    },
    /// A scene field has a bad value.
    #[error("{path}: field `{field}` = {value}: {message}")]
    SceneValue {
        /// File name (or `<string>`).
        path: String,
        /// Dotted path of the field, e.g. `system.box_length`.
        field: String,
        /// The offending value as written.
        value: String,
        /// Allowed range and how to fix it.
        message: String,
    },
    /// The device reported a problem through its status word (NaN, overflow, ...).
    #[error("simulation failed: {0}")]
    Simulation(String),
    /// A file could not be read or written. (The OS error is part of the message, not a
    /// separate cause, so that an error chain prints it once.)
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// The energy model's sizes or inputs do not fit the GPU kernels (see `model::kernels`).
    #[error("energy model: {0}")]
    Model(String),
    /// Another process holds the output directory's lock.
    #[error(
        "output directory {dir} is in use by another nti-gpu ({holder}); wait for it to \
         finish or use another --out (if no nti-gpu is running on it, remove {lock})"
    )]
    Locked {
        /// The output directory.
        dir: PathBuf,
        /// Who holds it, from the lock file.
        holder: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// A data file is malformed or of an unsupported version.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A numerical routine got an argument outside its domain (grids, rules, estimators).
    #[error("`{field}` = {value}: {message}")]
    Argument {
        /// The argument or field, e.g. `time_grid.exponent`.
        field: String,
        /// The offending value.
        value: String,
        /// Allowed range and how to fix it.
        message: String,
    },
    /// A figure could not be drawn (no finite data, a bad size, mismatched series lengths).
    #[error("figure `{title}`: {message}")]
    Plot {
        /// The figure's title.
        title: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A benchmark option (`nti-gpu bench`) names no suite or workload.
    #[error("bench: {0}")]
    Bench(String),
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Argument`] for `field` = `value`.
    pub fn argument(
        field: impl Into<String>,
        value: impl ToString,
        message: impl Into<String>,
    ) -> Self {
        Error::Argument {
            field: field.into(),
            value: value.to_string(),
            message: message.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }
}

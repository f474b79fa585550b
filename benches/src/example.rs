//! Finding the release build of an example binary that a bench runs.

use std::path::{Path, PathBuf};

/// The example `name`: the path in the environment variable `env` when it is set, else
/// `examples/NAME` beside the running bench, where `cargo build --release -p examples --example
/// NAME` puts it for `cargo run --release -p benches`.
///
/// # Errors
///
/// The path looked at, when no file is there.
///
/// ```no_run
/// let exporter = benches::example::locate("eks_to_cloudwatch", "BENCH_EXPORTER")
///     .map_err(|path| format!("not built at {}", path.display()))?;
/// # Ok::<(), String>(())
/// ```
pub fn locate(name: &str, env: &str) -> Result<PathBuf, PathBuf> {
    let path = match std::env::var_os(env) {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default()
            .join("examples")
            .join(name),
    };
    if path.is_file() { Ok(path) } else { Err(path) }
}

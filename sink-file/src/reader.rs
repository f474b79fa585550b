//! Reading an archive back: [`FileArchiveHistory`], and the [`ReadError`] it yields.

use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

mod history;
mod tail;

pub use history::{BlockingRead, DEFAULT_WRITE_DELAY, FileArchiveHistory};

const READ_BUFFER: usize = 64 * 1024;

/// A file being read, and the line reached in it.
struct OpenFile {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    line: u64,
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFile")
            .field("path", &self.path)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// Why an archive, a file or a line of it could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The directory could not be listed.
    #[error("listing the archive {}: {source}; check that the directory exists and is readable", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be opened or read (or its gzip stream is corrupt); the rest of it is
    /// skipped.
    #[error("reading {} at line {line}: {source}; the rest of this file is skipped", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The line being read, from 1; 0 when the file could not be opened.
        line: u64,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A line is not a JSON event; reading goes on with the next line.
    #[error("{}:{line}: not an event: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: u64,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl ReadError {
    /// The directory or file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::List { path, .. }
            | ReadError::Io { path, .. }
            | ReadError::Parse { path, .. } => path,
        }
    }

    /// The line of the file, from 1, when the error is about one.
    pub fn line(&self) -> Option<u64> {
        match self {
            ReadError::Io { line, .. } | ReadError::Parse { line, .. } if *line > 0 => Some(*line),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;

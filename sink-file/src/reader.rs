//! [`FileArchiveReader`]: reads an archive back in the order it was written, line by line.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use event_core::Event;
use flate2::read::MultiGzDecoder;
use jiff::Timestamp;

use crate::config::FileSinkConfig;
use crate::naming::{ArchiveName, Listing};

mod history;
mod tail;

pub use history::{DEFAULT_WRITE_DELAY, FileArchiveHistory};

const READ_BUFFER: usize = 64 * 1024;

/// Reads the events of an archive written by [`FileSink`](crate::FileSink), oldest file first,
/// across rotated and gzipped files.
///
/// It streams: one line in memory at a time. A last line without its `\n` (a write torn by a
/// crash, or one in progress while the sink runs) is skipped and counted in
/// [`torn_lines_skipped`](Self::torn_lines_skipped); the sink cuts it off at its next start and the
/// pipeline sends that batch again. A line that is not an event yields a [`ReadError::Parse`]
/// and reading goes on with the next line; an I/O error yields a [`ReadError::Io`] and reading
/// goes on with the next file.
///
/// Events are yielded as stored: an occurrence resent after a crash or timeout can appear
/// twice. Deduplicate by [`Event::key`] where that matters.
///
/// ```no_run
/// use sink_file::FileArchiveReader;
///
/// let since = "2026-11-24T10:00:00Z".parse()?;
/// let reader = FileArchiveReader::open("/var/lib/event-keeper/archive", "events")?.since(since);
/// for event in reader {
///     let event = event?;
///     println!("{} {} {}", event.last_seen, event.reason, event.message);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a reader does nothing until iterated"]
pub struct FileArchiveReader {
    directory: PathBuf,
    /// Files still to read, oldest first, each with the start of the file after it.
    files: Vec<(ArchiveName, Option<Timestamp>)>,
    next_file: usize,
    current: Option<OpenFile>,
    torn_lines: u64,
}

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

impl FileArchiveReader {
    /// Lists the archive with `prefix` in `directory`; files are opened one at a time as
    /// reading reaches them.
    ///
    /// # Errors
    ///
    /// [`ReadError::List`] when the directory cannot be listed.
    pub fn open(directory: impl Into<PathBuf>, prefix: &str) -> Result<Self, ReadError> {
        let directory = directory.into();
        let list_error = |source| ReadError::List {
            path: directory.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&directory).map_err(list_error)? {
            if let Ok(name) = entry.map_err(list_error)?.file_name().into_string() {
                names.push(name);
            }
        }
        let listed = Listing::from_names(prefix, names).files;
        // A file ends when a later period begins. Files rotated by size share their period's
        // start, so a full file may hold events up to the end of its period, not up to the start
        // of its successor: look past the files with the same start.
        let files = listed
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let end = listed[i + 1..]
                    .iter()
                    .map(ArchiveName::start)
                    .find(|&start| start > name.start());
                (name.clone(), end)
            })
            .collect();
        Ok(FileArchiveReader {
            directory,
            files,
            next_file: 0,
            current: None,
            torn_lines: 0,
        })
    }

    /// Lists the archive that a sink with `config` writes.
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open).
    pub fn from_config(config: &FileSinkConfig) -> Result<Self, ReadError> {
        FileArchiveReader::open(&config.directory, &config.prefix)
    }

    /// Skips the files that were finished before `from`, judging by their names: the rest may
    /// still hold events stored before `from`. Call before reading.
    pub fn since(mut self, from: Timestamp) -> Self {
        self.files
            .retain(|(_, end)| end.is_none_or(|end| end > from));
        self
    }

    /// Skips the files that were started at or after `to`, judging by their names: the rest may
    /// still hold events stored after `to`. Call before reading.
    pub fn until(mut self, to: Timestamp) -> Self {
        self.files.retain(|(name, _)| name.start() < to);
        self
    }

    /// Keeps only the newest `n` files (at least one), for a look at what was written last.
    /// Call before reading.
    pub fn newest(mut self, n: usize) -> Self {
        let keep = n.max(1);
        let skip = self.files.len().saturating_sub(keep);
        self.files.drain(..skip);
        self
    }

    /// The files left to read, oldest first.
    pub fn files(&self) -> impl ExactSizeIterator<Item = &ArchiveName> + '_ {
        self.files[self.next_file.min(self.files.len())..]
            .iter()
            .map(|(name, _)| name)
    }

    /// Torn last lines skipped so far.
    pub fn torn_lines_skipped(&self) -> u64 {
        self.torn_lines
    }

    /// Opens the next file; `None` when every file is read.
    fn open_next(&mut self) -> Option<Result<OpenFile, ReadError>> {
        let (name, _) = self.files.get(self.next_file)?;
        self.next_file += 1;
        let path = self.directory.join(name.to_string());
        let opened = match File::open(&path) {
            Ok(file) => Ok((path, name.is_compressed(), file)),
            // The sink may have compressed the file since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !name.is_compressed() => {
                let twin = self.directory.join(name.to_compressed().to_string());
                match File::open(&twin) {
                    Ok(file) => Ok((twin, true, file)),
                    Err(_) => Err((path, e)),
                }
            }
            Err(e) => Err((path, e)),
        };
        Some(match opened {
            Ok((path, compressed, file)) => {
                let reader: Box<dyn BufRead + Send> = if compressed {
                    Box::new(BufReader::with_capacity(
                        READ_BUFFER,
                        MultiGzDecoder::new(file),
                    ))
                } else {
                    Box::new(BufReader::with_capacity(READ_BUFFER, file))
                };
                Ok(OpenFile {
                    path,
                    reader,
                    line: 0,
                })
            }
            Err((path, source)) => Err(ReadError::Io {
                path,
                line: 0,
                source,
            }),
        })
    }
}

impl Iterator for FileArchiveReader {
    type Item = Result<Event, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        loop {
            let Some(file) = self.current.as_mut() else {
                match self.open_next()? {
                    Ok(file) => self.current = Some(file),
                    Err(error) => return Some(Err(error)),
                }
                continue;
            };
            line.clear();
            file.line += 1;
            match file.reader.read_until(b'\n', &mut line) {
                Ok(0) => self.current = None,
                Ok(_) if line.last() != Some(&b'\n') => {
                    tracing::debug!(sink = "file", path = %file.path.display(), line = file.line, "skipped a torn last line");
                    self.torn_lines += 1;
                    self.current = None;
                }
                Ok(_) if line.trim_ascii().is_empty() => {}
                Ok(_) => {
                    return Some(serde_json::from_slice(&line).map_err(|source| {
                        ReadError::Parse {
                            path: file.path.clone(),
                            line: file.line,
                            source,
                        }
                    }));
                }
                Err(source) => {
                    let error = ReadError::Io {
                        path: file.path.clone(),
                        line: file.line,
                        source,
                    };
                    self.current = None;
                    return Some(Err(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

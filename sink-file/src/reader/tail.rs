//! [`Tail`]: reads an archive line by line and remembers where it stopped, so that the next
//! read starts with what was appended or rotated in since.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;

use event_core::Event;
use flate2::read::MultiGzDecoder;
use jiff::Timestamp;

use super::{OpenFile, READ_BUFFER, ReadError};
use crate::naming::{ArchiveName, Listing};

/// How far into a file reading got: complete lines only.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    /// The file, in its uncompressed form (it may be compressed since).
    name: ArchiveName,
    /// Complete lines consumed, blank ones included.
    lines: u64,
    /// Bytes of those lines.
    bytes: u64,
}

/// A reader of an archive that can be read again for what came since.
///
/// Each [`start`](Self::start) lists the directory and queues the files from the one where the
/// last read stopped (or, the first time, the files that may hold the range); then
/// [`next_event`](Self::next_event) reads them. In the newest file, a last line without its
/// `\n` is a write in progress: it is left for the next read. In an older file it is a torn
/// line and is skipped (counted).
/// A file compressed since it was read is reopened compressed and its lines already read are
/// skipped.
#[derive(Debug)]
pub(crate) struct Tail {
    directory: PathBuf,
    prefix: String,
    /// Files finished before this are not read.
    after: Option<Timestamp>,
    /// Files started after this are not read.
    before: Option<Timestamp>,
    /// Only this many of the newest files in range are read.
    newest: Option<usize>,
    at: Option<Position>,
    queue: Vec<ArchiveName>,
    next_file: usize,
    current: Option<OpenFile>,
    torn: u64,
    /// The line being read, kept between lines for its capacity.
    line: Vec<u8>,
}

impl Tail {
    pub(crate) fn new(directory: PathBuf, prefix: String) -> Self {
        Tail {
            directory,
            prefix,
            after: None,
            before: None,
            newest: None,
            at: None,
            queue: Vec::new(),
            next_file: 0,
            current: None,
            torn: 0,
            line: Vec::new(),
        }
    }

    /// Reads only files that were still being written at `time` or later.
    pub(crate) fn after(&mut self, time: Timestamp) {
        self.after = Some(time);
    }

    /// Reads only files started at or before `time`.
    pub(crate) fn before(&mut self, time: Timestamp) {
        self.before = Some(time);
    }

    /// Reads only the newest `count` files of those in range.
    pub(crate) fn newest(&mut self, count: usize) {
        self.newest = Some(count);
    }

    pub(crate) fn torn_lines(&self) -> u64 {
        self.torn
    }

    /// Lists the directory and queues what is left to read.
    pub(crate) fn start(&mut self) -> Result<(), ReadError> {
        self.current = None;
        self.queue.clear();
        self.next_file = 0;
        let list_error = |source| ReadError::List {
            path: self.directory.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.directory).map_err(list_error)? {
            if let Ok(name) = entry.map_err(list_error)?.file_name().into_string() {
                names.push(name);
            }
        }
        let files = Listing::from_names(&self.prefix, names).files;
        let ends = files.iter().enumerate().map(|(i, name)| {
            // Files started by size within a period share its start: a file was written until
            // the next period at most, not until its successor's (equal) start.
            files[i + 1..]
                .iter()
                .map(ArchiveName::start)
                .find(|start| *start > name.start())
        });
        let in_range = files.iter().zip(ends).filter(|(name, end)| {
            let ends_in_time = self
                .after
                .is_none_or(|after| end.is_none_or(|end| end > after));
            ends_in_time && self.before.is_none_or(|before| name.start() <= before)
        });
        let resume = self.at.as_ref().map(|at| at.name.clone());
        self.queue = in_range
            .map(|(name, _)| name.clone())
            .filter(|name| resume.as_ref().is_none_or(|at| name.to_plain() >= *at))
            .collect();
        if let Some(newest) = self.newest {
            let older = self.queue.len().saturating_sub(newest);
            self.queue.drain(..older);
        }
        Ok(())
    }

    /// The next event of the files queued by [`start`](Self::start); `None` when they are read.
    pub(crate) fn next_event(&mut self) -> Option<Result<Event, ReadError>> {
        loop {
            let Some(file) = self.current.as_mut() else {
                match self.open_next()? {
                    Ok(file) => self.current = Some(file),
                    Err(error) => return Some(Err(error)),
                }
                continue;
            };
            self.line.clear();
            let newest = self.next_file == self.queue.len();
            match file.reader.read_until(b'\n', &mut self.line) {
                Ok(0) => self.current = None,
                Ok(_) if self.line.last() != Some(&b'\n') => {
                    if !newest {
                        tracing::debug!(sink = "file", path = %file.path.display(), line = file.line + 1, "skipped a torn last line");
                        self.torn += 1;
                    }
                    self.current = None;
                }
                Ok(read) => {
                    file.line += 1;
                    if let Some(at) = self.at.as_mut() {
                        at.lines += 1;
                        at.bytes += read as u64;
                    }
                    if self.line.trim_ascii().is_empty() {
                        continue;
                    }
                    // One check of the whole line's UTF-8, not one per string of it.
                    let parsed = match std::str::from_utf8(&self.line) {
                        Ok(text) => serde_json::from_str(text),
                        Err(_) => serde_json::from_slice(&self.line),
                    };
                    return Some(parsed.map_err(|source| ReadError::Parse {
                        path: file.path.clone(),
                        line: file.line,
                        source,
                    }));
                }
                Err(source) => {
                    let error = ReadError::Io {
                        path: file.path.clone(),
                        line: file.line + 1,
                        source,
                    };
                    self.current = None;
                    return Some(Err(error));
                }
            }
        }
    }

    /// Opens the next queued file where reading stopped in it, if it did.
    fn open_next(&mut self) -> Option<Result<OpenFile, ReadError>> {
        let name = self.queue.get(self.next_file)?.clone();
        self.next_file += 1;
        let resume = match &self.at {
            Some(at) if at.name == name.to_plain() => (at.lines, at.bytes),
            _ => {
                self.at = Some(Position {
                    name: name.to_plain(),
                    lines: 0,
                    bytes: 0,
                });
                (0, 0)
            }
        };
        Some(self.open(&name, resume))
    }

    fn open(&self, name: &ArchiveName, (lines, bytes): (u64, u64)) -> Result<OpenFile, ReadError> {
        let io_error = |path: &PathBuf, line, source| ReadError::Io {
            path: path.clone(),
            line,
            source,
        };
        let plain = self.directory.join(name.to_plain().to_string());
        if !name.is_compressed() {
            match File::open(&plain) {
                Ok(mut file) => {
                    // Appended to in place: go straight to where the last read stopped.
                    file.seek(SeekFrom::Start(bytes))
                        .map_err(|e| io_error(&plain, lines + 1, e))?;
                    return Ok(OpenFile {
                        path: plain,
                        reader: Box::new(BufReader::with_capacity(READ_BUFFER, file)),
                        line: lines,
                    });
                }
                // The sink compressed it since it was listed or last read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&plain, 0, e)),
            }
        }
        let path = self.directory.join(name.to_compressed().to_string());
        let file = File::open(&path).map_err(|e| io_error(&path, 0, e))?;
        let mut reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(
            READ_BUFFER,
            MultiGzDecoder::new(file),
        ));
        skip_lines(&mut reader, lines).map_err(|e| io_error(&path, lines, e))?;
        Ok(OpenFile {
            path,
            reader,
            line: lines,
        })
    }
}

/// Reads past `count` lines.
fn skip_lines(reader: &mut Box<dyn BufRead + Send>, count: u64) -> io::Result<()> {
    let mut line = Vec::new();
    for _ in 0..count {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
    }
    Ok(())
}

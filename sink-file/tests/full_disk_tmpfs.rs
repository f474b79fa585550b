//! End to end on a real, tiny tmpfs: a full disk is retryable, and once space is freed the same
//! batch is stored exactly once, with no half line left behind.
//!
//! Mounting needs privileges; where they are missing the test prints why and passes.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use event_core::testing::sample_event;
use event_core::{Event, Sink, SinkError};
use sink_file::{FileArchiveReader, FileSink, FileSinkConfig, Rotation};

/// A tmpfs mounted on a temporary directory, unmounted on drop.
struct TinyTmpfs {
    mount_point: tempfile::TempDir,
}

impl TinyTmpfs {
    fn mount(size: &str) -> Option<Self> {
        let mount_point = tempfile::tempdir().ok()?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(mount_point.path())
            .output();
        match output {
            Ok(output) if output.status.success() => Some(TinyTmpfs { mount_point }),
            Ok(output) => {
                println!(
                    "skipped: cannot mount a tmpfs here: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("skipped: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.mount_point.path()
    }
}

impl Drop for TinyTmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(self.path()).status();
        }
    }
}

fn batch(prefix: &str, count: usize) -> Vec<Event> {
    (0..count)
        .map(|i| sample_event(&format!("{prefix}{i}"), i as u64 + 1, "payments"))
        .collect()
}

/// Writes to `path` until the file system is full.
fn fill(path: &PathBuf) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = [b'x'; 512];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::StorageFull => break,
            Err(e) => panic!("filling the tmpfs: {e}"),
        }
    }
}

fn stored(archive: &Path) -> Vec<String> {
    FileArchiveReader::open(archive, "events")
        .unwrap()
        .map(|e| e.unwrap().uid)
        .collect()
}

#[tokio::test]
async fn a_full_tmpfs_is_retryable_and_the_batch_is_stored_once_after_space_is_freed() {
    let Some(tmpfs) = TinyTmpfs::mount("64k") else {
        return;
    };
    let archive = tmpfs.path().join("archive");
    let config = FileSinkConfig::new(&archive).rotation(Rotation::NEVER);
    let mut sink = FileSink::new(config).unwrap();
    let (first, second) = (batch("a", 10), batch("b", 20));
    sink.send(&first).await.unwrap();

    let file = std::fs::read_dir(&archive)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let length_before = std::fs::metadata(&file).unwrap().len();
    let filler = tmpfs.path().join("filler");
    fill(&filler);
    let error = sink.send(&second).await.unwrap_err();
    assert!(matches!(error, SinkError::Retryable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("free space on {}", archive.display())),
        "{message}"
    );
    let content = std::fs::read(&file).unwrap();
    assert_eq!(
        content.len() as u64,
        length_before,
        "cut back to before the batch"
    );
    assert_eq!(content.last(), Some(&b'\n'), "no half line left behind");
    assert_eq!(stored(&archive).len(), first.len());

    std::fs::remove_file(&filler).unwrap();
    sink.send(&second).await.unwrap();
    let expected: Vec<String> = first.iter().chain(&second).map(|e| e.uid.clone()).collect();
    assert_eq!(stored(&archive), expected);
}

//! A small file system that can be filled, for the disk-full fault tests: a tmpfs mounted on a
//! temporary directory. Mounting needs root (or `CAP_SYS_ADMIN`), as in CI and the developer
//! machines here; elsewhere [`Tmpfs::mount_or_skip`] fails the test in CI and says it skipped
//! outside CI (see [`crate::skip`]). The file sink's own fault seam (`sink-file/src/fs.rs`) is private to its unit
//! tests, which cover partial writes and failed syncs one by one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs, unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`, e.g. `2m`) on a new temporary directory;
    /// `None` when this process may not mount.
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }

    /// Mounts a tmpfs as [`mount`](Self::mount) does; when that is impossible, fails `test` in
    /// CI and returns `None` elsewhere, saying that `test` was skipped and why
    /// ([`crate::skip::skip`]).
    ///
    /// # Panics
    ///
    /// In CI when no tmpfs can be mounted.
    pub fn mount_or_skip(test: &str, size: &str) -> Option<Tmpfs> {
        match Tmpfs::try_mount(size) {
            Ok(tmpfs) => Some(tmpfs),
            Err(why) => {
                crate::skip::skip(
                    test,
                    &format!(
                        "cannot mount a {size} tmpfs ({why}); run the tests as root or with CAP_SYS_ADMIN"
                    ),
                );
                None
            }
        }
    }

    /// Mounts a tmpfs as [`mount`](Self::mount) does; the error says why it could not (what
    /// `mount` printed, or why it did not run).
    pub fn try_mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("could not run mount: {e}"))?;
        if output.status.success() {
            Ok(Tmpfs { dir })
        } else {
            Err(format!(
                "mount exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system with `filler` until a write fails for want of space; returns its
    /// path. Remove it to free the space again.
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler created");
        let block = vec![0u8; 4096];
        loop {
            match file.write(&block) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        // Single bytes too, so that not even a small write fits.
        while file.write(&[0]).is_ok_and(|n| n == 1) {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

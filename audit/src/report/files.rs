//! The files a run writes, and the ones it holds aside while it runs.
//!
//! Why it is shaped this way:
//! - **A report or evidence file is whole or absent.** `--output` and
//!   `--save-inventory` are written to `<path>.partial` in the same directory and
//!   renamed over `<path>` only when complete ([`PartialFile::commit`]; a rename
//!   within one file system replaces the file at once, POSIX `rename(2)`). A run
//!   that fails, is killed or is stopped by Ctrl-C leaves the previous report as it
//!   was, never a truncated CSV that silently lacks accounts or a JSON file
//!   without its end; a failed run removes its `.partial` file, a killed one
//!   leaves it, named so.
//! - **What is held aside leaves nothing behind.** The findings of a JSON or OCSF
//!   report, and the accounts done before an earlier one, are held in files of
//!   the temporary directory (`$TMPDIR`, else `/tmp`), created new and readable by
//!   their owner only, and unlinked at once ([`held_file`]): only the open handle
//!   keeps them, so the space is given back when the run ends, however it ends.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file written aside and renamed over its path when complete.
#[derive(Debug)]
pub struct PartialFile {
    path: PathBuf,
    partial: PathBuf,
    /// Written in place: the path is a device, a pipe or a symbolic link
    /// (`/dev/null`, `/dev/stdout`, `>(gzip)`, `latest.csv -> reports/x.csv`),
    /// which a rename would replace with a regular file.
    direct: bool,
    file: Option<BufWriter<std::fs::File>>,
}

impl PartialFile {
    /// Starts `<path>.partial`, or writes `path` itself when it exists and is not
    /// a regular file; a directory is refused at once, before any work. `what`
    /// names the file in errors (`the report`).
    pub fn create(path: &Path, what: &str) -> io::Result<Self> {
        let direct = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    format!(
                        "{what} cannot be written to {}: it is a directory; name a file in it",
                        path.display()
                    ),
                ));
            }
            Ok(meta) => !meta.file_type().is_file(),
            Err(_) => false,
        };
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(".partial");
        let partial = if direct {
            path.to_owned()
        } else {
            path.with_file_name(name)
        };
        let file = std::fs::File::create(&partial).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "writing {what} to {}: {e}; check the directory exists and is writable",
                    partial.display()
                ),
            )
        })?;
        Ok(Self {
            path: path.to_owned(),
            partial,
            direct,
            file: Some(BufWriter::new(file)),
        })
    }

    /// Flushes the file and renames it over the path: the previous file stays
    /// until this one is complete. A file written in place is only flushed.
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            if self.direct {
                return file.flush();
            }
            let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
            file.sync_all()?;
        }
        std::fs::rename(&self.partial, &self.path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "renaming {} to {}: {e}",
                    self.partial.display(),
                    self.path.display()
                ),
            )
        })
    }

    fn file(&mut self) -> io::Result<&mut BufWriter<std::fs::File>> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was committed"))
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for PartialFile {
    /// Not committed: the run failed; its part of a file is removed.
    fn drop(&mut self) {
        if self.file.take().is_some() && !self.direct {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// A new file of the temporary directory, readable by its owner only, already
/// unlinked: `what` names it in errors. Read it back through a clone of the
/// handle (`try_clone`, the same offset) after seeking to its start.
pub fn held_file(what: &str) -> io::Result<std::fs::File> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = std::env::temp_dir().join(format!(
        "audit-{}-{nanos}-{}.{what}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "creating the file {} for {what}: {e}; set TMPDIR to a writable directory",
                path.display()
            ),
        )
    })?;
    // Unlinked at once: nothing is left behind, even when the run is killed.
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Seek as _};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("audit-files-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn a_device_or_a_link_is_written_in_place_and_a_directory_refused_at_once() {
        let dir = scratch("in-place");
        // A symbolic link stays a link; its target gets the report.
        let target = dir.join("x.csv");
        std::fs::write(&target, "old").expect("target");
        let link = dir.join("latest.csv");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).expect("link");
        let mut file = PartialFile::create(&link, "the report").expect("create");
        file.write_all(b"new").expect("write");
        file.commit().expect("commit");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).expect("target"), "new");
        assert!(!dir.join("latest.csv.partial").exists());
        // A device: written, never replaced.
        let mut null = PartialFile::create(Path::new("/dev/null"), "the report").expect("null");
        null.write_all(b"x").expect("write");
        null.commit().expect("commit");
        assert!(
            !std::fs::symlink_metadata("/dev/null")
                .expect("null")
                .file_type()
                .is_file()
        );
        // A directory: refused before anything is written.
        let error = PartialFile::create(&dir, "the report").expect_err("a directory");
        assert!(error.to_string().contains("is a directory"), "{error}");
    }

    #[test]
    fn a_file_not_committed_leaves_the_previous_one_and_nothing_else() {
        let dir = scratch("partial");
        let path = dir.join("report.csv");
        std::fs::write(&path, "the last good report\n").expect("previous");
        let mut file = PartialFile::create(&path, "the report").expect("start");
        file.write_all(b"half of a ").expect("write");
        file.flush().expect("flush");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "the last good report\n",
            "the previous report stays while the new one is written"
        );
        drop(file);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "the last good report\n"
        );
        assert!(!dir.join("report.csv.partial").exists());
        let mut file = PartialFile::create(&path, "the report").expect("start");
        file.write_all(b"the new report\n").expect("write");
        file.commit().expect("commit");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "the new report\n"
        );
        assert!(!dir.join("report.csv.partial").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_held_file_has_no_name_and_reads_back() {
        let mut file = held_file("test.jsonl").expect("held");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let metadata = file.metadata().expect("metadata");
            assert_eq!(metadata.nlink(), 0, "the file is unlinked at once");
            assert_eq!(metadata.mode() & 0o777, 0o600);
        }
        let mut reader = file.try_clone().expect("clone");
        file.write_all(b"line\n").expect("write");
        reader.seek(io::SeekFrom::Start(0)).expect("seek");
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("read");
        assert_eq!(text, "line\n");
    }
}

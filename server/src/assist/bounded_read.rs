//! Reading a workspace file the server did not choose (AGENTS.md today; the
//! workspace policy will route every read here): only a regular file, only
//! inside the given roots, and only as much as will be used.
//!
//! A repository is untrusted input. Its AGENTS.md may be a symbolic link to
//! a file elsewhere (`~/.ssh/config`, which would then be sent to the model),
//! to `/dev/stdin` (the server's own LSP input), to `/dev/zero` or a FIFO
//! (an endless or a blocking read), or simply be huge. So: the path is
//! resolved and must stay inside a root; the target must be a regular file,
//! checked before opening and again on the opened handle; on Unix it is
//! opened with `O_NONBLOCK` (opening a FIFO never waits for a writer) and
//! `O_NOFOLLOW` (the resolved path cannot be swapped for a link in between);
//! and at most `cap + 1` bytes are read, the extra byte only to tell that the
//! file was longer.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Text read by [`read_bounded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText {
    /// At most `cap` bytes, cut on a character boundary.
    pub text: String,
    /// The file was longer than `cap`.
    pub truncated: bool,
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadRefused {
    /// Nothing there (the common case for optional files: say nothing).
    #[error("`{path}` does not exist")]
    Missing {
        /// The path asked for.
        path: PathBuf,
    },
    /// It resolves, through symbolic links, outside every root.
    #[error("`{path}` resolves outside the workspace (to `{resolved}`); it is not read")]
    OutsideRoots {
        /// The path asked for.
        path: PathBuf,
        /// Where it leads.
        resolved: PathBuf,
    },
    /// A FIFO, device, socket or directory.
    #[error("`{path}` is a {kind}, not a regular file; it is not read")]
    NotRegular {
        /// The path asked for.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// Not UTF-8 text.
    #[error("`{path}` is not UTF-8 text; it is not read")]
    NotText {
        /// The path asked for.
        path: PathBuf,
    },
    /// The file system refused (permissions, I/O error, a link swapped in).
    #[error("`{path}` cannot be read: {message}")]
    Unreadable {
        /// The path asked for.
        path: PathBuf,
        /// The system's reason.
        message: String,
    },
}

fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO";
        }
        if file_type.is_char_device() {
            return "character device";
        }
        if file_type.is_block_device() {
            return "block device";
        }
        if file_type.is_socket() {
            return "socket";
        }
    }
    if file_type.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Reads at most `cap` bytes of the regular file at `path`, which must lie
/// inside one of `roots` once every symbolic link is resolved (no roots: no
/// file qualifies). See the module documentation for why each check exists.
pub fn read_bounded(
    path: &Path,
    roots: &[PathBuf],
    cap: usize,
) -> Result<BoundedText, ReadRefused> {
    let refused = |e: std::io::Error| ReadRefused::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A dangling link (e.g. to /dev/stdin's `pipe:[…]`) also lands here.
            return Err(ReadRefused::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(refused(e)),
    };
    let inside = roots
        .iter()
        .filter_map(|r| r.canonicalize().ok())
        .any(|root| resolved.starts_with(root));
    if !inside {
        return Err(ReadRefused::OutsideRoots {
            path: path.to_path_buf(),
            resolved,
        });
    }
    let not_regular = |file_type: std::fs::FileType| ReadRefused::NotRegular {
        path: path.to_path_buf(),
        kind: kind_of(file_type),
    };
    let metadata = std::fs::metadata(&resolved).map_err(refused)?;
    if !metadata.is_file() {
        return Err(not_regular(metadata.file_type()));
    }
    let file = open_nonblocking(&resolved).map_err(refused)?;
    // The same question of the handle itself: the path may have changed.
    let opened = file.metadata().map_err(refused)?;
    if !opened.is_file() {
        return Err(not_regular(opened.file_type()));
    }
    let mut bytes = Vec::with_capacity(cap.min(64 * 1024).saturating_add(1));
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(refused)?;
    let truncated = bytes.len() > cap;
    bytes.truncate(cap);
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        // The cut fell inside a character: drop its first bytes.
        Err(e) if truncated && e.utf8_error().error_len().is_none() => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).map_err(|_| ReadRefused::NotText {
                path: path.to_path_buf(),
            })?
        }
        Err(_) => {
            return Err(ReadRefused::NotText {
                path: path.to_path_buf(),
            });
        }
    };
    Ok(BoundedText { text, truncated })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_most_the_cap_on_a_character_boundary() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_path_buf();
        let path = root.join("f.md");
        std::fs::write(&path, "aé日").unwrap_or_else(|e| panic!("{e}"));
        let read = |cap| read_bounded(&path, std::slice::from_ref(&root), cap);
        // (cap, text, truncated)
        for (cap, text, truncated) in [
            (100, "aé日", false),
            (6, "aé日", false),
            (5, "aé", true),
            (3, "aé", true),
            (2, "a", true),
            (0, "", true),
        ] {
            assert_eq!(
                read(cap),
                Ok(BoundedText {
                    text: text.to_owned(),
                    truncated
                }),
                "cap {cap}"
            );
        }
        std::fs::write(&path, b"ok \xff\xfe").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(read(100), Err(ReadRefused::NotText { .. })));
        assert!(matches!(
            read_bounded(&root.join("none.md"), std::slice::from_ref(&root), 10),
            Err(ReadRefused::Missing { .. })
        ));
        assert!(matches!(
            read_bounded(&path, &[], 10),
            Err(ReadRefused::OutsideRoots { .. })
        ));
        assert!(matches!(
            read_bounded(&root, std::slice::from_ref(&root), 10),
            Err(ReadRefused::NotRegular {
                kind: "directory",
                ..
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_links_out_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_path_buf();
        let roots = [root.clone()];
        // /dev/null is inside the root only if the root is `/`.
        assert!(matches!(
            read_bounded(Path::new("/dev/null"), &[PathBuf::from("/")], 10),
            Err(ReadRefused::NotRegular {
                kind: "character device",
                ..
            })
        ));
        let link = root.join("zero.md");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            read_bounded(&link, &roots, 10),
            Err(ReadRefused::OutsideRoots { .. })
        ));
    }
}

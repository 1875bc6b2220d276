//! The workspace policy: the one place that answers, for every path the
//! server touches, "may this be read for the model?" and "may the model's
//! patch write here?". Context building, AGENTS.md loading and patch
//! planning all go through it, and so do the edit loop's file tools
//! (`crate::tools`).
//!
//! - Folders: every workspace folder (multi-root), kept current by the edge.
//!   A file outside every folder is still acted on (it is open in the
//!   editor), but only it: no AGENTS.md walk, no reads, no writes elsewhere.
//! - Identity: a document is its decoded, lexically normalised path
//!   ([`DocumentKey`]); the edge adds a generation per `didOpen`.
//! - Exclusions: case-insensitive globs (`assist::Exclusions`), matched
//!   against the folder-relative path inside a folder and the absolute path
//!   outside (so `**/.ssh/**` covers `~/.ssh/config`), and against where a
//!   symbolic link leads as well as its name.
//! - Reads: regular files only (never devices, FIFOs or sockets; a FIFO is
//!   opened non-blocking so it can never hang the server), never through a
//!   link that leaves the folders, at most the cap (never "whole, then
//!   truncate").
//! - Writes: never to excluded paths or under `.git/`; to files other than
//!   the target only inside a folder.
//!
//! Pure apart from file-system metadata and bounded reads; no protocol types.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::assist::prompt::AGENTS_MAX_BYTES;
use crate::assist::{AgentsFile, Exclusions};

/// Who a document is, independent of how the client spelled its URI:
/// `file:` URIs by their decoded, normalised path; anything else (unsaved
/// buffers) by the URI text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentKey {
    File(PathBuf),
    Other(String),
}

impl DocumentKey {
    /// A file's key; the path is normalised lexically (`.` dropped, `..`
    /// folded), so two spellings of one path are one key.
    pub fn file(path: &Path) -> Self {
        DocumentKey::File(normalise(path))
    }

    /// The file's path, or `None` for a document that is not a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DocumentKey::File(path) => Some(path),
            DocumentKey::Other(_) => None,
        }
    }
}

/// Lexical normalisation: drops `.`, folds `..` into its parent (never above
/// the root).
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` of the root is the root; of a relative start, kept.
                if !out.pop() && !out.has_root() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Why the policy refuses a read or a write. Each says which path and why,
/// in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{path}` is excluded by the pattern `{pattern}` (setting codex.exclude)")]
    Excluded { path: String, pattern: String },
    #[error("`{path}` is inside a `.git` directory, which Codex never writes")]
    GitDirectory { path: String },
    #[error("`{path}` is outside the workspace folders")]
    OutsideFolders { path: String },
    #[error("`{path}` leads outside the workspace folders (to `{target}`)")]
    LinkLeavesFolders { path: String, target: String },
    #[error("`{path}` is not a regular file ({kind})")]
    NotRegular { path: String, kind: &'static str },
    #[error("`{path}` is not UTF-8 text")]
    NotText { path: String },
    #[error("`{path}` cannot be read: {message}")]
    Unreadable { path: String, message: String },
}

/// Text read through the policy, and whether the cap cut it short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText {
    pub text: String,
    pub truncated: bool,
}

/// The policy for the folders and exclusions in force. Cheap to build per
/// action: the exclusions are compiled once and shared.
#[derive(Debug, Clone)]
pub struct WorkspacePolicy {
    /// Normalised absolute folders, innermost first where they nest.
    folders: Vec<PathBuf>,
    exclusions: Arc<Exclusions>,
}

impl WorkspacePolicy {
    pub fn new(folders: impl IntoIterator<Item = PathBuf>, exclusions: Arc<Exclusions>) -> Self {
        let mut folders: Vec<PathBuf> = folders
            .into_iter()
            .filter(|f| f.is_absolute())
            .map(|f| normalise(&f))
            .collect();
        // Innermost first, so a nested folder wins over its parent.
        folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
        folders.dedup();
        Self {
            folders,
            exclusions,
        }
    }

    /// The innermost folder that contains `path`, if any.
    pub fn folder_of(&self, path: &Path) -> Option<&Path> {
        let path = normalise(path);
        self.folders
            .iter()
            .find(|f| path.starts_with(f) && path != **f)
            .map(PathBuf::as_path)
    }

    /// How a path is named to the model and in messages: folder-relative
    /// with `/` inside a folder, absolute outside.
    pub fn display(&self, path: &Path) -> String {
        match self.folder_of(path) {
            Some(folder) => relative(folder, path),
            None => path.display().to_string(),
        }
    }

    /// The first exclusion pattern the path matches, by its own name or by
    /// where it leads (symbolic links anywhere on the path are resolved).
    pub fn excluded(&self, path: &Path) -> Option<String> {
        let by_name = self.excluded_as_named(path);
        if by_name.is_some() {
            return by_name;
        }
        let target = canonical(path)?;
        if target == normalise(path) {
            return None;
        }
        self.excluded_as_named(&target)
    }

    fn excluded_as_named(&self, path: &Path) -> Option<String> {
        let subject = self.display(path);
        self.exclusions.excluded(&subject).map(str::to_owned)
    }

    /// Whether the open document at `path` may be sent to the model.
    pub fn check_send(&self, path: &Path) -> Result<(), Refusal> {
        match self.excluded(path) {
            Some(pattern) => Err(Refusal::Excluded {
                path: self.display(path),
                pattern,
            }),
            None => Ok(()),
        }
    }

    /// Reads a file from disk for the model or the patch planner: inside a
    /// folder (also after resolving links), not excluded, a regular file,
    /// at most `cap` bytes.
    pub fn read(&self, path: &Path, cap: u64) -> Result<BoundedText, Refusal> {
        self.check_inside(path)?;
        self.check_send(path)?;
        // The resolved path, opened without following a link: a link
        // swapped in after the checks above is refused, not followed.
        let resolved = canonical(path).unwrap_or_else(|| path.to_path_buf());
        read_regular_bounded(&resolved, cap).map_err(|e| e.named(self.display(path)))
    }

    /// Whether the model's patch may write `path`, for an action on
    /// `target` (the document the user acted on).
    pub fn check_write(&self, path: &Path, target: &Path) -> Result<(), Refusal> {
        let shown = self.display(path);
        if in_git_directory(path) || canonical(path).is_some_and(|c| in_git_directory(&c)) {
            return Err(Refusal::GitDirectory { path: shown });
        }
        self.check_send(path)?;
        if normalise(path) != normalise(target) {
            self.check_inside(path)?;
        }
        Ok(())
    }

    /// The directories whose AGENTS.md apply to `file`, outermost first:
    /// from the file's folder down to the file's directory. None outside
    /// every folder.
    pub fn agents_dirs(&self, file: &Path) -> Vec<PathBuf> {
        let Some(folder) = self.folder_of(file) else {
            return Vec::new();
        };
        let file = normalise(file);
        let Some(dir) = file.parent() else {
            return Vec::new();
        };
        let Ok(rel) = dir.strip_prefix(folder) else {
            return Vec::new();
        };
        let mut dirs = vec![folder.to_path_buf()];
        let mut current = folder.to_path_buf();
        for c in rel.components() {
            current.push(c);
            dirs.push(current.clone());
        }
        dirs
    }

    /// The AGENTS.md files that apply to `file`, outermost first, read
    /// through the policy (inside the folders, not excluded, regular files)
    /// and together at most [`AGENTS_MAX_BYTES`]: each is read only up to
    /// what is left, and one that was cut says so to the model.
    pub fn agents_md(&self, file: &Path) -> Vec<AgentsFile> {
        let mut out = Vec::new();
        let mut room = AGENTS_MAX_BYTES as u64;
        for dir in self.agents_dirs(file) {
            if room == 0 {
                break;
            }
            let path = dir.join("AGENTS.md");
            if !path.exists() && std::fs::symlink_metadata(&path).is_err() {
                continue;
            }
            let read = match self.read(&path, room) {
                Ok(read) => read,
                Err(refusal) => {
                    tracing::warn!(%refusal, "AGENTS.md not used");
                    continue;
                }
            };
            let text = read.text;
            if text.contains('\0') || text.trim().is_empty() {
                continue;
            }
            room = room.saturating_sub(text.len() as u64);
            if read.truncated {
                // The prompt closes it with a note, so the model does not
                // take the beginning for the whole.
                tracing::info!(
                    path = %path.display(),
                    sent_bytes = text.len(),
                    cap_bytes = AGENTS_MAX_BYTES,
                    "AGENTS.md truncated: the AGENTS.md files exceed the cap"
                );
            }
            out.push(AgentsFile {
                path,
                text,
                truncated: read.truncated,
            });
        }
        out
    }

    /// Refuses a path outside every folder, or one whose links lead out.
    pub fn check_inside(&self, path: &Path) -> Result<(), Refusal> {
        let shown = self.display(path);
        if self.folder_of(path).is_none() {
            return Err(Refusal::OutsideFolders { path: shown });
        }
        if let Some(target) = canonical(path) {
            let inside = self
                .folders
                .iter()
                .filter_map(|f| canonical(f))
                .any(|f| target.starts_with(&f) && target != f);
            if !inside {
                return Err(Refusal::LinkLeavesFolders {
                    path: shown,
                    target: target.display().to_string(),
                });
            }
        }
        Ok(())
    }
}

/// `path` relative to `folder`, with `/` separators.
fn relative(folder: &Path, path: &Path) -> String {
    let path = normalise(path);
    match path.strip_prefix(folder) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}

/// Any component named `.git` (in any case: the file system may not care).
fn in_git_directory(path: &Path) -> bool {
    path.components()
        .any(|c| c.as_os_str().to_string_lossy().eq_ignore_ascii_case(".git"))
}

/// The path with every symbolic link resolved: the canonical form of its
/// deepest existing ancestor joined with the rest. `None` when nothing of
/// it exists.
fn canonical(path: &Path) -> Option<PathBuf> {
    crate::assist::plan::canonical_prefix(&normalise(path))
}

/// Reads at most `cap` bytes of a regular file. The file is opened
/// non-blocking and without following a final symbolic link, and checked
/// after opening (so a FIFO or device swapped in between a check and the
/// open is still refused, and opening a FIFO never waits for a writer); at
/// most `cap + 1` bytes are read (the extra one only tells that the file
/// was longer), and a multi-byte character cut by the cap is dropped.
pub fn read_regular_bounded(path: &Path, cap: u64) -> Result<BoundedText, Refusal> {
    let unnamed = String::new;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(|e| Refusal::Unreadable {
        path: unnamed(),
        message: e.kind().to_string(),
    })?;
    let meta = file.metadata().map_err(|e| Refusal::Unreadable {
        path: unnamed(),
        message: e.kind().to_string(),
    })?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular {
            path: unnamed(),
            kind: file_kind(&meta),
        });
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Refusal::Unreadable {
            path: unnamed(),
            message: e.kind().to_string(),
        })?;
    let truncated = bytes.len() as u64 > cap;
    bytes.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) if truncated && e.utf8_error().error_len().is_none() => {
            // Only the last character was cut by the cap.
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).map_err(|_| Refusal::NotText { path: unnamed() })?
        }
        Err(_) => return Err(Refusal::NotText { path: unnamed() }),
    };
    Ok(BoundedText { text, truncated })
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

impl Refusal {
    /// Fills in the path of a refusal made before the path's display name
    /// was known.
    fn named(self, shown: String) -> Self {
        match self {
            Refusal::NotRegular { kind, .. } => Refusal::NotRegular { path: shown, kind },
            Refusal::NotText { .. } => Refusal::NotText { path: shown },
            Refusal::Unreadable { message, .. } => Refusal::Unreadable {
                path: shown,
                message,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(folders: &[&Path], exclude: &[&str]) -> WorkspacePolicy {
        let patterns: Vec<String> = exclude.iter().map(|s| (*s).to_owned()).collect();
        let exclusions = match Exclusions::new(&patterns) {
            Ok(e) => Arc::new(e),
            Err(e) => panic!("test globs compile: {e}"),
        };
        WorkspacePolicy::new(folders.iter().map(|f| f.to_path_buf()), exclusions)
    }

    fn tempdir() -> (tempfile::TempDir, PathBuf) {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let root = match dir.path().canonicalize() {
            Ok(r) => r,
            Err(e) => panic!("canonicalize: {e}"),
        };
        (dir, root)
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(path, text) {
            panic!("write {}: {e}", path.display());
        }
    }

    #[test]
    fn keys_do_not_depend_on_spelling() {
        assert_eq!(
            DocumentKey::file(Path::new("/w/packages/./@acme/../@acme/x.py")),
            DocumentKey::file(Path::new("/w/packages/@acme/x.py"))
        );
        assert_eq!(normalise(Path::new("/../a")), PathBuf::from("/a"));
    }

    #[test]
    fn the_innermost_folder_holds_a_file() {
        let p = policy(
            &[Path::new("/w"), Path::new("/w/backend"), Path::new("/f")],
            &[],
        );
        assert_eq!(
            p.folder_of(Path::new("/w/backend/util.py")),
            Some(Path::new("/w/backend"))
        );
        assert_eq!(
            p.folder_of(Path::new("/w/README.md")),
            Some(Path::new("/w"))
        );
        assert_eq!(p.folder_of(Path::new("/f/util.py")), Some(Path::new("/f")));
        assert_eq!(p.folder_of(Path::new("/home/u/notes.py")), None);
        assert_eq!(
            p.folder_of(Path::new("/w")),
            None,
            "a folder is not inside itself"
        );
        assert_eq!(p.display(Path::new("/w/backend/a/b.py")), "a/b.py");
        assert_eq!(p.display(Path::new("/home/u/x.py")), "/home/u/x.py");
    }

    #[test]
    fn exclusions_see_absolute_paths_outside_folders_and_ignore_case() {
        let p = policy(&[Path::new("/w")], &["**/.ssh/**", "*.pem", ".env"]);
        assert_eq!(
            p.excluded(Path::new("/home/u/.ssh/config")).as_deref(),
            Some("**/.ssh/**")
        );
        assert!(p.excluded(Path::new("/w/certs/SERVER.PEM")).is_some());
        assert!(p.excluded(Path::new("/w/.ENV")).is_some());
        assert!(p.excluded(Path::new("/w/src/main.rs")).is_none());
        assert!(p.excluded(Path::new("/home/u/notes.py")).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_judged_by_where_it_leads_too() {
        let (_dir, root) = tempdir();
        write(&root.join(".env"), "SECRET=1\n");
        if let Err(e) = std::os::unix::fs::symlink(root.join(".env"), root.join("notes.txt")) {
            panic!("symlink: {e}");
        }
        let p = policy(&[&root], &[".env"]);
        assert_eq!(p.excluded(&root.join("notes.txt")).as_deref(), Some(".env"));
        assert!(matches!(
            p.read(&root.join("notes.txt"), 100),
            Err(Refusal::Excluded { .. })
        ));
    }

    #[test]
    fn writes_never_reach_git_excluded_paths_or_other_files_outside() {
        let p = policy(&[Path::new("/w")], &[".env"]);
        let target = Path::new("/w/src/lib.rs");
        assert!(p.check_write(target, target).is_ok());
        assert!(p.check_write(Path::new("/w/src/other.rs"), target).is_ok());
        for (path, refusal) in [
            ("/w/.git/config", "GitDirectory"),
            ("/w/sub/.GIT/hooks/pre-commit", "GitDirectory"),
            ("/w/.env", "Excluded"),
            ("/elsewhere/x.rs", "OutsideFolders"),
        ] {
            let err = p.check_write(Path::new(path), target).err();
            assert!(
                err.as_ref()
                    .is_some_and(|e| format!("{e:?}").starts_with(refusal)),
                "{path}: {err:?}"
            );
        }
        // A file outside every folder may be the target itself, nothing else.
        let outside = Path::new("/home/u/notes.py");
        assert!(p.check_write(outside, outside).is_ok());
        assert!(
            p.check_write(Path::new("/home/u/other.py"), outside)
                .is_err()
        );
    }

    #[cfg(unix)]
    #[test]
    fn reads_refuse_fifos_devices_links_out_and_stop_at_the_cap() {
        let (_dir, root) = tempdir();
        let (_outside_dir, outside) = tempdir();
        write(&outside.join("secret.txt"), "outside\n");
        write(&root.join("big.md"), &"é".repeat(100));
        // `mkfifo` (coreutils) makes the FIFO without unsafe code.
        let fifo = root.join("AGENTS.md");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let links = [
            (root.join("stdin.md"), PathBuf::from("/dev/stdin")),
            (root.join("zero.md"), PathBuf::from("/dev/zero")),
            (root.join("out.md"), outside.join("secret.txt")),
        ];
        for (link, to) in &links {
            if let Err(e) = std::os::unix::fs::symlink(to, link) {
                panic!("symlink: {e}");
            }
        }
        let p = policy(&[&root], &[]);
        if made.is_ok_and(|s| s.success()) {
            assert!(
                matches!(
                    p.read(&fifo, 100),
                    Err(Refusal::NotRegular { kind: "a FIFO", .. })
                ),
                "a FIFO is refused without blocking"
            );
        }
        for (link, _) in &links {
            assert!(
                matches!(p.read(link, 100), Err(Refusal::LinkLeavesFolders { .. })),
                "{}",
                link.display()
            );
        }
        // /dev/zero read directly (a device, inside no folder check): refused
        // as not regular, and never read whole.
        assert!(matches!(
            read_regular_bounded(Path::new("/dev/zero"), 100),
            Err(Refusal::NotRegular {
                kind: "a device",
                ..
            })
        ));
        let cut = p.read(&root.join("big.md"), 11);
        assert_eq!(
            cut,
            Ok(BoundedText {
                text: "é".repeat(5),
                truncated: true
            }),
            "11 bytes hold five 2-byte characters; the split sixth is dropped"
        );
        let whole = p.read(&root.join("big.md"), 1000);
        assert!(whole.is_ok_and(|t| !t.truncated && t.text.chars().count() == 100));
    }

    #[test]
    fn agents_md_is_looked_for_from_the_folder_down_and_nowhere_outside() {
        let p = policy(&[Path::new("/w")], &[]);
        assert_eq!(
            p.agents_dirs(Path::new("/w/a/b/c.rs")),
            vec![
                PathBuf::from("/w"),
                PathBuf::from("/w/a"),
                PathBuf::from("/w/a/b")
            ]
        );
        assert!(p.agents_dirs(Path::new("/home/u/x.rs")).is_empty());
    }
}

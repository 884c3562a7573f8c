//! The data directory of the embedded defaults: database, key file, blobs.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// File name of the embedded database inside the data directory (used when
/// no `database_url` is configured).
pub const DATABASE_FILE: &str = "tutela.db";

/// The folder of registry snapshots (`*.snapshot`) a node loads at start
/// and on reload; `tutela registry install` puts them there.
pub const REGISTRIES_DIR: &str = "registries";

/// Length of the root key in bytes (a 256-bit key).
const ROOT_KEY_LEN: usize = 32;

/// A prepared data directory. Layout:
///
/// ```text
/// DIR/tutela.db        SQLite database (when no database URL is configured)
/// DIR/keys/root.key    32 random bytes, mode 0600: the local key-encryption root
/// DIR/keys/audit-signing.key  Ed25519 private key (PKCS#8), mode 0600: signs audit checkpoints
/// DIR/keys/audit-signing.pub  its public key (hex), for verifiers elsewhere
/// DIR/blobs/           encrypted objects (recordings, exports)
/// DIR/journal/erasures.jsonl  every erasure (ids only), re-applied at start after a restore
/// DIR/outbox/codes/    one-time codes for requesters, for a mail/SMS relay (mode 0600 files)
/// DIR/outbox/controllers/<controller>/  data-subject requests passed on to controllers
/// ```
#[derive(Clone)]
pub struct DataDir {
    root: PathBuf,
    root_key: [u8; ROOT_KEY_LEN],
    audit_key: Vec<u8>,
}

impl std::fmt::Debug for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDir")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Why the data directory could not be prepared. Names the path and reason.
#[derive(Debug, thiserror::Error)]
#[error("data directory: {path}: {reason}")]
pub struct DataDirError {
    path: String,
    reason: String,
}

impl DataDir {
    /// Creates what is missing (directories mode 0700, a fresh root key mode
    /// 0600) and checks what exists (the key must be exactly 32 bytes).
    pub fn prepare(root: &Path) -> Result<Self, DataDirError> {
        let mut dir = Self {
            root: root.to_path_buf(),
            root_key: [0; ROOT_KEY_LEN],
            audit_key: Vec::new(),
        };
        for path in [dir.root.clone(), dir.keys_dir(), dir.blob_dir()] {
            create_private_dir(&path).map_err(|e| error(&path, e))?;
        }
        warn_if_shared(&dir.root);
        let key = dir.root_key_path();
        dir.root_key = ensure_root_key(&key).map_err(|e| error(&key, e))?;
        let audit = dir.audit_key_path();
        dir.audit_key =
            ensure_audit_key(&audit, &dir.audit_public_key_path()).map_err(|e| error(&audit, e))?;
        Ok(dir)
    }

    /// The root key's bytes, from which the service derives its working keys.
    pub fn root_key(&self) -> &[u8; ROOT_KEY_LEN] {
        &self.root_key
    }

    /// The audit signing key (PKCS#8 bytes).
    pub fn audit_signing_key(&self) -> &[u8] {
        &self.audit_key
    }

    /// The audit signing key file.
    pub fn audit_key_path(&self) -> PathBuf {
        self.keys_dir().join("audit-signing.key")
    }

    /// The audit public key file (hex), for verifiers on other machines.
    pub fn audit_public_key_path(&self) -> PathBuf {
        self.keys_dir().join("audit-signing.pub")
    }

    /// Where encrypted blobs are stored when no object store is configured.
    pub fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// Where recordings' encrypted blobs are stored unless an S3 bucket or
    /// another folder is configured: a store used for recordings only.
    pub fn recordings(&self) -> PathBuf {
        self.blob_dir().join("recordings")
    }

    /// The key-encryption key files of the recordings vault.
    pub fn recording_keys(&self) -> PathBuf {
        self.keys_dir().join("recordings")
    }

    /// Where one-time codes and forwarded data-subject requests are
    /// delivered as files.
    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    /// The erasure journal's default file.
    pub fn erasure_journal(&self) -> PathBuf {
        self.root.join("journal").join("erasures.jsonl")
    }

    /// The folder of registry snapshots this node loads.
    pub fn registries(&self) -> PathBuf {
        self.root.join(REGISTRIES_DIR)
    }

    /// The local root key file.
    pub fn root_key_path(&self) -> PathBuf {
        self.keys_dir().join("root.key")
    }

    fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }
}

fn error(path: &Path, e: io::Error) -> DataDirError {
    DataDirError {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// An existing directory keeps the mode the operator gave it (they may have
/// reasons), but access by group or others is worth a warning.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    if let Ok(metadata) = fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                mode = format!("{mode:o}"),
                "the data directory is accessible to other users; 0700 is recommended"
            );
        }
    }
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Creates the key atomically: the bytes are written and synced to a
/// temporary file, which is then hard-linked into place. `hard_link` fails if
/// the key exists, so two processes starting at once agree on one key, and a
/// crash can never leave a short key behind.
fn ensure_root_key(path: &Path) -> io::Result<[u8; ROOT_KEY_LEN]> {
    if !path.exists() {
        let mut key = [0u8; ROOT_KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| io::Error::other(e.to_string()))?;
        write_private_file(path, &key)?;
    }
    let mut existing = Vec::with_capacity(ROOT_KEY_LEN);
    fs::File::open(path)?
        .take(ROOT_KEY_LEN as u64 + 1)
        .read_to_end(&mut existing)?;
    <[u8; ROOT_KEY_LEN]>::try_from(existing.as_slice()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("key file must hold exactly {ROOT_KEY_LEN} bytes"),
        )
    })
}

/// Reads the audit signing key, or creates it (mode 0600) with its public
/// key beside it. A key that does not load is an error, never replaced:
/// replacing it would orphan every signature made so far.
fn ensure_audit_key(path: &Path, public_path: &Path) -> io::Result<Vec<u8>> {
    let invalid = |reason: &str| io::Error::new(io::ErrorKind::InvalidData, reason.to_owned());
    if path.exists() {
        let bytes = fs::read(path)?;
        tutela_app::audit::AuditSigner::from_pkcs8(&bytes)
            .map_err(|_| invalid("not an Ed25519 PKCS#8 key; restore it from backup"))?;
        return Ok(bytes);
    }
    let bytes = tutela_app::audit::AuditSigner::generate_pkcs8()
        .map_err(|_| invalid("cannot generate a key"))?;
    write_private_file(path, &bytes)?;
    // Another process may have won the race: describe the key that is there.
    let bytes = fs::read(path)?;
    let signer = tutela_app::audit::AuditSigner::from_pkcs8(&bytes)
        .map_err(|_| invalid("not an Ed25519 PKCS#8 key"))?;
    let public = hex::encode(signer.public_key());
    fs::write(public_path, format!("{public}\n"))?;
    Ok(bytes)
}

/// Writes `bytes` to `path` (mode 0600) unless it exists: written to a
/// temporary file, synced, then hard-linked into place, so two processes
/// starting at once keep one file and a crash never leaves half a key.
fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let temp = dir.join(format!(".{name}.{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| match fs::hard_link(&temp, path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    });
    let _ = fs::remove_file(&temp);
    linked?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_layout_once_and_keeps_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let dir = DataDir::prepare(&root).unwrap();
        let key = fs::read(dir.root_key_path()).unwrap();
        assert_eq!(key.len(), 32);
        assert!(dir.blob_dir().is_dir());
        DataDir::prepare(&root).unwrap();
        assert_eq!(
            fs::read(dir.root_key_path()).unwrap(),
            key,
            "key must survive restarts"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.root_key_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn refuses_a_truncated_key() {
        let tmp = tempfile::tempdir().unwrap();
        DataDir::prepare(tmp.path()).unwrap();
        fs::write(tmp.path().join("keys/root.key"), b"short").unwrap();
        let err = DataDir::prepare(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("root.key") && err.contains("32 bytes"),
            "{err}"
        );
    }
}

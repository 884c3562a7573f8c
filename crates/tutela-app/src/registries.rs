//! The registry snapshots a node holds in memory: national do-not-call
//! registries and internal suppression lists, loaded from the data
//! directory's `registries/` folder at start and on reload.
//!
//! A reload never leaves a node without a registry it had because of a bad
//! file: a file that does not read keeps the snapshot it replaced, and the
//! report names the file and why. A file removed from the folder unloads
//! its registry (calls governed by it are then denied as unavailable, the
//! safe side).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tutela_domain::{CountryCode, RegistryRef, Snapshot};

/// The file name ending of snapshots in the registries folder.
pub const SNAPSHOT_EXTENSION: &str = "snapshot";

/// One snapshot in memory, with the file it came from.
#[derive(Debug)]
pub struct LoadedRegistry {
    /// The snapshot: header and numbers.
    pub snapshot: Snapshot,
    /// SHA-256 of its payload, as bytes.
    pub sha256: [u8; 32],
    /// The file it was read from.
    pub file: PathBuf,
}

/// A file that could not be loaded, and why; the snapshot it would have
/// replaced stays in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLoadError {
    /// The file.
    pub file: PathBuf,
    /// Why (never any number).
    pub reason: String,
}

/// What a (re)load did.
#[derive(Debug, Clone, Default)]
pub struct RegistryReport {
    /// Registries now loaded, with their snapshot's number count.
    pub loaded: Vec<(RegistryRef, u64)>,
    /// Files refused; earlier snapshots of their registries stay in use.
    pub refused: Vec<RegistryLoadError>,
}

/// The loaded snapshots, keyed by registry. Cheap to clone; every clone
/// sees reloads. Readers take an `Arc` of the current map, so a reload
/// never blocks a decision for longer than a pointer swap.
#[derive(Debug, Clone, Default)]
pub struct RegistryShelf {
    dir: Option<PathBuf>,
    current: Arc<RwLock<Arc<Shelf>>>,
}

/// The registries at one moment.
pub type Shelf = BTreeMap<RegistryRef, Arc<LoadedRegistry>>;

impl RegistryShelf {
    /// A shelf reading `dir` (created when missing), loaded now.
    pub fn open(dir: &Path) -> Result<(Self, RegistryReport), std::io::Error> {
        std::fs::create_dir_all(dir)?;
        let shelf = Self {
            dir: Some(dir.to_path_buf()),
            current: Arc::default(),
        };
        let report = shelf.reload()?;
        Ok((shelf, report))
    }

    /// The registries now loaded.
    pub fn current(&self) -> Arc<Shelf> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            // A writer panicked mid-swap: the pointer inside is still whole.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the folder: every snapshot file that reads replaces its
    /// registry's; a file that does not read is reported and the snapshot
    /// loaded from that same file before stays; registries whose file is
    /// gone are unloaded.
    pub fn reload(&self) -> Result<RegistryReport, std::io::Error> {
        let Some(dir) = &self.dir else {
            return Ok(self.report(Vec::new()));
        };
        let before = self.current();
        let mut next = Shelf::new();
        let mut refused = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == SNAPSHOT_EXTENSION))
            .collect();
        files.sort();
        for file in files {
            match load_file(&file) {
                Ok(loaded) => {
                    let registry = loaded.snapshot.header.registry;
                    if let Some(other) = next.get(&registry) {
                        refused.push(RegistryLoadError {
                            file: file.clone(),
                            reason: format!(
                                "{registry} is already loaded from {}",
                                other.file.display()
                            ),
                        });
                        continue;
                    }
                    next.insert(registry, Arc::new(loaded));
                }
                Err(reason) => {
                    // Keep what this same file gave before.
                    if let Some(kept) = before.values().find(|r| r.file == file) {
                        next.entry(kept.snapshot.header.registry)
                            .or_insert_with(|| kept.clone());
                    }
                    tracing::warn!(file = %file.display(), %reason, "registry snapshot refused");
                    refused.push(RegistryLoadError { file, reason });
                }
            }
        }
        let next = Arc::new(next);
        match self.current.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        let report = self.report(refused);
        for (registry, count) in &report.loaded {
            tracing::info!(%registry, count, "registry snapshot loaded");
        }
        Ok(report)
    }

    fn report(&self, refused: Vec<RegistryLoadError>) -> RegistryReport {
        RegistryReport {
            loaded: self
                .current()
                .values()
                .map(|r| (r.snapshot.header.registry, r.snapshot.header.count))
                .collect(),
            refused,
        }
    }

    /// The folder this shelf reads, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

/// The national registries of `country` and the internal lists that apply
/// to `controller`, from `shelf`.
pub fn registries_for<'a>(
    shelf: &'a Shelf,
    country: CountryCode,
    controller: tutela_domain::ControllerId,
) -> impl Iterator<Item = &'a Arc<LoadedRegistry>> + 'a {
    shelf
        .values()
        .filter(move |r| match &r.snapshot.header.registry {
            RegistryRef::National(_) => r.snapshot.header.country == country,
            RegistryRef::Controller(id) => *id == controller,
            RegistryRef::Global => true,
        })
}

fn load_file(file: &Path) -> Result<LoadedRegistry, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot be read: {}", e.kind()))?;
    let snapshot = Snapshot::parse(&bytes).map_err(|e| e.to_string())?;
    let sha256 = digest_bytes(&snapshot.header.sha256);
    Ok(LoadedRegistry {
        snapshot,
        sha256,
        file: file.to_path_buf(),
    })
}

/// The header's hex digest as bytes (zeros if it were not hex, which a
/// parsed snapshot's never is: parsing compared it with the real digest).
fn digest_bytes(hex_digest: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(bytes) = hex::decode(hex_digest)
        && let Ok(array) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        out = array;
    }
    out
}

impl crate::App {
    /// Re-reads this node's registry folder (see [`RegistryShelf::reload`]);
    /// recorded in the platform's audit trail with what was refused.
    pub async fn reload_registries(
        &self,
        grant: &crate::PlatformGrant<crate::grants::ReloadRegistries>,
    ) -> Result<RegistryReport, crate::AppError> {
        let report = self.registries.reload().map_err(|e| {
            crate::AppError::internal(format!("registry folder unreadable: {}", e.kind()))
        })?;
        let mut event = grant.event(
            tutela_domain::audit::Action::RegistryReload,
            tutela_domain::audit::ObjectRef::kind_only(tutela_domain::audit::ObjectKind::Registry),
            self.clock.now(),
        );
        if !report.refused.is_empty() {
            event.outcome = tutela_domain::audit::Outcome::denied("registry_file_refused");
        }
        self.record(vec![event]).await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutela_domain::{NumberSet, Registry};

    fn write(dir: &Path, name: &str, registry: RegistryRef, numbers: Vec<u64>) {
        let (snapshot, payload) = Snapshot::new(
            registry,
            CountryCode::parse("IT").unwrap(),
            "2026-11-20T00:00:00Z".parse().unwrap(),
            NumberSet::from_numbers(numbers).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join(name), snapshot.file_bytes(&payload).unwrap()).unwrap();
    }

    #[test]
    fn a_bad_file_keeps_its_earlier_snapshot_and_a_removed_one_unloads() {
        let dir = tempfile::tempdir().unwrap();
        let rpo = RegistryRef::National(Registry::ItRpo);
        write(dir.path(), "rpo.snapshot", rpo, vec![393_471_111_111]);
        write(
            dir.path(),
            "global.snapshot",
            RegistryRef::Global,
            vec![393_472_222_222],
        );
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let (shelf, report) = RegistryShelf::open(dir.path()).unwrap();
        assert_eq!(report.loaded.len(), 2);
        assert!(report.refused.is_empty());

        // Damaged: refused by name, the snapshot it replaced stays.
        std::fs::write(dir.path().join("rpo.snapshot"), b"TUTELA-DNC 1\n{").unwrap();
        let report = shelf.reload().unwrap();
        assert_eq!(report.refused.len(), 1);
        assert!(report.refused[0].file.ends_with("rpo.snapshot"));
        let current = shelf.current();
        assert!(current[&rpo].snapshot.numbers.contains(393_471_111_111));

        // A second file for the same registry is refused, not merged.
        write(dir.path(), "rpo2.snapshot", rpo, vec![393_473_333_333]);
        let report = shelf.reload().unwrap();
        assert_eq!(report.refused.len(), 2);
        std::fs::remove_file(dir.path().join("rpo2.snapshot")).unwrap();

        // Removed: unloaded (decisions then deny as unavailable).
        std::fs::remove_file(dir.path().join("global.snapshot")).unwrap();
        let report = shelf.reload().unwrap();
        assert_eq!(report.loaded, vec![(rpo, 1)]);
    }
}

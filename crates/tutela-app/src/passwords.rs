//! Password hashing with Argon2id, off the async worker threads.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;
use tutela_domain::{Password, PasswordHash, Secret};

use crate::AppError;

/// Hashes and verifies passwords with Argon2id (m=19 MiB, t=2, p=1, the
/// OWASP-recommended defaults of the `argon2` crate).
///
/// Each hash takes tens of milliseconds of CPU and 19 MiB of memory, so it runs
/// on the blocking pool, and a semaphore sized to the CPU count bounds how many
/// run at once: a burst of logins queues instead of exhausting memory.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// A hasher allowing one concurrent hash per available CPU.
    pub fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            permits: Arc::new(Semaphore::new(cpus)),
        }
    }

    /// Hashes `password` with a fresh random salt into a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, AppError> {
        let password = password.clone();
        self.run(move || {
            Argon2::default()
                .hash_password(password.expose().as_bytes())
                .map(|hash| PasswordHash(hash.to_string()))
                .map_err(|e| AppError::internal(format!("argon2 hash: {e}")))
        })
        .await
    }

    /// True when `password` matches `hash`. The password is taken as typed,
    /// without the length rules of [`Password`], so that a rule change never
    /// locks out an older account. A malformed stored hash is an internal
    /// error, not a mismatch, so corruption is noticed.
    pub async fn verify(&self, password: &Secret, hash: &PasswordHash) -> Result<bool, AppError> {
        let password = password.clone();
        let hash = hash.clone();
        self.run(move || {
            let parsed = Phc::new(&hash.0)
                .map_err(|e| AppError::internal(format!("stored password hash: {e}")))?;
            Ok(Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    /// Spends the time of one hash on `password` and forgets the result, so
    /// that a sign-in for an unknown account takes as long as for a known one.
    pub async fn waste_time(&self, password: &Secret) -> Result<(), AppError> {
        let password = password.clone();
        self.run(move || {
            let _ = Argon2::default().hash_password(password.expose().as_bytes());
            Ok(())
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        // The permit moves into the blocking task: if the request is cancelled
        // the hash still runs to the end, and it keeps holding its permit.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::internal("password hasher closed"))?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| AppError::internal(format!("password hashing task: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ_per_salt() {
        let hasher = PasswordHasher::new();
        let password = Password::parse("correct horse battery").unwrap();
        let a = hasher.hash(&password).await.unwrap();
        let b = hasher.hash(&password).await.unwrap();
        assert!(a.0.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        let typed = Secret::new("correct horse battery");
        assert!(hasher.verify(&typed, &a).await.unwrap());
        let wrong = Secret::new("incorrect horse battery");
        assert!(!hasher.verify(&wrong, &a).await.unwrap());
        assert!(
            hasher
                .verify(&typed, &PasswordHash("garbage".into()))
                .await
                .is_err()
        );
    }
}

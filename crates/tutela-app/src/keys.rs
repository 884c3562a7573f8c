//! Keys derived from the data directory's root key: one to seal secrets the
//! service must read back (TOTP seeds), one to key the digests of sign-in
//! throttling (so the table holds neither usernames nor addresses).
//!
//! ring rather than RustCrypto: it is already in the build (rustls uses it),
//! and it provides HKDF, HMAC and AES-GCM with one audited implementation.

use std::fmt;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::{hkdf, hmac};
use tutela_domain::SecretDigest;

use crate::AppError;

/// The service's working keys. Never printed.
pub struct KeyRing {
    seal: LessSafeKey,
    throttle: hmac::Key,
    prk: hkdf::Prk,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyRing(..)")
    }
}

impl KeyRing {
    /// Derives the working keys from the 32-byte root key with HKDF-SHA256,
    /// one label per use, so no key serves two purposes.
    pub fn from_root(root: &[u8; 32]) -> Result<Self, AppError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tutela root key v1").extract(root);
        let derive_err = |_| AppError::internal("key derivation failed");
        let seal_key: UnboundKey = prk
            .expand(&[b"seal secrets v1"], &AES_256_GCM)
            .map_err(derive_err)?
            .into();
        let throttle: hmac::Key = prk
            .expand(&[b"throttle keys v1"], hmac::HMAC_SHA256)
            .map_err(derive_err)?
            .into();
        Ok(Self {
            seal: LessSafeKey::new(seal_key),
            throttle,
            prk,
        })
    }

    /// A key ring from a fresh random root, for tests and tools that keep
    /// nothing between runs.
    pub fn ephemeral() -> Result<Self, AppError> {
        let mut root = [0u8; 32];
        getrandom::fill(&mut root)
            .map_err(|e| AppError::internal(format!("random source: {e}")))?;
        Self::from_root(&root)
    }

    /// Encrypts `plaintext` with AES-256-GCM under a random nonce, bound to
    /// `context` (for example the user id) so a sealed value cannot be moved
    /// to another row. Output: nonce, then ciphertext and tag.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, AppError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| AppError::internal(format!("random source: {e}")))?;
        let mut buffer = plaintext.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buffer,
            )
            .map_err(|_| AppError::internal("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    /// Decrypts what [`KeyRing::seal`] produced for the same `context`. A
    /// value that was altered, moved or sealed under another root key fails.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, AppError> {
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| AppError::internal("sealed value is too short"))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| AppError::internal("sealed value has a bad nonce"))?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(context), &mut buffer)
            .map_err(|_| {
                AppError::internal("sealed value does not open: altered, or another root key")
            })?;
        Ok(plain.to_vec())
    }

    /// The keys of one controller's data: field encryption and blind
    /// indexes, derived with the controller's id in the label so that one
    /// controller's keys open nothing of another's.
    pub fn controller_keys(
        &self,
        controller: tutela_domain::ControllerId,
    ) -> Result<crate::ControllerKeys, AppError> {
        let id = controller.0.as_bytes();
        let derive_err = |_| AppError::internal("key derivation failed");
        let field: UnboundKey = self
            .prk
            .expand(&[b"controller field key v1", id], &AES_256_GCM)
            .map_err(derive_err)?
            .into();
        let blind: hmac::Key = self
            .prk
            .expand(&[b"controller blind index key v1", id], hmac::HMAC_SHA256)
            .map_err(derive_err)?
            .into();
        Ok(crate::ControllerKeys::new(LessSafeKey::new(field), blind))
    }

    /// A keyed digest of `value` in the namespace `kind` (`account`,
    /// `address`): stable for this root key, useless without it.
    pub fn throttle_key(&self, kind: &str, value: &str) -> SecretDigest {
        let mut ctx = hmac::Context::with_key(&self.throttle);
        ctx.update(kind.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        SecretDigest(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let keys = KeyRing::from_root(&[7; 32]).unwrap();
        let sealed = keys.seal(b"user-1", b"totp seed").unwrap();
        assert_eq!(keys.open(b"user-1", &sealed).unwrap(), b"totp seed");
        assert!(keys.open(b"user-2", &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(keys.open(b"user-1", &altered).is_err());
        let other = KeyRing::from_root(&[8; 32]).unwrap();
        assert!(other.open(b"user-1", &sealed).is_err());
        assert_ne!(
            keys.seal(b"user-1", b"totp seed").unwrap(),
            sealed,
            "fresh nonce"
        );
    }

    #[test]
    fn throttle_keys_are_keyed_and_namespaced() {
        let a = KeyRing::from_root(&[1; 32]).unwrap();
        let b = KeyRing::from_root(&[2; 32]).unwrap();
        assert_eq!(
            a.throttle_key("account", "mario"),
            a.throttle_key("account", "mario")
        );
        assert_ne!(
            a.throttle_key("account", "mario"),
            a.throttle_key("address", "mario")
        );
        assert_ne!(
            a.throttle_key("account", "mario"),
            b.throttle_key("account", "mario")
        );
    }
}

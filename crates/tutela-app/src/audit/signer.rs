//! The audit trail's signing key (Ed25519) and the set of public keys a
//! verifier trusts. ring, as for the other keys: already in the build.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use tutela_domain::audit::{Checkpoint, KeyId, SignatureCheck, TreeHead, key_id};

use crate::AppError;

/// Signs tree heads. Never printed.
pub struct AuditSigner {
    pair: Ed25519KeyPair,
    key_id: KeyId,
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditSigner({})", hex::encode(self.key_id))
    }
}

impl AuditSigner {
    /// A new private key in PKCS#8 (v2) form, for the data directory.
    pub fn generate_pkcs8() -> Result<Vec<u8>, AppError> {
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| AppError::internal("generating the audit signing key failed"))
    }

    /// Loads a key written by [`AuditSigner::generate_pkcs8`].
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self, AppError> {
        let pair = Ed25519KeyPair::from_pkcs8(bytes).map_err(|_| {
            AppError::internal("the audit signing key file is not an Ed25519 PKCS#8 key")
        })?;
        let key_id = key_id(pair.public_key().as_ref());
        Ok(Self { pair, key_id })
    }

    /// A throwaway key, for tests and benchmarks.
    pub fn ephemeral() -> Result<Self, AppError> {
        Self::from_pkcs8(&Self::generate_pkcs8()?)
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// Which key this is.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Signs a tree head.
    pub fn sign(&self, head: &TreeHead) -> [u8; 64] {
        let signature = self.pair.sign(&head.message());
        let mut out = [0u8; 64];
        out.copy_from_slice(signature.as_ref().get(..64).unwrap_or(&[0; 64]));
        out
    }

    /// A checkpoint of `head`.
    pub fn checkpoint(&self, head: TreeHead) -> Checkpoint {
        Checkpoint {
            head,
            key_id: self.key_id,
            signature: self.sign(&head).to_vec(),
        }
    }
}

/// The public keys a verifier accepts signatures from.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<(KeyId, Vec<u8>)>,
}

impl TrustedKeys {
    /// Trusts these 32-byte Ed25519 public keys.
    pub fn new(public_keys: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self {
            keys: public_keys.into_iter().map(|k| (key_id(&k), k)).collect(),
        }
    }

    /// Trusts the signer's own public key.
    pub fn of(signer: &AuditSigner) -> Self {
        Self::new([signer.public_key().to_vec()])
    }

    /// The trusted keys.
    pub fn public_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().map(|(_, k)| k.as_slice())
    }
}

impl SignatureCheck for TrustedKeys {
    fn verify(&self, key_id: &KeyId, message: &[u8], signature: &[u8]) -> bool {
        self.keys
            .iter()
            .filter(|(id, _)| id == key_id)
            .any(|(_, key)| {
                UnparsedPublicKey::new(&ED25519, key)
                    .verify(message, signature)
                    .is_ok()
            })
    }
}

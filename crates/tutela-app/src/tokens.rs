//! Random tokens and their stored digests.

use sha2::{Digest, Sha256};
use tutela_domain::SecretDigest;

use crate::AppError;

/// 32 bytes from the operating system's CSPRNG, hex-encoded (64 characters).
pub fn random_token_hex() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::internal(format!("random source: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The SHA-256 digest under which a high-entropy token is stored. A plain hash
/// suffices (no salt, no stretching) because the token is 256 random bits.
pub fn digest(token: &str) -> SecretDigest {
    SecretDigest(Sha256::digest(token.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token_hex().unwrap();
        let b = random_token_hex().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
    }
}

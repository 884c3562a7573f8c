//! One controller's data keys: AES-256-GCM for payment and special-category
//! fields, HMAC-SHA256 for blind indexes. Derived from the root key
//! ([`crate::KeyRing::controller_keys`]); never printed.

use std::fmt;

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use ring::hmac;
use tutela_domain::{AttributeName, BlindIndex, LookupKey, SubjectId};

use crate::AppError;

/// A controller's field and blind-index keys.
pub struct ControllerKeys {
    field: LessSafeKey,
    blind: hmac::Key,
}

impl fmt::Debug for ControllerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ControllerKeys(..)")
    }
}

/// Nonces for many seals in a row: a random 64-bit prefix and a counter,
/// instead of a system call per field. Unique as long as prefixes do not
/// repeat, which at 2^-64 per pair of sequences they do not; a fresh prefix
/// is drawn when the counter would wrap.
#[derive(Debug)]
pub struct NonceSequence {
    prefix: [u8; 8],
    counter: u32,
}

impl NonceSequence {
    /// A sequence with a fresh random prefix.
    pub fn new() -> Result<Self, AppError> {
        let mut prefix = [0u8; 8];
        getrandom::fill(&mut prefix)
            .map_err(|e| AppError::internal(format!("random source: {e}")))?;
        Ok(Self { prefix, counter: 0 })
    }

    fn next(&mut self) -> Result<[u8; NONCE_LEN], AppError> {
        if self.counter == u32::MAX {
            *self = Self::new()?;
        }
        self.counter += 1;
        let mut nonce = [0u8; NONCE_LEN];
        let (head, tail) = nonce.split_at_mut(8);
        head.copy_from_slice(&self.prefix);
        tail.copy_from_slice(&self.counter.to_be_bytes());
        Ok(nonce)
    }
}

/// What a sealed field is bound to: its subject and attribute, so a value
/// moved to another person or field does not open.
fn field_context(subject: SubjectId, name: &AttributeName) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + name.as_str().len());
    aad.extend_from_slice(subject.0.as_bytes());
    aad.extend_from_slice(name.as_str().as_bytes());
    aad
}

impl ControllerKeys {
    pub(crate) fn new(field: LessSafeKey, blind: hmac::Key) -> Self {
        Self { field, blind }
    }

    /// Encrypts one field value. Output: nonce, ciphertext, tag.
    pub fn seal_field(
        &self,
        nonces: &mut NonceSequence,
        subject: SubjectId,
        name: &AttributeName,
        plaintext: &str,
    ) -> Result<Vec<u8>, AppError> {
        let nonce = nonces.next()?;
        let mut buffer = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
        buffer.extend_from_slice(plaintext.as_bytes());
        self.field
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(field_context(subject, name)),
                &mut buffer,
            )
            .map_err(|_| AppError::internal("field sealing failed"))?;
        let mut out = nonce.to_vec();
        out.append(&mut buffer);
        Ok(out)
    }

    /// Decrypts what [`ControllerKeys::seal_field`] produced for the same
    /// subject and attribute.
    pub fn open_field(
        &self,
        subject: SubjectId,
        name: &AttributeName,
        sealed: &[u8],
    ) -> Result<String, AppError> {
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| AppError::internal("sealed field is too short"))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| AppError::internal("sealed field has a bad nonce"))?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .field
            .open_in_place(nonce, Aad::from(field_context(subject, name)), &mut buffer)
            .map_err(|_| {
                AppError::internal("sealed field does not open: altered, moved, or another key")
            })?;
        String::from_utf8(plain.to_vec())
            .map_err(|_| AppError::internal("sealed field is not text"))
    }

    /// A recording operator's pseudonym: stable within the controller, so
    /// reviews can be grouped by operator, and meaningless without the key.
    pub fn operator_pseudonym(&self, operator: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.blind);
        ctx.update(b"tutela recording operator v1\0");
        ctx.update(operator.as_bytes());
        let tag = ctx.sign();
        format!(
            "op-{}",
            hex::encode(tag.as_ref().get(..8).unwrap_or(&[0u8; 8]))
        )
    }

    /// The keyed digest under which a data-subject request's one-time code
    /// for one person is stored: useless without the key, and bound to the
    /// request and the person.
    pub fn code_digest(
        &self,
        request: tutela_domain::RequestId,
        subject: SubjectId,
        code: &str,
    ) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.blind);
        ctx.update(b"tutela request code v1\0");
        ctx.update(request.0.as_bytes());
        ctx.update(subject.0.as_bytes());
        ctx.update(code.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref().get(..32).unwrap_or(&[0u8; 32]));
        out
    }

    /// The blind index of a normalised identifier.
    pub fn blind(&self, key: LookupKey<'_>, scratch: &mut Vec<u8>) -> BlindIndex {
        scratch.clear();
        key.write_to(scratch);
        let tag = hmac::sign(&self.blind, scratch);
        let mut out = [0u8; 16];
        out.copy_from_slice(tag.as_ref().get(..16).unwrap_or(&[0u8; 16]));
        BlindIndex(out)
    }
}

#[cfg(test)]
mod tests {
    use tutela_domain::{ContactKind, ContactPoint, ControllerId};

    use crate::KeyRing;

    use super::*;

    #[test]
    fn fields_open_only_for_their_subject_and_attribute() {
        let ring = KeyRing::from_root(&[3; 32]).unwrap();
        let controller = ControllerId::generate();
        let keys = ring.controller_keys(controller).unwrap();
        let mut nonces = NonceSequence::new().unwrap();
        let subject = SubjectId::generate();
        let iban: AttributeName = "iban".parse().unwrap();
        let sealed = keys
            .seal_field(&mut nonces, subject, &iban, "IT60X0542811101000000123456")
            .unwrap();
        assert_eq!(
            keys.open_field(subject, &iban, &sealed).unwrap(),
            "IT60X0542811101000000123456"
        );
        assert!(
            keys.open_field(SubjectId::generate(), &iban, &sealed)
                .is_err()
        );
        assert!(
            keys.open_field(subject, &"card".parse().unwrap(), &sealed)
                .is_err()
        );
        let other = ring.controller_keys(ControllerId::generate()).unwrap();
        assert!(other.open_field(subject, &iban, &sealed).is_err());
        let again = keys
            .seal_field(&mut nonces, subject, &iban, "IT60X0542811101000000123456")
            .unwrap();
        assert_ne!(again, sealed, "a fresh nonce each time");
    }

    #[test]
    fn blind_indexes_are_keyed_per_controller_and_kind() {
        let ring = KeyRing::from_root(&[3; 32]).unwrap();
        let a = ring.controller_keys(ControllerId::generate()).unwrap();
        let b = ring.controller_keys(ControllerId::generate()).unwrap();
        let phone = ContactPoint::from_stored(ContactKind::Phone, "+393471234567").unwrap();
        let mut scratch = Vec::new();
        let pa = a.blind(LookupKey::Contact(&phone), &mut scratch);
        assert_eq!(pa, a.blind(LookupKey::Contact(&phone), &mut scratch));
        assert_ne!(pa, b.blind(LookupKey::Contact(&phone), &mut scratch));
        assert_ne!(
            pa,
            a.blind(
                LookupKey::Identifier("national_id", "+393471234567"),
                &mut scratch
            )
        );
    }
}

//! The tamper-evident audit trail: events, their canonical bytes, the chains
//! and Merkle trees they are sealed into, and the checks that find the first
//! altered, missing, reordered or inserted event.
//!
//! Signing and signature checking are the application's (it holds the keys);
//! here they are a trait, so everything else is pure and testable.

pub mod chain;
pub mod encoding;
pub mod event;
pub mod merkle;

pub use chain::{
    AuditIndex, AuditRecord, Break, ChainReport, ChainState, ChainVerifier, Checkpoint, KeyId,
    Prechecked, Problem, RecordRef, Seal, SignatureCheck, TreeHead, key_id,
};
pub use encoding::{DecodeError, StoredEvent, decode, encode};
pub use event::{
    Action, Actor, AuditEvent, ChainId, ClientContext, ObjectKind, ObjectRef, ObjectText, Outcome,
    Pseudonym, ReasonCode,
};
pub use merkle::{Frontier, Hash, ProofError};

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::Timestamp;
    use crate::ids::ControllerId;

    /// A stand-in signer: the "signature" is SHA-256 of key id and message,
    /// twice. Enough to test the verifier's bookkeeping, not cryptography.
    struct FakeKeys;
    const KEY: KeyId = [9; 8];

    fn fake_sign(message: &[u8]) -> [u8; 64] {
        let h: [u8; 32] = Sha256::new()
            .chain_update(KEY)
            .chain_update(message)
            .finalize()
            .into();
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&h);
        s[32..].copy_from_slice(&h);
        s
    }

    impl SignatureCheck for FakeKeys {
        fn verify(&self, key_id: &KeyId, message: &[u8], signature: &[u8]) -> bool {
            *key_id == KEY && signature == fake_sign(message)
        }
    }

    fn sealed_chain(chain: ChainId, batches: &[usize]) -> (Vec<AuditRecord>, Vec<Checkpoint>) {
        let mut state = ChainState::genesis(chain);
        let mut records = Vec::new();
        let mut checkpoints = Vec::new();
        let mut n = 0i64;
        for &batch in batches {
            let mut last = None;
            for _ in 0..batch {
                n += 1;
                let event = AuditEvent::new(
                    Timestamp::from_second(1_800_000_000 + n).unwrap(),
                    Actor::Operator,
                    Action::AuditRead,
                    Outcome::Allowed,
                );
                let event = match chain {
                    ChainId::Controller(c) => event.controller(c),
                    ChainId::Platform => event,
                };
                records.push(state.append(&event));
                last = Some(event.instant);
            }
            let instant = last.unwrap();
            let head = state.head(instant);
            let seal = Seal {
                key_id: KEY,
                signature: fake_sign(&head.message()),
                frontier: state.frontier().clone(),
            };
            records.last_mut().unwrap().seal = Some(seal.encode());
            checkpoints.push(Checkpoint {
                head,
                key_id: KEY,
                signature: fake_sign(&head.message()).to_vec(),
            });
        }
        (records, checkpoints)
    }

    fn verify(
        records: &[AuditRecord],
        checkpoints: Vec<Checkpoint>,
        chain: ChainId,
    ) -> Result<ChainReport, Break> {
        let mut v = ChainVerifier::new(chain, checkpoints, &FakeKeys);
        for r in records {
            v.feed(r.view())?;
        }
        v.finish()
    }

    #[test]
    fn a_link_prechecked_from_another_hash_than_the_chains_is_checked_again_in_order() {
        let chain = ChainId::Controller(ControllerId::generate());
        let (records, cps) = sealed_chain(chain, &[3, 1, 4]);
        let precheck = |r: &AuditRecord, previous: Option<&Hash>| {
            let view = r.view();
            let event = StoredEvent::parse(view.body);
            Prechecked::new(view, event.as_ref().map_err(Clone::clone), previous)
        };
        // Each record prechecked from a wrong previous hash: its link does
        // not follow from it, yet the chain is intact.
        let mut v = ChainVerifier::new(chain, cps.clone(), &FakeKeys);
        for r in &records {
            v.feed_prechecked(precheck(r, Some(&[7; 32]))).unwrap();
        }
        assert_eq!(v.finish().unwrap().events, 8);
        // From the right previous hashes, the same verdict.
        let mut v = ChainVerifier::new(chain, cps, &FakeKeys);
        let mut previous = None;
        for r in &records {
            v.feed_prechecked(precheck(r, previous.as_ref())).unwrap();
            previous = Some(r.chain_hash);
        }
        assert_eq!(v.finish().unwrap().events, 8);
    }

    #[test]
    fn an_intact_chain_verifies_and_each_kind_of_tampering_is_named() {
        let chain = ChainId::Controller(ControllerId::generate());
        let (records, cps) = sealed_chain(chain, &[3, 1, 4]);
        let report = verify(&records, cps.clone(), chain).unwrap();
        assert_eq!((report.events, report.checkpoints), (8, 3));
        assert_eq!(
            ChainState::resume(records.last().unwrap()).unwrap().size(),
            8
        );

        let problem_at = |records: &[AuditRecord], cps: Vec<Checkpoint>| {
            let b = verify(records, cps, chain).unwrap_err();
            (b.seq, b.problem)
        };

        let mut edited = records.clone();
        edited[5].body[40] ^= 1;
        assert!(matches!(problem_at(&edited, cps.clone()), (5, _)));

        let mut deleted = records.clone();
        deleted.remove(2);
        assert_eq!(problem_at(&deleted, cps.clone()), (2, Problem::Missing));

        let mut swapped = records.clone();
        swapped.swap(1, 2);
        (swapped[1].seq, swapped[2].seq) = (1, 2);
        assert!(matches!(
            problem_at(&swapped, cps.clone()),
            (1, Problem::Misplaced { seq: 2, .. })
        ));

        // An appended event with a correct hash but no signature.
        let mut state = ChainState::resume(records.last().unwrap()).unwrap();
        let mut extra = records.clone();
        let forged = AuditEvent::new(
            Timestamp::UNIX_EPOCH,
            Actor::Operator,
            Action::AuditRead,
            Outcome::Allowed,
        );
        let forged = match chain {
            ChainId::Controller(c) => forged.controller(c),
            ChainId::Platform => forged,
        };
        extra.push(state.append(&forged));
        assert_eq!(problem_at(&extra, cps.clone()), (8, Problem::UnsignedTail));

        // Events removed from the end, but a checkpoint remembers them.
        assert_eq!(
            problem_at(&records[..4], cps.clone()),
            (4, Problem::CheckpointBeyondEnd { size: 8 })
        );
        // Rewriting a whole batch with recomputed hashes: the seal catches it.
        let mut rewritten = records[..3].to_vec();
        let mut state = ChainState::resume(&rewritten[2]).unwrap();
        let mut r = state.append(&forged);
        r.seal = records[3].seal.clone();
        rewritten.push(r);
        assert!(matches!(
            problem_at(&rewritten, Vec::new()),
            (3, Problem::BadSeal | Problem::BadSignature { since: 3 })
        ));
    }
}

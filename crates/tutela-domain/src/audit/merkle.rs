//! RFC 6962 (Certificate Transparency) Merkle trees over audit events: tree
//! heads, inclusion proofs and consistency proofs, plus the compact frontier
//! the appender keeps so a new tree head costs O(log n), not O(n).
//!
//! Written here rather than taken from `ct-merkle`: that crate keeps the whole
//! tree in memory, while Tutela needs the tree head after every appended batch
//! from a frontier of log2(n) hashes stored with the chain, and proofs over
//! leaf hashes read back from storage. The algorithms are the RFC's own
//! (RFC 9162 §2.1), and the tests check them against its published vectors.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash of an empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 || data)`: the hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly smaller than `n` (for `n >= 2`): where
/// RFC 6962 splits a tree of `n` leaves.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The tree head `MTH(D[n])` of `leaves` (leaf hashes).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [only] => *only,
        _ => match leaves.split_at_checked(split(leaves.len())) {
            Some((left, right)) => node_hash(&root(left), &root(right)),
            None => empty_root(),
        },
    }
}

/// Why a proof cannot be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf {index} is not in a tree of {size} events")]
    LeafOutOfRange {
        /// The asked leaf.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The first tree is larger than the second, or the second larger than the log.
    #[error("no consistency proof from {first} to {second} events")]
    BadRange {
        /// The older tree size.
        first: u64,
        /// The newer tree size.
        second: u64,
    },
}

/// The audit path `PATH(index, D[n])` proving that leaf `index` is in the
/// tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaves.len() as u64;
    if index >= size {
        return Err(ProofError::LeafOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(leaves, index as usize, &mut proof);
    Ok(proof)
}

fn path(leaves: &[Hash], m: usize, proof: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    let Some((left, right)) = leaves.split_at_checked(k) else {
        return;
    };
    if m < k {
        path(left, m, proof);
        proof.push(root(right));
    } else {
        path(right, m - k, proof);
        proof.push(root(left));
    }
}

/// The proof `PROOF(first, D[n])` that the tree of the first `first` leaves
/// is a prefix of the tree of all `leaves`.
pub fn consistency_proof(leaves: &[Hash], first: u64) -> Result<Vec<Hash>, ProofError> {
    let second = leaves.len() as u64;
    if first > second {
        return Err(ProofError::BadRange { first, second });
    }
    let mut proof = Vec::new();
    if first > 0 && first < second {
        subproof(first as usize, leaves, true, &mut proof);
    }
    Ok(proof)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            proof.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    let Some((left, right)) = leaves.split_at_checked(k) else {
        return;
    };
    if m <= k {
        subproof(m, left, complete, proof);
        proof.push(root(right));
    } else {
        subproof(m - k, right, false, proof);
        proof.push(root(left));
    }
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Checks a consistency proof between two tree heads (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        return proof.is_empty() && *first_root == empty_root();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *first_root && sr == *second_root
}

/// The right edge of a tree: one hash per perfect subtree, largest first.
/// Appending a leaf and computing the head both cost O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => carry = node_hash(&left, &carry),
                None => break,
            }
            size >>= 1;
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// The tree head of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Stored form: the size (8 bytes, big-endian) then the peaks.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.peaks.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for p in &self.peaks {
            out.extend_from_slice(p);
        }
        out
    }

    /// Parses [`Frontier::encode`]'s output; `None` when it is malformed
    /// (wrong length for the size it declares).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (size, rest) = bytes.split_first_chunk::<8>()?;
        let size = u64::from_be_bytes(*size);
        let (chunks, tail) = rest.as_chunks::<32>();
        if !tail.is_empty() || chunks.len() != size.count_ones() as usize {
            return None;
        }
        Some(Self {
            size,
            peaks: chunks.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        let v = hex_decode(s);
        let mut out = [0u8; 32];
        out.copy_from_slice(&v);
        out
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The RFC 6962 reference leaves (certificate-transparency test data).
    fn reference_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|d| leaf_hash(&hex_decode(d)))
        .collect()
    }

    const REFERENCE_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn tree_heads_match_the_rfc_6962_vectors_from_the_tree_and_the_frontier() {
        let leaves = reference_leaves();
        let mut frontier = Frontier::default();
        assert_eq!(frontier.root(), h(REFERENCE_ROOTS[0]));
        for n in 0..=leaves.len() {
            assert_eq!(root(&leaves[..n]), h(REFERENCE_ROOTS[n]), "size {n}");
            if n > 0 {
                frontier.push(leaves[n - 1]);
                assert_eq!(frontier.root(), h(REFERENCE_ROOTS[n]), "frontier size {n}");
                assert_eq!(Frontier::decode(&frontier.encode()), Some(frontier.clone()));
            }
        }
        assert_eq!(Frontier::decode(&[0; 9]), None);
    }

    #[test]
    fn inclusion_proofs_match_the_rfc_6962_vectors() {
        let leaves = reference_leaves();
        let cases: [(u64, usize, &[&str]); 3] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
        ];
        for (index, size, expected) in cases {
            let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
            let proof = inclusion_proof(&leaves[..size], index).unwrap();
            assert_eq!(proof, expected, "leaf {index} of {size}");
            let tree_root = h(REFERENCE_ROOTS[size]);
            let leaf = leaves[index as usize];
            assert!(verify_inclusion(
                &leaf,
                index,
                size as u64,
                &proof,
                &tree_root
            ));
            assert!(!verify_inclusion(
                &leaf,
                index + 1,
                size as u64,
                &proof,
                &tree_root
            ));
            assert!(!verify_inclusion(
                &leaves[7 - index as usize],
                index,
                size as u64,
                &proof,
                &tree_root
            ));
        }
        assert!(inclusion_proof(&leaves, 8).is_err());
    }

    #[test]
    fn consistency_proofs_match_the_rfc_6962_vectors() {
        let leaves = reference_leaves();
        let cases: [(u64, usize, &[&str]); 4] = [
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                2,
                8,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
        ];
        for (first, second, expected) in cases {
            let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
            let proof = consistency_proof(&leaves[..second], first).unwrap();
            assert_eq!(proof, expected, "{first} -> {second}");
            let (r1, r2) = (
                h(REFERENCE_ROOTS[first as usize]),
                h(REFERENCE_ROOTS[second]),
            );
            assert!(verify_consistency(first, second as u64, &r1, &r2, &proof));
            assert!(!verify_consistency(first, second as u64, &r2, &r2, &proof));
            assert!(!verify_consistency(
                first,
                second as u64,
                &r1,
                &r2,
                &proof[1..]
            ));
        }
    }

    #[test]
    fn every_proof_of_every_small_tree_verifies_and_a_flipped_bit_does_not() {
        let leaves: Vec<Hash> = (0u16..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=leaves.len() {
            let tree = &leaves[..n];
            let r = root(tree);
            for i in 0..n as u64 {
                let proof = inclusion_proof(tree, i).unwrap();
                assert!(verify_inclusion(&tree[i as usize], i, n as u64, &proof, &r));
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = {
                        let mut f = *first;
                        f[3] ^= 1;
                        f
                    };
                    assert!(!verify_inclusion(&tree[i as usize], i, n as u64, &bad, &r));
                }
            }
            for m in 0..=n as u64 {
                let proof = consistency_proof(tree, m).unwrap();
                let r1 = root(&tree[..m as usize]);
                assert!(verify_consistency(m, n as u64, &r1, &r, &proof), "{m}->{n}");
                if m > 0 && m < n as u64 {
                    assert!(!verify_consistency(m, n as u64, &r, &r1, &proof));
                }
            }
        }
    }
}

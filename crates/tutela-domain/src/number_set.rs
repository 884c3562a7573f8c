//! A compact, immutable set of phone numbers: what a do-not-call registry
//! snapshot is once loaded.
//!
//! Numbers are E.164 digits read as one integer (`+393471234567` is
//! 393471234567; E.164 never starts with 0, so the integer is unique). The
//! set is Elias-Fano coded with the `sucds` crate: about 1.5 bytes per number
//! on a 30-million-number registry and 1 byte on a 250-million one, against 8
//! for a sorted array and 18 for a hash set, so the largest registries fit in
//! memory on one node. Lookups are exact (no false positives) and take well
//! under a microsecond; batch scrubbing sorts the queries and walks the set
//! once instead ([`NumberSet::hits_in_sorted`]).

use std::io::{Read, Write};

use sucds::Serializable;
use sucds::mii_sequences::{EliasFano, EliasFanoBuilder};

/// Why a set could not be built or read back.
#[derive(Debug, thiserror::Error)]
pub enum NumberSetError {
    /// The coder refused the input (it should not: input is sorted first).
    #[error("the number set could not be built: {0}")]
    Build(String),
    /// The serialised form is unreadable.
    #[error("the number set is unreadable: {0}")]
    Corrupt(String),
}

/// An immutable set of numbers with exact membership.
#[derive(Debug, Clone, Default)]
pub struct NumberSet {
    /// `None` for the empty set, which the coder cannot represent.
    coded: Option<EliasFano>,
    /// The smallest number, subtracted before coding: a registry's numbers
    /// share a country code, and Elias-Fano spends log2(range / count) bits
    /// per number, so coding from 0 would cost about 7 bits more each.
    base: u64,
}

impl NumberSet {
    /// Builds the set of `numbers` (any order, duplicates allowed).
    pub fn from_numbers(mut numbers: Vec<u64>) -> Result<Self, NumberSetError> {
        numbers.sort_unstable();
        numbers.dedup();
        Self::from_sorted_unique(&numbers)
    }

    /// Builds the set from numbers already sorted ascending without repeats.
    pub fn from_sorted_unique(numbers: &[u64]) -> Result<Self, NumberSetError> {
        let (Some(&base), Some(&largest)) = (numbers.first(), numbers.last()) else {
            return Ok(Self::default());
        };
        let universe = usize::try_from(largest - base)
            .ok()
            .and_then(|n| n.checked_add(1))
            .ok_or_else(|| NumberSetError::Build("number out of range".to_owned()))?;
        let mut builder = EliasFanoBuilder::new(universe, numbers.len())
            .map_err(|e| NumberSetError::Build(e.to_string()))?;
        for &number in numbers {
            let value = usize::try_from(number.saturating_sub(base))
                .map_err(|_| NumberSetError::Build("number out of range".to_owned()))?;
            builder
                .push(value)
                .map_err(|e| NumberSetError::Build(e.to_string()))?;
        }
        // Rank support is what `successor` (the exact lookup) needs.
        Ok(Self {
            coded: Some(builder.build().enable_rank()),
            base,
        })
    }

    /// How many numbers the set holds.
    pub fn len(&self) -> usize {
        self.coded.as_ref().map_or(0, EliasFano::len)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `number` is in the set. Exact.
    pub fn contains(&self, number: u64) -> bool {
        let Some(offset) = number.checked_sub(self.base) else {
            return false;
        };
        let (Some(coded), Ok(value)) = (&self.coded, usize::try_from(offset)) else {
            return false;
        };
        value < coded.universe() && coded.successor(value) == Some(value)
    }

    /// The numbers in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.coded
            .iter()
            .flat_map(|coded| coded.iter(0))
            .map(|value| value as u64 + self.base)
    }

    /// For queries sorted ascending (repeats allowed), one flag per query:
    /// whether it is in the set. One pass over both, which beats a lookup per
    /// query once there are more than a few thousand queries.
    pub fn hits_in_sorted(&self, sorted: &[u64]) -> Vec<bool> {
        let mut hits = Vec::with_capacity(sorted.len());
        let mut members = self.iter().peekable();
        for &query in sorted {
            while members.next_if(|&member| member < query).is_some() {}
            hits.push(members.peek() == Some(&query));
        }
        hits
    }

    /// Bytes the set takes in memory and on disk.
    pub fn size_in_bytes(&self) -> usize {
        self.coded
            .as_ref()
            .map_or(0, |coded| coded.size_in_bytes() + 8)
    }

    /// Writes the coded set (no header; see the registry snapshot format).
    pub fn write_to<W: Write>(&self, mut writer: W) -> Result<(), NumberSetError> {
        let present = u8::from(self.coded.is_some());
        writer
            .write_all(&[present])
            .map_err(|e| NumberSetError::Corrupt(e.to_string()))?;
        if let Some(coded) = &self.coded {
            writer
                .write_all(&self.base.to_le_bytes())
                .map_err(|e| NumberSetError::Corrupt(e.to_string()))?;
            coded
                .serialize_into(writer)
                .map_err(|e| NumberSetError::Corrupt(e.to_string()))?;
        }
        Ok(())
    }

    /// Reads a set written by [`NumberSet::write_to`]. The caller checks the
    /// bytes' digest first: the coder trusts its input.
    pub fn read_from<R: Read>(mut reader: R) -> Result<Self, NumberSetError> {
        let mut present = [0_u8];
        reader
            .read_exact(&mut present)
            .map_err(|e| NumberSetError::Corrupt(e.to_string()))?;
        match present {
            [0] => Ok(Self::default()),
            [1] => {
                let mut base = [0_u8; 8];
                reader
                    .read_exact(&mut base)
                    .map_err(|e| NumberSetError::Corrupt(e.to_string()))?;
                let coded = EliasFano::deserialize_from(reader)
                    .map_err(|e| NumberSetError::Corrupt(e.to_string()))?;
                Ok(Self {
                    coded: Some(coded),
                    base: u64::from_le_bytes(base),
                })
            }
            _ => Err(NumberSetError::Corrupt("bad presence flag".to_owned())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn empty_set_holds_nothing_and_round_trips() {
        let set = NumberSet::from_numbers(vec![]).unwrap();
        assert!(set.is_empty());
        assert!(!set.contains(0));
        let mut bytes = Vec::new();
        set.write_to(&mut bytes).unwrap();
        assert!(NumberSet::read_from(bytes.as_slice()).unwrap().is_empty());
    }

    #[test]
    fn lookups_at_the_edges() {
        let set =
            NumberSet::from_numbers(vec![393_471_234_567, 0, 999_999_999_999_999, 5]).unwrap();
        assert_eq!(set.len(), 4);
        for n in [0, 5, 393_471_234_567, 999_999_999_999_999] {
            assert!(set.contains(n), "{n}");
        }
        for n in [1, 4, 6, 393_471_234_566, 393_471_234_568, u64::MAX] {
            assert!(!set.contains(n), "{n}");
        }
    }

    #[test]
    fn a_registry_sized_set_takes_under_two_bytes_per_number() {
        // One million Italian mobiles out of 700 million possible: the
        // density of a 30-million-number registry over the whole Italian
        // numbering space is lower, so it codes smaller still.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let numbers: Vec<u64> = (0..1_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                393_200_000_000 + state % 700_000_000
            })
            .collect();
        let set = NumberSet::from_numbers(numbers).unwrap();
        let per_number = set.size_in_bytes() as f64 / set.len() as f64;
        assert!(per_number < 2.0, "{per_number} bytes per number");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The compact set answers exactly as a HashSet, one by one and in a
        /// sorted batch, before and after a round trip through bytes.
        #[test]
        fn answers_exactly_as_a_hash_set(
            members in prop::collection::vec(0_u64..2_000_000_000_000, 0..2000),
            probes in prop::collection::vec(0_u64..2_000_000_000_000, 0..500),
        ) {
            let expected: HashSet<u64> = members.iter().copied().collect();
            let built = NumberSet::from_numbers(members.clone()).unwrap();
            let mut bytes = Vec::new();
            built.write_to(&mut bytes).unwrap();
            let read = NumberSet::read_from(bytes.as_slice()).unwrap();
            prop_assert_eq!(read.len(), expected.len());
            // Probe members too, and their neighbours.
            let mut all: Vec<u64> = probes.iter().chain(members.iter()).copied()
                .flat_map(|n| [n.saturating_sub(1), n, n + 1]).collect();
            for set in [&built, &read] {
                for &n in &all {
                    prop_assert_eq!(set.contains(n), expected.contains(&n), "{}", n);
                }
            }
            all.sort_unstable();
            let hits = read.hits_in_sorted(&all);
            for (n, hit) in all.iter().zip(hits) {
                prop_assert_eq!(hit, expected.contains(n));
            }
            let listed: Vec<u64> = read.iter().collect();
            let mut sorted: Vec<u64> = expected.into_iter().collect();
            sorted.sort_unstable();
            prop_assert_eq!(listed, sorted);
        }
    }
}

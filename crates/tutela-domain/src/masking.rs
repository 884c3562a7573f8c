//! Masking by default: which role sees which data category in clear. A
//! table, so the policy can be read in one place and reviewed by a DPO.

use crate::agreement::DataCategory;
use crate::user::Role;

/// How a field is shown to a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The value itself.
    Clear,
    /// A masked form that keeps only the last characters ([`mask`]).
    Masked,
    /// Not shown at all, not even that it exists.
    Hidden,
}

use Visibility::{Clear, Hidden, Masked};

/// Visibility per role, in the order of [`DataCategory::ALL`]: identity,
/// contact, contractual, payment, special, behavioural. An agent sees what a
/// call needs; a DPO sees more; payment and special-category data are never
/// clear by default for anyone (see [`visibility`] for revealing them).
pub const ROLE_VISIBILITY: [(Role, [Visibility; 6]); 6] = [
    (
        Role::Administrator,
        [Hidden, Hidden, Hidden, Hidden, Hidden, Hidden],
    ),
    (Role::Dpo, [Clear, Clear, Clear, Masked, Masked, Clear]),
    (
        Role::Supervisor,
        [Clear, Masked, Clear, Masked, Hidden, Masked],
    ),
    (
        Role::QualityReviewer,
        [Masked, Hidden, Hidden, Hidden, Hidden, Masked],
    ),
    (Role::Agent, [Clear, Masked, Masked, Masked, Hidden, Hidden]),
    (
        Role::Auditor,
        [Masked, Masked, Masked, Hidden, Hidden, Masked],
    ),
];

/// Visibility for machine clients (a CRM synchronising records, a dialer):
/// what integration needs, never payment or special-category data.
pub const CLIENT_VISIBILITY: [Visibility; 6] = [Clear, Clear, Clear, Hidden, Hidden, Clear];

/// Who is looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// A person with this role.
    Role(Role),
    /// A machine client.
    Client,
}

/// How `viewer` sees a field of `category`. `reveal` is the caller's explicit,
/// recorded request to see payment or special-category data in clear for the
/// declared purpose: it turns `Masked` into `Clear` for those two categories
/// only, and never makes a hidden field visible.
pub fn visibility(viewer: Viewer, category: DataCategory, reveal: bool) -> Visibility {
    let row = match viewer {
        Viewer::Role(role) => ROLE_VISIBILITY
            .iter()
            .find(|(r, _)| *r == role)
            .map_or([Hidden; 6], |(_, row)| *row),
        Viewer::Client => CLIENT_VISIBILITY,
    };
    let base = DataCategory::ALL
        .iter()
        .position(|c| *c == category)
        .and_then(|index| row.get(index).copied())
        .unwrap_or(Hidden);
    let sensitive = matches!(category, DataCategory::Payment | DataCategory::Special);
    match base {
        Masked if reveal && sensitive => Clear,
        other => other,
    }
}

/// The masked form of a value: asterisks and the last two characters when
/// the value is at least eight characters long, asterisks only otherwise.
/// The number of asterisks is fixed, so the length does not show.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 8 {
        return "****".to_owned();
    }
    let tail: String = chars.iter().skip(chars.len() - 2).collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_is_never_clear_without_reveal() {
        for role in Role::ALL {
            assert_ne!(
                visibility(Viewer::Role(role), DataCategory::Payment, false),
                Clear,
                "{role:?}"
            );
            assert_ne!(
                visibility(Viewer::Role(role), DataCategory::Special, false),
                Clear,
                "{role:?}"
            );
        }
        assert_eq!(
            visibility(Viewer::Role(Role::Dpo), DataCategory::Payment, true),
            Clear
        );
        assert_eq!(
            visibility(Viewer::Role(Role::Auditor), DataCategory::Payment, true),
            Hidden
        );
        assert_eq!(
            visibility(Viewer::Client, DataCategory::Payment, true),
            Hidden
        );
        // Reveal does not unmask ordinary categories.
        assert_eq!(
            visibility(Viewer::Role(Role::Agent), DataCategory::Contact, true),
            Masked
        );
    }

    #[test]
    fn agents_see_less_than_the_dpo() {
        let seen = |role| {
            DataCategory::ALL
                .iter()
                .filter(|c| visibility(Viewer::Role(role), **c, false) == Clear)
                .count()
        };
        assert!(seen(Role::Agent) < seen(Role::Dpo));
        assert_eq!(seen(Role::Administrator), 0);
    }

    #[test]
    fn masks_keep_only_a_short_tail() {
        assert_eq!(mask("+393471234567"), "****67");
        assert_eq!(mask("Rossi"), "****");
        assert_eq!(mask("Müllerstraße"), "****ße");
    }
}

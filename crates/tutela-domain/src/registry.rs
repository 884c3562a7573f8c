//! National do-not-call registries, and what a registration does to consents
//! given before it. The effects are a table ([`default_voiding_rules`]) an
//! operator can read and replace, not branches in code.

use serde::{Deserialize, Serialize};

use crate::consent::Channel;

slug_enum!(
    /// A national do-not-call registry.
    Registry, "do-not-call registry" {
        /// Italy's Registro Pubblico delle Opposizioni.
        ItRpo = "it_rpo",
        /// France's Bloctel.
        FrBloctel = "fr_bloctel",
        /// Spain's Lista Robinson.
        EsRobinson = "es_robinson",
        /// The UK Telephone Preference Service.
        UkTps = "uk_tps",
        /// The UK Corporate Telephone Preference Service.
        UkCtps = "uk_ctps",
        /// The US National Do Not Call Registry.
        UsDnc = "us_dnc",
    }
);

/// A registration that voids consents given before it: on the channels
/// named, for direct-marketing purposes only (or for all purposes when
/// `direct_marketing_only` is false). History is not rewritten: the state at
/// an instant before the registration still shows the consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoidingRule {
    /// The registry whose registration has the effect.
    pub registry: Registry,
    /// The channels whose consents it voids.
    pub channels: Vec<Channel>,
    /// Whether only direct-marketing purposes are reached.
    pub direct_marketing_only: bool,
    /// Where the rule comes from, for the DPO reading the table.
    pub source: String,
}

/// The rules in force by default. Italy: registering on the RPO cancels
/// marketing consents given before it (phone and, since 2018, paper mail);
/// consents given after the registration stand (DPR 26/2022).
pub fn default_voiding_rules() -> Vec<VoidingRule> {
    vec![VoidingRule {
        registry: Registry::ItRpo,
        channels: vec![Channel::Phone, Channel::Post],
        direct_marketing_only: true,
        source: "DPR 26/2022 art. 1 c. 5 (Registro Pubblico delle Opposizioni)".to_owned(),
    }]
}

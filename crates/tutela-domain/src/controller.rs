//! Controllers: the client companies that own the data the contact centre
//! processes on their behalf (GDPR art. 28).

use crate::Timestamp;
use crate::ids::ControllerId;
use crate::text::{CountryCode, Label};

/// A controller as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// Stable identifier.
    pub id: ControllerId,
    /// Company name.
    pub name: Label,
    /// Country of establishment.
    pub country: CountryCode,
    /// How to reach the controller's data protection officer.
    pub dpo_contact: Label,
    /// The representative in the Union (art. 27), when the controller has one.
    pub representative: Option<Label>,
    /// When the controller was registered.
    pub created_at: Timestamp,
}

//! Machine clients: dialers, PBXs and CRMs that call the API with a token
//! scoped to one controller and to named capabilities.

use crate::Timestamp;
use crate::access::{Capability, ClientKind};
use crate::ids::{ClientId, ControllerId};
use crate::text::Label;
use crate::user::UserId;

/// A machine client as stored. Its token is stored only as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineClient {
    /// Identifier.
    pub id: ClientId,
    /// The one controller it works for.
    pub controller_id: ControllerId,
    /// A name for people (`dialer-milano-1`).
    pub name: Label,
    /// What it is.
    pub kind: ClientKind,
    /// What it may do; tenant capabilities only.
    pub capabilities: Vec<Capability>,
    /// When registered.
    pub created_at: Timestamp,
    /// Who registered it.
    pub created_by: UserId,
    /// When revoked, if it was; a revoked client's tokens never work again.
    pub revoked_at: Option<Timestamp>,
}

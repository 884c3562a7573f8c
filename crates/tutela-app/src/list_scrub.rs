//! Checking a stored lead list against the registry snapshots this node
//! holds, and recording which snapshot each check used: the decision then
//! refuses calls from the list once that check is older than the
//! registry's validity window.

use std::collections::BTreeMap;

use tutela_domain::audit::Action;
use tutela_domain::{ContactPoint, ListId, Registry, RegistryRef};
use tutela_storage::ListCheck;

use crate::grants::{ScrubLists, TenantGrant};
use crate::lists::list_event;
use crate::registries::LoadedRegistry;
use crate::{App, AppError};

/// Subjects read per page while scrubbing.
const PAGE: u32 = 2_000;

/// What a scrub of a stored list found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListScrub {
    /// The checks recorded, one per registry consulted.
    pub checks: Vec<ListCheck>,
    /// Registries the rules require for numbers on the list that this node
    /// has no snapshot of: not checked, so calls relying on them stay denied.
    pub missing: Vec<Registry>,
    /// Phone numbers read.
    pub numbers: u64,
}

impl App {
    /// Checks every phone number on a list of the grant's controller against
    /// the national registries of the number's country loaded on this node,
    /// and records one check per registry with the snapshot it used. An
    /// expired or purged list is refused (`list_expired`): it may not be
    /// used, so there is nothing to check it for.
    pub async fn scrub_list(
        &self,
        grant: &TenantGrant<ScrubLists>,
        list: ListId,
    ) -> Result<ListScrub, AppError> {
        let controller = grant.controller();
        let now = self.clock.now();
        let stored = self
            .store
            .lead_list(controller, list)
            .await?
            .ok_or(AppError::NotFound)?;
        if !stored.usable_at(now) {
            let mut event = list_event(grant, Action::ListScrub, Some(list), now)?;
            event.outcome = tutela_domain::audit::Outcome::denied("list_expired");
            self.record(vec![event]).await?;
            return Err(AppError::Conflict {
                code: "list_expired",
                message: "the list has expired (its rental ended or it was purged): it can no longer be used",
            });
        }
        let shelf = self.registries.current();
        let mut listed: BTreeMap<Registry, (u64, &LoadedRegistry)> = BTreeMap::new();
        let mut missing: Vec<Registry> = Vec::new();
        let mut numbers = 0u64;
        let mut after = None;
        loop {
            let page = self
                .store
                .list_subjects(controller, list, after, PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for contact in page.iter().flat_map(|s| s.contacts.iter()) {
                let ContactPoint::Phone(phone) = &contact.point else {
                    continue;
                };
                numbers += 1;
                let Some(country) = phone.region() else {
                    continue;
                };
                let Some(rules) = self.rules.get(country) else {
                    continue;
                };
                for rule in &rules.jurisdiction.rules.registries {
                    match shelf.get(&RegistryRef::National(rule.registry)) {
                        Some(loaded) => {
                            let hit = u64::from(loaded.snapshot.numbers.contains(phone.as_u64()));
                            listed
                                .entry(rule.registry)
                                .or_insert((0, loaded.as_ref()))
                                .0 += hit;
                        }
                        None if !missing.contains(&rule.registry) => missing.push(rule.registry),
                        None => {}
                    }
                }
            }
        }
        let checks: Vec<ListCheck> = listed
            .into_iter()
            .map(|(registry, (hits, loaded))| ListCheck {
                list_id: list,
                registry,
                as_of: loaded.snapshot.header.as_of,
                snapshot_sha256: loaded.sha256,
                checked_at: now,
                listed: hits,
            })
            .collect();
        let event = list_event(grant, Action::ListScrub, Some(list), now)?;
        self.audited_on(vec![event], async {
            for check in &checks {
                self.store.record_list_check(controller, check).await?;
            }
            Ok(())
        })
        .await?;
        tracing::info!(
            actor = %grant.actor(),
            controller_id = %controller,
            list_id = %list,
            numbers,
            registries = checks.len(),
            missing = missing.len(),
            "list checked against registries"
        );
        Ok(ListScrub {
            checks,
            missing,
            numbers,
        })
    }
}

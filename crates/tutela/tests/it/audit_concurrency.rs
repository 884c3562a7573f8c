//! Two processes appending to one audit chain at once. Each appender seals
//! its next batch while the previous one is being stored, on the heads that
//! batch leaves; when the other process got in first the batch is refused,
//! sealed again on the stored head and stored. No operation may fail or
//! lose its event, and the chain must verify.

use std::sync::Arc;

use tokio::task::JoinSet;
use tutela_app::audit::{AuditSigner, TrustedKeys, verify_store};
use tutela_app::{App, KeyRing};
use tutela_domain::audit::{Action, Actor, AuditEvent, ChainId, Outcome};
use tutela_domain::{Clock, Controller, ControllerId, CountryCode, Label, SystemClock, UserId};

use crate::support::{FreshDatabase, on_each_backend};

const PRODUCERS: usize = 48;
const EVENTS_EACH: usize = 25;

fn app(store: Arc<dyn tutela_storage::Store>) -> App {
    App::new(
        store,
        Arc::new(SystemClock),
        KeyRing::ephemeral().unwrap(),
        AuditSigner::ephemeral().unwrap(),
        // Checkpoints often, so both processes also race to sign them.
        64,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_appending_to_one_chain_lose_no_event_and_the_chain_verifies() {
    on_each_backend(|backend| async move {
        let Some(db) = FreshDatabase::create(backend).await else {
            return;
        };
        let (first, second) = (db.open().await, db.open().await);
        let controller = Controller {
            id: ControllerId::generate(),
            name: Label::parse("Two nodes").unwrap(),
            country: CountryCode::parse("IT").unwrap(),
            dpo_contact: Label::parse("dpo@example.com").unwrap(),
            representative: None,
            created_at: SystemClock.now(),
        };
        first.create_controller(&controller).await.unwrap();
        let apps = [app(first.clone()), app(second)];
        let mut producers = JoinSet::new();
        for p in 0..PRODUCERS {
            let app = apps[p % 2].clone();
            producers.spawn(async move {
                for i in 0..EVENTS_EACH {
                    let actor = Actor::User(UserId(uuid::Uuid::from_u128((p * 1000 + i) as u128)));
                    let event = AuditEvent::new(
                        SystemClock.now(),
                        actor,
                        Action::SubjectRead,
                        Outcome::Allowed,
                    )
                    .controller(controller.id);
                    app.record(vec![event]).await.unwrap();
                }
            });
        }
        while let Some(done) = producers.join_next().await {
            done.unwrap();
        }
        let keys = TrustedKeys::new(apps.iter().map(|a| a.audit_public_key().to_vec()));
        let report = verify_store(first.clone(), &keys).await.unwrap();
        let chain = report
            .chains
            .iter()
            .find(|c| c.chain == ChainId::Controller(controller.id))
            .unwrap();
        assert_eq!(chain.events, (PRODUCERS * EVENTS_EACH) as u64);
        assert!(chain.checkpoints > 0);
    })
    .await;
}

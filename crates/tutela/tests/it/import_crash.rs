//! An import killed half-way leaves nothing, and the retry imports the
//! whole list without duplicates: `tutela serve` is killed with SIGKILL
//! while a list uploads, restarted, and the import run again.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tutela_domain::{
    Capability, ClientId, ClientKind, Clock, Controller, ControllerId, CountryCode, Label,
    MachineClient, SystemClock,
};
use tutela_storage::{NewApiToken, OpenMode, Store};
use tutela_storage_sqlite::SqliteStore;

use crate::audit_crash::serve;

const ROWS: usize = 20_000;

pub async fn open(data: &std::path::Path) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(&data.join("tutela.db"), OpenMode::MustExist)
            .await
            .unwrap(),
    )
}

/// A controller with an agreement and a machine client that may import.
async fn prepare(store: &Arc<dyn Store>) -> (ControllerId, String) {
    machine_client(
        store,
        crate::contacts::agreement(),
        vec![Capability::ImportLists, Capability::ReadLists],
    )
    .await
}

/// A controller with the `agreement` (without an end date) and a machine
/// client holding `capabilities`; returns the controller and the client's
/// token. For tests that start the real binary on a data directory.
pub async fn machine_client(
    store: &Arc<dyn Store>,
    agreement: Value,
    capabilities: Vec<Capability>,
) -> (ControllerId, String) {
    let now = SystemClock.now();
    let controller = Controller {
        id: ControllerId::generate(),
        name: Label::parse("Leads").unwrap(),
        country: CountryCode::parse("IT").unwrap(),
        dpo_contact: Label::parse("dpo@example.com").unwrap(),
        representative: None,
        created_at: now,
    };
    store.create_controller(&controller).await.unwrap();
    let admin = store
        .create_user(crate::conformance::admin("admin", now).await)
        .await
        .unwrap()
        .id;
    let terms: tutela_domain::AgreementDraft = serde_json::from_value(agreement).unwrap();
    let mut terms = terms;
    terms.valid_until = None;
    store
        .record_agreement(controller.id, &terms.try_into().unwrap(), now, admin)
        .await
        .unwrap();
    let token = format!("tmc_{}", tutela_app::random_token_hex().unwrap());
    let client = MachineClient {
        id: ClientId::generate(),
        controller_id: controller.id,
        name: Label::parse("crm").unwrap(),
        kind: ClientKind::Crm,
        capabilities,
        created_at: now,
        created_by: admin,
        revoked_at: None,
    };
    let expires = now
        .checked_add(jiff::SignedDuration::from_hours(24))
        .unwrap();
    store
        .create_client(
            &client,
            NewApiToken {
                digest: tutela_app::digest(&token),
                issued_by: admin,
                issued_at: now,
                expires_at: expires,
            },
        )
        .await
        .unwrap();
    (controller.id, token)
}

fn csv() -> Vec<u8> {
    let mut out = String::from("Nome;Telefono;Email\n");
    for i in 0..ROWS {
        // Each person twice in the file would merge; each once here, so
        // the stored count must equal ROWS exactly.
        out.push_str(&format!(
            "Persona {i};347{:07};p{i}@example.it\n",
            1_000_000 + i
        ));
    }
    out.into_bytes()
}

async fn upload(
    base: &str,
    token: &str,
    controller: ControllerId,
    file: Vec<u8>,
) -> Result<(u16, Value), reqwest::Error> {
    let form = reqwest::multipart::Form::new()
        .part(
            "metadata",
            reqwest::multipart::Part::text(
                crate::contacts::metadata("2026-11-01T00:00:00Z").to_string(),
            ),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(file).file_name("list.csv"),
        );
    let response = crate::support::http_client()
        .post(format!(
            "{base}/v1/controllers/{controller}/lists?purpose=telemarketing"
        ))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn counts(store: &Arc<dyn Store>, controller: ControllerId) -> (usize, usize) {
    let lists = store.lead_lists(controller).await.unwrap().len();
    let mut subjects = 0;
    let mut after = None;
    loop {
        let page = store.subjects(controller, after, 500).await.unwrap();
        if page.is_empty() {
            break;
        }
        subjects += page.len();
        after = page.last().map(|s| s.id);
    }
    (lists, subjects)
}

#[tokio::test]
async fn a_killed_import_leaves_nothing_or_everything_and_the_retry_has_no_duplicates() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    // First start creates the data directory and the database.
    let (mut first, _) = serve(&data);
    first.kill().unwrap();
    first.wait().unwrap();
    let store = open(&data).await;
    let (controller, token) = prepare(&store).await;
    store.close().await;

    let (mut server, base) = serve(&data);
    let file = csv();
    let uploading = tokio::spawn({
        let (base, token, file) = (base.clone(), token.clone(), file.clone());
        async move { upload(&base, &token, controller, file).await }
    });
    // Let the import get under way, then kill the process mid-import.
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let answered = uploading.await.unwrap();
    let store = open(&data).await;
    let (lists, subjects) = counts(&store, controller).await;
    store.close().await;
    eprintln!(
        "after the kill: answer {:?}, {lists} lists, {subjects} people",
        answered.as_ref().map(|(status, _)| *status).ok()
    );
    match answered {
        Ok((201, _)) => assert_eq!((lists, subjects), (1, ROWS), "acknowledged, so all of it"),
        _ => assert!(
            (lists, subjects) == (0, 0) || (lists, subjects) == (1, ROWS),
            "nothing or the whole list after a kill, found {lists} lists and {subjects} people"
        ),
    }

    let (mut server, base) = serve(&data);
    let (status, body) = upload(&base, &token, controller, file).await.unwrap();
    assert!(
        status == 201 || (status == 200 && body["already_imported"] == true),
        "{status} {body}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    let store = open(&data).await;
    assert_eq!(
        counts(&store, controller).await,
        (1, ROWS),
        "the retry leaves one list and no duplicates"
    );
    store.close().await;
}

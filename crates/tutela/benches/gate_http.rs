//! Call-gating decisions over HTTP on loopback (issue 6): `wrk` against
//! `POST /v1/calls/decide` and, in the same run, against `GET /healthz`,
//! on a server with a scrubbed 1,000-person list and a 1,000,000-number
//! registry snapshot, every decision audited.
//!
//! `cargo bench -p tutela --bench gate_http` (needs `wrk`, Debian package
//! `wrk`). `TUTELA_BENCH_SECONDS` (default 10) and
//! `TUTELA_BENCH_CONNECTIONS` (default 64) tune the load. With
//! `TUTELA_TEST_POSTGRES_URL` set (as `scripts/test --run` does) the
//! PostgreSQL backend is measured too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use tutela::config::{Settings, Sources};
use tutela::serve::start;
use tutela_domain::{Clock, CountryCode, NumberSet, Registry, RegistryRef, Snapshot, SystemClock};

const PEOPLE: u64 = 1_000;
const REGISTRY: u64 = 1_000_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn number(i: u64) -> u64 {
    // Italian mobiles +39 347 0000000 onwards.
    393_470_000_000 + i
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }
}

/// Administrator with MFA, a controller with an agreement, a dialer token,
/// a public-directory list of `PEOPLE` numbers scrubbed against the
/// registry. Returns the controller id, the dialer token and the list id.
async fn populate(api: &Api, setup_token: &str, clock: &dyn Clock) -> (String, String, String) {
    let password = "correct horse battery staple";
    api.call(
        "POST",
        "/v1/setup",
        None,
        Some(json!({"setup_token": setup_token, "username": "admin", "password": password})),
    )
    .await;
    let login = api
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": password})),
        )
        .await;
    let admin = login["token"].as_str().unwrap().to_owned();
    let enrol = api
        .call("POST", "/v1/auth/mfa/enroll", Some(&admin), None)
        .await;
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(enrol["secret"].as_str().unwrap()).unwrap())
        .build()
        .unwrap();
    let code = totp.generate(u64::try_from(clock.now().as_second()).unwrap());
    api.call(
        "POST",
        "/v1/auth/mfa/confirm",
        Some(&admin),
        Some(json!({"totp": code.to_string()})),
    )
    .await;
    let controller = api
        .call(
            "POST",
            "/v1/controllers",
            Some(&admin),
            Some(json!({"name": "Energia Alfa SpA", "country": "IT", "dpo_contact": "dpo@example.com"})),
        )
        .await;
    let c = controller["id"].as_str().unwrap().to_owned();
    let until = clock
        .now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 300))
        .unwrap();
    api.call(
        "PUT",
        &format!("/v1/controllers/{c}/agreement"),
        Some(&admin),
        Some(json!({
            "reference": "BENCH-1",
            "purposes": [{"purpose": "telemarketing", "legal_basis": {"basis": "consent"}, "direct_marketing": true}],
            "categories": ["identity", "contact"],
            "retention": [{"category": "contact", "purpose": "telemarketing", "days": 90}],
            "operator_countries": ["IT"],
            "sub_processors": [],
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": until.to_string()
        })),
    )
    .await;
    let client = api
        .call(
            "POST",
            &format!("/v1/controllers/{c}/clients"),
            Some(&admin),
            Some(json!({"name": "dialer", "kind": "dialer",
                "capabilities": ["calls.gate", "lists.import"], "expires_at": until.to_string()})),
        )
        .await;
    let token = client["token"].as_str().unwrap().to_owned();
    let mut csv = String::from("Nome,Telefono\n");
    for i in 0..PEOPLE {
        csv.push_str(&format!("P{i},+{}\n", number(i * 7)));
    }
    let metadata = json!({
        "name": "Elenco", "provenance": {
            "supplier": "Elenchi Srl", "data_owner": "Elenchi Srl",
            "acquired_at": clock.now().to_string(), "source": "public_directory",
            "legal_basis": {"basis": "consent"}, "purpose": "telemarketing"},
        "mapping": [
            {"column": "Nome", "as": "attribute", "name": "full_name", "category": "identity"},
            {"column": "Telefono", "as": "contact", "kind": "phone"}]
    });
    let form = reqwest::multipart::Form::new()
        .part(
            "metadata",
            reqwest::multipart::Part::text(metadata.to_string()),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("list.csv"),
        );
    let response = api
        .client
        .post(format!(
            "{}/v1/controllers/{c}/lists?purpose=telemarketing",
            api.base
        ))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let imported: Value = response.json().await.unwrap();
    let list = imported["list"]["id"].as_str().unwrap().to_owned();
    api.call("POST", "/v1/registries/reload", Some(&admin), None)
        .await;
    api.call(
        "POST",
        &format!("/v1/controllers/{c}/lists/{list}/scrub?purpose=telemarketing"),
        Some(&token),
        None,
    )
    .await;
    (c, token, list)
}

fn write_registry(dir: &std::path::Path, clock: &dyn Clock) {
    // Every third number of the range: a third of the list is listed.
    let numbers: Vec<u64> = (0..REGISTRY).map(|i| number(i * 3)).collect();
    let (snapshot, payload) = Snapshot::new(
        RegistryRef::National(Registry::ItRpo),
        CountryCode::parse("IT").unwrap(),
        clock.now(),
        NumberSet::from_numbers(numbers).unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("it_rpo.snapshot"),
        snapshot.file_bytes(&payload).unwrap(),
    )
    .unwrap();
}

/// Runs wrk and returns requests per second and the latency line.
fn wrk(url: &str, script: Option<&std::path::Path>) -> (f64, String) {
    let seconds = env_u64("TUTELA_BENCH_SECONDS", 10);
    let connections = env_u64("TUTELA_BENCH_CONNECTIONS", 64);
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command
        .arg(url)
        .output()
        .expect("wrk runs (apt install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let rate = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .collect::<Vec<_>>()
        .join("; ");
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .unwrap_or("")
        .trim()
        .to_owned();
    (
        rate,
        format!(
            "p99 {p99}{}",
            if errors.is_empty() {
                String::new()
            } else {
                format!("; {errors}")
            }
        ),
    )
}

async fn measure(label: &str, database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    write_registry(&data.join("registries"), clock.as_ref());
    let mut env = Vec::new();
    if let Some(url) = database_url {
        env.push(("TUTELA_DATABASE_URL".to_owned(), url));
    }
    let settings = Settings::load(&Sources {
        file: None,
        env,
        flags: vec![
            ("data_dir", data.display().to_string()),
            ("listen", "127.0.0.1:0".into()),
        ],
    })
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = start(&settings, clock.clone(), async {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    let base = running.base_url();
    let api = Api {
        client: {
            // One crypto provider in the build (ring), installed as the CLI does.
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::new()
        },
        base: base.clone(),
    };
    let setup_token = running.setup_token.as_ref().unwrap().expose().to_owned();
    let (c, token, list) = populate(&api, &setup_token, clock.as_ref()).await;

    // The script cycles through the list's numbers, named by list: what a
    // dialer working a campaign asks.
    let mut bodies = String::from("bodies = {\n");
    for i in 0..PEOPLE {
        bodies.push_str(&format!(
            "  '{{\"number\":\"+{}\",\"list_id\":\"{list}\",\"recorded\":true}}',\n",
            number(i * 7)
        ));
    }
    bodies.push_str("}\n");
    let script = format!(
        "{bodies}i = 0\nwrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n\
         wrk.headers['Authorization'] = 'Bearer {token}'\n\
         request = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n"
    );
    let script_path = dir.path().join("decide.lua");
    std::fs::write(&script_path, script).unwrap();
    let decide_url = format!("{base}/v1/calls/decide?controller_id={c}&purpose=telemarketing");

    let (health, health_latency) = tokio::task::spawn_blocking({
        let url = format!("{base}/healthz");
        move || wrk(&url, None)
    })
    .await
    .unwrap();
    let (decide, decide_latency) = tokio::task::spawn_blocking({
        let url = decide_url.clone();
        let path = script_path.clone();
        move || wrk(&url, Some(&path))
    })
    .await
    .unwrap();
    println!(
        "{label}: POST /v1/calls/decide {decide:.0} req/s ({decide_latency}); GET /healthz {health:.0} req/s ({health_latency}); ratio {:.1}%",
        100.0 * decide / health.max(1.0)
    );
    let _ = stop.send(());
    drop(running);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        measure("sqlite", None).await;
        if let Ok(admin) = std::env::var("TUTELA_TEST_POSTGRES_URL") {
            let name = format!("tutela_gate_{}", std::process::id());
            let (pool, url) = create_database(&admin, &name).await;
            measure("postgres", Some(url)).await;
            drop(pool);
        }
    });
}

/// A fresh PostgreSQL database on the server of `admin_url`.
async fn create_database(admin_url: &str, name: &str) -> (sqlx::PgPool, String) {
    let pool = sqlx::PgPool::connect(admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => admin_url.to_owned(),
    };
    (pool, url)
}

//! Scrub benchmark (issue 6): a 10,000,000-row CSV list against a
//! 30,000,000-number registry, end to end (`tutela scrub` as a function:
//! read both files, parse, decide, write clean and rejects), beside a Python
//! set doing the same job and a PostgreSQL anti-join over the same numbers
//! already loaded in tables, in one run. Also: snapshot size per number,
//! snapshot build and load times, single-lookup latency, and the in-process
//! call decision's latency percentiles.
//!
//! `scripts/test --run cargo bench -p tutela --bench scrub` (PostgreSQL from
//! the script; without `TUTELA_TEST_POSTGRES_URL` the anti-join is skipped
//! with a note). `TUTELA_BENCH_ROWS` and `TUTELA_BENCH_REGISTRY` change the
//! sizes; `TUTELA_BENCH_ONLY=decide` runs the decision latency alone, and
//! `TUTELA_BENCH_ONLY=us` a 250,000,000-number registry (the US one's size).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tutela::scrub_cmd::{BuildArgs, ScrubArgs, run_build, run_scrub};
use tutela_app::RuleBook;
use tutela_domain::{
    CallFacts, CallQuestion, Channel, ConsentEventId, ConsentState, CountryCode, RegistryFact,
    RegistryRef, Snapshot, decide,
};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small fast generator (xorshift*), seeded: the same files every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Italian mobiles 320 0000000 to 389 9999999 (ranges libphonenumber
/// takes as valid, so the naive check below needs no validity rule).
fn mobile(rng: &mut Rng) -> u64 {
    3_200_000_000 + rng.next() % 700_000_000
}

fn write_registry(path: &Path, count: usize) -> Vec<u64> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut numbers: Vec<u64> = (0..count).map(|_| mobile(&mut rng)).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    for n in &numbers {
        writeln!(out, "{n}").unwrap();
    }
    out.flush().unwrap();
    numbers
}

/// The list: one row in five on the registry, one in a hundred invalid,
/// phones written four ways.
fn write_list(path: &Path, rows: usize, registry: &[u64]) -> Vec<(u64, u64)> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(out, "id;name;phone").unwrap();
    let mut normalised = Vec::with_capacity(rows);
    for id in 0..rows {
        let pick = rng.next();
        let n = if pick.is_multiple_of(5) {
            registry[(rng.next() % registry.len() as u64) as usize]
        } else {
            mobile(&mut rng)
        };
        let text = n.to_string();
        let phone = match pick % 100 {
            0 => "12".to_owned(),
            p if p % 4 == 1 => format!("+39 {} {}", &text[..3], &text[3..]),
            p if p % 4 == 2 => format!("0039{text}"),
            p if p % 4 == 3 => format!("{}-{}", &text[..3], &text[3..]),
            _ => text.clone(),
        };
        writeln!(out, "{id};Person {id};{phone}").unwrap();
        if !pick.is_multiple_of(100) {
            normalised.push((id as u64, 390_000_000_000 + n));
        }
    }
    out.flush().unwrap();
    normalised
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

async fn postgres_anti_join(
    dir: &Path,
    registry: &[u64],
    list: &[(u64, u64)],
) -> Option<(f64, i64)> {
    use sqlx::Connection;
    let url = std::env::var("TUTELA_TEST_POSTGRES_URL").ok()?;
    let mut admin = sqlx::PgConnection::connect(&url).await.ok()?;
    sqlx::query("DROP DATABASE IF EXISTS tutela_bench_scrub")
        .execute(&mut admin)
        .await
        .ok()?;
    sqlx::query("CREATE DATABASE tutela_bench_scrub")
        .execute(&mut admin)
        .await
        .ok()?;
    let bench_url = match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/tutela_bench_scrub"),
        None => return None,
    };
    let mut db = sqlx::PgConnection::connect(&bench_url).await.ok()?;
    for statement in [
        "CREATE UNLOGGED TABLE registry (n bigint PRIMARY KEY)",
        "CREATE UNLOGGED TABLE list (id bigint, n bigint)",
    ] {
        sqlx::query(statement).execute(&mut db).await.unwrap();
    }
    // Loading is not timed: the target compares against data already in tables.
    let load = |table: &'static str, text: String| {
        let path = dir.join(format!("{table}.copy"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let registry_file = load(
        "registry",
        registry
            .iter()
            .map(|n| format!("{}\n", 390_000_000_000 + n))
            .collect(),
    );
    let list_file = load(
        "list",
        list.iter().map(|(id, n)| format!("{id}\t{n}\n")).collect(),
    );
    for (table, path) in [("registry", registry_file), ("list", list_file)] {
        let mut copy = db
            .copy_in_raw(&format!("COPY {table} FROM STDIN"))
            .await
            .unwrap();
        copy.send(std::fs::read(&path).unwrap()).await.unwrap();
        copy.finish().await.unwrap();
    }
    sqlx::query("VACUUM ANALYZE registry")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("VACUUM ANALYZE list")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("SET work_mem = '1GB'")
        .execute(&mut db)
        .await
        .unwrap();
    let started = Instant::now();
    let (kept,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM list l WHERE NOT EXISTS (SELECT 1 FROM registry r WHERE r.n = l.n)",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let elapsed = secs(started.elapsed());
    drop(db);
    let _ = sqlx::query("DROP DATABASE tutela_bench_scrub")
        .execute(&mut admin)
        .await;
    Some((elapsed, kept))
}

/// A registry the size of the US one: 250,000,000 ten-digit numbers (area
/// codes 201 to 989), built, written, loaded and asked, with the peak
/// memory of the process.
fn us_sized_registry() {
    // +1 201 000 0000 as an integer, and the span up to area code 989.
    const US_FIRST: u64 = 12_010_000_000;
    const US_SPAN: u64 = 7_890_000_000;
    let count = env_usize("TUTELA_BENCH_REGISTRY", 250_000_000);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let started = Instant::now();
    let numbers: Vec<u64> = (0..count)
        .map(|_| US_FIRST + rng.next() % US_SPAN)
        .collect();
    let set = tutela_domain::NumberSet::from_numbers(numbers).unwrap();
    let built = started.elapsed();
    let (snapshot, payload) = Snapshot::new(
        RegistryRef::National(tutela_domain::Registry::UsDnc),
        CountryCode::parse("US").unwrap(),
        "2026-11-20T00:00:00Z".parse().unwrap(),
        set,
    )
    .unwrap();
    let bytes = snapshot.file_bytes(&payload).unwrap();
    let distinct = snapshot.header.count;
    drop((snapshot, payload));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("us_dnc.snapshot");
    std::fs::write(&path, &bytes).unwrap();
    drop(bytes);
    let started = Instant::now();
    let loaded = Snapshot::parse(&std::fs::read(&path).unwrap()).unwrap();
    let load = started.elapsed();
    let mut rng = Rng(7);
    let probes = 1_000_000;
    let started = Instant::now();
    let mut hits = 0usize;
    for _ in 0..probes {
        hits += usize::from(loaded.numbers.contains(US_FIRST + rng.next() % US_SPAN));
    }
    let per_lookup = started.elapsed().as_nanos() / probes;
    let size = std::fs::metadata(&path).unwrap().len();
    let peak = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_owned();
    println!(
        "US-sized registry: {distinct} distinct numbers, built in {:.1} s, file {size} bytes ({:.2} bytes per number), loaded in {:.2} s, lookups {per_lookup} ns ({hits} hits in {probes}); peak memory {peak}",
        built.as_secs_f64(),
        size as f64 / distinct as f64,
        load.as_secs_f64(),
    );
}

fn decide_latency() {
    let book = RuleBook::shipped().unwrap();
    let it = book
        .get(CountryCode::parse("IT").unwrap())
        .unwrap()
        .jurisdiction
        .clone();
    let at: Timestamp = "2026-03-27T10:00:00Z".parse().unwrap();
    let facts = CallFacts {
        purpose_allowed: true,
        registries: vec![RegistryFact {
            registry: RegistryRef::National(tutela_domain::Registry::ItRpo),
            as_of: at - SignedDuration::from_hours(24),
            listed: false,
        }],
        consent: ConsentState::Granted {
            since: "2026-01-01T00:00:00Z".parse().unwrap(),
            event: ConsentEventId::generate(),
        },
        attempts: vec![at - SignedDuration::from_hours(30)],
        ..CallFacts::default()
    };
    let mut samples = Vec::with_capacity(200_000);
    for i in 0..200_000_i64 {
        let question = CallQuestion {
            channel: Channel::Phone,
            direct_marketing: true,
            at: at + SignedDuration::from_secs(i % 3600),
            operator_country: None,
            recorded: true,
            list: None,
        };
        let started = Instant::now();
        let decision = decide(Some(&it), &question, &facts);
        samples.push(started.elapsed());
        std::hint::black_box(decision);
    }
    samples.sort_unstable();
    let pct = |p: f64| {
        samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)].as_secs_f64() * 1e6
    };
    println!(
        "decide (IT rules, pure function): p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.2} µs over {} decisions",
        pct(0.5),
        pct(0.99),
        pct(0.999),
        pct(1.0),
        samples.len()
    );
}

#[tokio::main]
async fn main() {
    if std::env::var("TUTELA_BENCH_ONLY").as_deref() == Ok("decide") {
        decide_latency();
        return;
    }
    if std::env::var("TUTELA_BENCH_ONLY").as_deref() == Ok("us") {
        us_sized_registry();
        return;
    }
    let rows = env_usize("TUTELA_BENCH_ROWS", 10_000_000);
    let registry_size = env_usize("TUTELA_BENCH_REGISTRY", 30_000_000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let started = Instant::now();
    let registry = write_registry(&d.join("registry.txt"), registry_size);
    let list = write_list(&d.join("list.csv"), rows, &registry);
    println!(
        "data: registry {} numbers ({} MB text), list {} rows ({} MB), generated in {:.1} s",
        registry.len(),
        std::fs::metadata(d.join("registry.txt")).unwrap().len() / 1_000_000,
        rows,
        std::fs::metadata(d.join("list.csv")).unwrap().len() / 1_000_000,
        secs(started.elapsed())
    );

    let started = Instant::now();
    let built = run_build(&BuildArgs {
        registry: "it_rpo".to_owned(),
        country: "IT".to_owned(),
        as_of: "2026-11-20".to_owned(),
        input: d.join("registry.txt"),
        base: None,
        remove: None,
        column: None,
        output: d.join("rpo.dnc"),
        rules_dir: None,
    })
    .unwrap();
    println!(
        "snapshot build from text: {:.2} s; {built}",
        secs(started.elapsed())
    );

    let started = Instant::now();
    let bytes = std::fs::read(d.join("rpo.dnc")).unwrap();
    let snapshot = Snapshot::parse(&bytes).unwrap();
    println!(
        "snapshot load (read, digest check, decode): {:.3} s for {} numbers, {:.2} bytes per number",
        secs(started.elapsed()),
        snapshot.header.count,
        bytes.len() as f64 / snapshot.header.count as f64
    );
    let mut rng = Rng(7);
    let probes: Vec<u64> = (0..1_000_000)
        .map(|_| 390_000_000_000 + mobile(&mut rng))
        .collect();
    let started = Instant::now();
    let hits = probes
        .iter()
        .filter(|n| snapshot.numbers.contains(**n))
        .count();
    println!(
        "single lookups: {:.0} ns each ({} hits in {})",
        secs(started.elapsed()) * 1e9 / probes.len() as f64,
        hits,
        probes.len()
    );
    drop(snapshot);

    let scrub_args = |registry_file: &str, tag: &str| ScrubArgs {
        registry_files: vec![d.join(registry_file)],
        country: "IT".to_owned(),
        registry: Some("it_rpo".to_owned()),
        registry_column: None,
        input: d.join("list.csv"),
        output: d.join(format!("clean-{tag}.csv")),
        rejects: d.join(format!("rejects-{tag}.csv")),
        column: "phone".to_owned(),
        rules_dir: None,
    };
    let started = Instant::now();
    let summary = run_scrub(&scrub_args("rpo.dnc", "snapshot")).unwrap();
    let ours = secs(started.elapsed());
    println!("tutela scrub, registry snapshot: {ours:.2} s; {summary}");
    let started = Instant::now();
    let summary = run_scrub(&scrub_args("registry.txt", "text")).unwrap();
    let ours_text = secs(started.elapsed());
    println!("tutela scrub, registry text file: {ours_text:.2} s; {summary}");

    // Naive set membership on the same numbers: the results must agree.
    let naive: std::collections::HashSet<u64> =
        registry.iter().map(|n| 390_000_000_000 + n).collect();
    let expected_kept = list.iter().filter(|(_, n)| !naive.contains(n)).count();
    let kept = std::fs::read(d.join("clean-snapshot.csv"))
        .unwrap()
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        - 1;
    assert_eq!(kept, expected_kept, "scrub disagrees with a naive set");
    println!("agreement with a naive HashSet: {kept} kept rows, identical");
    drop(naive);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scrub_baseline.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(d.join("registry.txt"))
        .arg(d.join("list.csv"))
        .arg(d.join("clean-py.csv"))
        .arg(d.join("rejects-py.csv"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let python: f64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    println!(
        "python set baseline: {python:.2} s ({}x slower than tutela scrub from a snapshot)",
        (python / ours * 10.0).round() / 10.0
    );

    match postgres_anti_join(d, &registry, &list).await {
        Some((pg, pg_kept)) => {
            assert_eq!(pg_kept as usize, expected_kept, "the anti-join disagrees");
            println!(
                "postgresql anti-join (data already in tables, count only): {pg:.2} s ({}x tutela scrub end to end)",
                (pg / ours * 10.0).round() / 10.0
            );
        }
        None => println!("postgresql anti-join: skipped (no TUTELA_TEST_POSTGRES_URL)"),
    }
    decide_latency();
}

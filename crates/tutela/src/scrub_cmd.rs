//! `tutela scrub`, `tutela registry build` and `tutela rules show`: tools
//! that work on files alone, without a server or a database.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tutela_app::registry_file::{read_registry_file, read_registry_numbers};
use tutela_app::scrub::{ScrubRegistry, scrub};
use tutela_app::{LoadedRules, RuleBook};
use tutela_domain::{CountryCode, NumberSet, RegistryRef, Snapshot, Timestamp, is_snapshot};

/// What `tutela scrub` was asked.
#[derive(Debug, Clone)]
pub struct ScrubArgs {
    /// Registry files: snapshots or text files.
    pub registry_files: Vec<PathBuf>,
    /// The country whose numbering plan reads national numbers.
    pub country: String,
    /// Which registry text files are (default: the country's first).
    pub registry: Option<String>,
    /// The number column of CSV registry files, when not detected.
    pub registry_column: Option<String>,
    /// The list to scrub.
    pub input: PathBuf,
    /// Where kept rows go.
    pub output: PathBuf,
    /// Where dropped rows go, with the reason.
    pub rejects: PathBuf,
    /// The phone column of the list.
    pub column: String,
    /// Operator overrides of the rules.
    pub rules_dir: Option<PathBuf>,
}

/// What `tutela registry build` was asked.
#[derive(Debug, Clone)]
pub struct BuildArgs {
    /// The registry the file is (`it_rpo`, `internal:global`…).
    pub registry: String,
    /// The country whose numbering plan reads it.
    pub country: String,
    /// The day or instant the registry's content was current.
    pub as_of: String,
    /// The text file.
    pub input: PathBuf,
    /// A delta: numbers to add (applied to `--base`).
    pub base: Option<PathBuf>,
    /// A delta: numbers to remove from `--base`.
    pub remove: Option<PathBuf>,
    /// The number column of CSV files, when not detected.
    pub column: Option<String>,
    /// Where the snapshot goes.
    pub output: PathBuf,
    /// Operator overrides of the rules.
    pub rules_dir: Option<PathBuf>,
}

fn country_rules(
    rules_dir: Option<&Path>,
    country: &str,
) -> Result<(CountryCode, LoadedRules), String> {
    let code = CountryCode::parse(country).map_err(|e| format!("--country: {e}"))?;
    let book = RuleBook::load(rules_dir).map_err(|e| e.to_string())?;
    let rules = book
        .get(code)
        .cloned()
        .ok_or_else(|| format!("--country: no rules for {code} (known: {})", known(&book)))?;
    Ok((code, rules))
}

fn known(book: &RuleBook) -> String {
    book.countries()
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// Parses `--as-of`: a day (midnight UTC) or an RFC 3339 instant.
fn parse_as_of(text: &str) -> Result<Timestamp, String> {
    if let Ok(day) = text.parse::<jiff::civil::Date>() {
        return day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| format!("--as-of: {e}"));
    }
    text.parse()
        .map_err(|_| "--as-of: must be a day (2026-11-20) or an RFC 3339 instant".to_owned())
}

/// Writes `bytes` to `path` through a temporary file renamed into place, so
/// a crash never leaves a half-written file under the final name.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), String>,
) -> Result<(), String> {
    let partial = path.with_extension("partial");
    let file = File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write(&mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    file.sync_all()
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Scrubs a list file against registry files and prints a summary.
pub fn run_scrub(args: &ScrubArgs) -> Result<String, String> {
    let started = Instant::now();
    let (country, rules) = country_rules(args.rules_dir.as_deref(), &args.country)?;
    let plan = &rules.jurisdiction.rules.numbering;
    let default_registry = match &args.registry {
        Some(text) => text
            .parse::<RegistryRef>()
            .map_err(|e| format!("--registry: {e}"))?,
        None => rules
            .jurisdiction
            .rules
            .registries
            .first()
            .map(|r| RegistryRef::National(r.registry))
            .ok_or_else(|| format!("--registry: {country} names no registry; say which"))?,
    };
    let mut snapshots: Vec<Snapshot> = Vec::new();
    for path in &args.registry_files {
        let bytes = read(path, "--registry-file")?;
        // A snapshot says which registry it is; a text file is the default.
        let snapshot = if is_snapshot(&bytes) {
            Snapshot::parse(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    if s.header.country == country {
                        Ok(s)
                    } else {
                        Err(format!(
                            "the snapshot is for {}, not {country}",
                            s.header.country
                        ))
                    }
                })
        } else {
            read_registry_file(
                &bytes,
                default_registry,
                country,
                plan,
                Timestamp::now(),
                args.registry_column.as_deref(),
            )
            .map_err(|e| e.to_string())
        }
        .map_err(|e| format!("--registry-file {}: {e}", path.display()))?;
        snapshots.push(snapshot);
    }
    let loaded = started.elapsed();
    let input = read(&args.input, "--input")?;
    let names: Vec<String> = snapshots
        .iter()
        .map(|s| s.header.registry.to_string())
        .collect();
    let registries: Vec<ScrubRegistry<'_>> = snapshots
        .iter()
        .zip(&names)
        .map(|(s, name)| ScrubRegistry {
            name,
            numbers: &s.numbers,
        })
        .collect();
    let mut rejects_bytes = Vec::new();
    let mut summary = None;
    write_atomically(&args.output, |clean| {
        summary = Some(
            scrub(
                &input,
                &args.column,
                country,
                &registries,
                clean,
                &mut rejects_bytes,
            )
            .map_err(|e| format!("--input {}: {e}", args.input.display()))?,
        );
        Ok(())
    })?;
    write_atomically(&args.rejects, |out| {
        out.write_all(&rejects_bytes).map_err(|e| e.to_string())
    })?;
    let summary = summary.unwrap_or_default();
    let numbers: u64 = snapshots.iter().map(|s| s.header.count).sum();
    Ok(format!(
        "scrubbed {} rows against {} registry numbers ({}): {} kept, {} on a registry, {} invalid; \
         registries loaded in {:.2} s, total {:.2} s",
        summary.rows,
        numbers,
        names.join(", "),
        summary.kept,
        summary.on_registry,
        summary.invalid,
        loaded.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ))
}

/// Builds a compact snapshot from a registry text file, or applies a delta
/// (additions in `input`, removals in `--remove`) to a base snapshot.
pub fn run_build(args: &BuildArgs) -> Result<String, String> {
    let (country, rules) = country_rules(args.rules_dir.as_deref(), &args.country)?;
    let plan = &rules.jurisdiction.rules.numbering;
    let registry: RegistryRef = args
        .registry
        .parse()
        .map_err(|e| format!("--registry: {e}"))?;
    let as_of = parse_as_of(&args.as_of)?;
    let column = args.column.as_deref();
    let read_numbers = |path: &Path, what: &str| -> Result<Vec<u64>, String> {
        let bytes = read(path, what)?;
        read_registry_numbers(&bytes, registry, country, plan, column)
            .map_err(|e| format!("{what} {}: {e}", path.display()))
    };
    let mut numbers = read_numbers(&args.input, "input")?;
    if let Some(base) = &args.base {
        let base = read(base, "--base")?;
        let base = Snapshot::parse(&base).map_err(|e| format!("--base: {e}"))?;
        if base.header.registry != registry || base.header.country != country {
            return Err(format!(
                "--base: the snapshot is for {} ({}), not {registry} ({country})",
                base.header.registry, base.header.country
            ));
        }
        if base.header.as_of > as_of {
            return Err("--as-of: a delta cannot be older than its base".to_owned());
        }
        numbers.extend(base.numbers.iter());
    }
    numbers.sort_unstable();
    numbers.dedup();
    if let Some(remove) = &args.remove {
        let removed = read_numbers(remove, "--remove")?;
        let removed = NumberSet::from_numbers(removed).map_err(|e| e.to_string())?;
        numbers.retain(|n| !removed.contains(*n));
    }
    let set = NumberSet::from_sorted_unique(&numbers).map_err(|e| e.to_string())?;
    let (snapshot, payload) =
        Snapshot::new(registry, country, as_of, set).map_err(|e| e.to_string())?;
    let bytes = snapshot.file_bytes(&payload).map_err(|e| e.to_string())?;
    write_atomically(&args.output, |out| {
        out.write_all(&bytes).map_err(|e| e.to_string())
    })?;
    Ok(format!(
        "{}: {} numbers of {registry} ({country}) as of {as_of}, {} bytes ({:.2} bytes per number), sha256 {}",
        args.output.display(),
        snapshot.header.count,
        bytes.len(),
        bytes.len() as f64 / snapshot.header.count.max(1) as f64,
        snapshot.header.sha256
    ))
}

/// Checks a snapshot file (digest, count, decoding) and puts it in the data
/// directory's registry folder, where a server loads it at start or on
/// `POST /v1/registries/reload`. A file that does not read is refused and
/// the installed snapshot of that registry is left as it was; the new one
/// replaces it in one rename.
pub fn run_install(file: &Path, data_dir: &Path) -> Result<String, String> {
    let bytes = read(file, "snapshot")?;
    let snapshot = Snapshot::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let folder = data_dir.join(crate::data_dir::REGISTRIES_DIR);
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    // `internal:<id>` becomes `internal_<id>`: one file name per registry.
    let name = snapshot.header.registry.to_string().replace(':', "_");
    let target = folder.join(format!(
        "{name}.{}",
        tutela_app::registries::SNAPSHOT_EXTENSION
    ));
    write_atomically(&target, |out| {
        out.write_all(&bytes).map_err(|e| e.to_string())
    })?;
    Ok(format!(
        "{}: {} numbers of {} ({}) as of {}; reload running servers with POST /v1/registries/reload",
        target.display(),
        snapshot.header.count,
        snapshot.header.registry,
        snapshot.header.country,
        snapshot.header.as_of
    ))
}

/// The rules in force for a country: where they come from, the file, and
/// this year's and next year's public holidays as computed.
pub fn run_rules_show(
    rules_dir: Option<&Path>,
    country: &str,
    year: i16,
) -> Result<String, String> {
    let (_, rules) = country_rules(rules_dir, country)?;
    let mut out = format!(
        "# {} rules from {}\n{}\n",
        rules.jurisdiction.rules.name,
        rules.origin,
        rules.text.trim_end()
    );
    for y in [year, year.saturating_add(1)] {
        out.push_str(&format!("\n# public holidays in {y} (observed days)\n"));
        for (date, name) in rules.jurisdiction.holidays.holidays_in(y) {
            out.push_str(&format!("# {date} {} {name}\n", date.weekday_name()));
        }
    }
    Ok(out)
}

trait WeekdayName {
    fn weekday_name(&self) -> &'static str;
}

impl WeekdayName for jiff::civil::Date {
    fn weekday_name(&self) -> &'static str {
        match self.weekday() {
            jiff::civil::Weekday::Monday => "Mon",
            jiff::civil::Weekday::Tuesday => "Tue",
            jiff::civil::Weekday::Wednesday => "Wed",
            jiff::civil::Weekday::Thursday => "Thu",
            jiff::civil::Weekday::Friday => "Fri",
            jiff::civil::Weekday::Saturday => "Sat",
            jiff::civil::Weekday::Sunday => "Sun",
        }
    }
}

//! The sync job: for each facility with a street address and no lock, look up its address
//! point, compare, and fill or move its location through registry-core (change log,
//! authorization, the border rule). Each facility's outcome is checkpointed in the same
//! transaction as its write, so an interrupted run resumes and processes every facility once.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use registry_core::auth::Principal;
use registry_core::geo::LatLon;
use registry_core::service::geodata::{SyncCandidate, SyncOutcome, SyncedLocation};
use registry_core::{Error, Registry};
use serde_json::Value;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::address::{AddressIndex, AddressPoint, Lookup};
use crate::config::AddressProperties;
use crate::progress::Progress;
use crate::source::{FeatureSource, Query};

/// The principal the job writes as (a system principal: sets synced locations, nothing else).
pub fn principal() -> Principal {
    Principal::system("system:geodata-sync")
}

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Only this municipality's facilities.
    pub municipality: Option<String>,
    /// Compute and report, write nothing.
    pub dry_run: bool,
    /// Move locations off by more than this many metres.
    pub threshold_m: f64,
    /// No progress output.
    pub quiet: bool,
}

/// One facility's line in the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Facility id.
    pub facility_id: Uuid,
    /// Municipality code.
    pub municipality_code: String,
    /// Facility name.
    pub name: String,
    /// Outcome code (`filled`, `moved`, …).
    pub outcome: String,
    /// Location before.
    pub old: Option<LatLon>,
    /// The address point's location, if one matched.
    pub found: Option<LatLon>,
    /// Distance between them in metres, when both exist.
    pub distance_m: Option<f64>,
    /// The address point's feature id.
    pub source_feature_id: Option<String>,
    /// How the address matched.
    pub match_quality: Option<String>,
    /// Explanation (errors, ambiguous candidates).
    pub message: String,
}

/// Counts of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The run id (none for a dry run).
    pub run_id: Option<Uuid>,
    /// Whether an interrupted run was resumed.
    pub resumed: bool,
    /// Facilities already processed by the interrupted run before this invocation.
    pub already_done: usize,
    /// Outcome counts over the whole run.
    pub counts: BTreeMap<SyncOutcome, usize>,
    /// Municipalities whose address points could not be fetched, with the error; their
    /// facilities stay unprocessed and the run stays open for the next invocation.
    pub fetch_failures: Vec<(String, String)>,
    /// Facilities left unprocessed because of those failures.
    pub unprocessed: usize,
    /// Whether the run finished (every facility has an outcome).
    pub finished: bool,
    /// Address points fetched.
    pub points: usize,
    /// Where the time went, in seconds: fetching and reading address points (summed over the
    /// municipalities fetched in parallel, so it overlaps the rest), matching, and registry
    /// writes and checkpoints.
    pub fetch_seconds: f64,
    /// See `fetch_seconds`.
    pub match_seconds: f64,
    /// See `fetch_seconds`.
    pub write_seconds: f64,
}

impl Summary {
    /// Facilities checked (with an outcome) in the whole run.
    pub fn checked(&self) -> usize {
        self.counts.values().sum()
    }

    /// Errors: facilities whose write failed plus those left unprocessed.
    pub fn errors(&self) -> usize {
        self.counts.get(&SyncOutcome::Error).copied().unwrap_or(0) + self.unprocessed
    }

    /// The summary as printed at the end of a run.
    pub fn render(&self) -> String {
        let n = |o: SyncOutcome| self.counts.get(&o).copied().unwrap_or(0);
        let mut s = format!(
            "checked {}, filled {}, moved {}, unchanged {}, not found {}, ambiguous {}, locked-disagreeing {}, locked-agreeing {}, errors {}",
            self.checked(),
            n(SyncOutcome::Filled),
            n(SyncOutcome::Moved),
            n(SyncOutcome::Unchanged),
            n(SyncOutcome::NotFound),
            n(SyncOutcome::Ambiguous),
            n(SyncOutcome::LockedDisagreeing),
            n(SyncOutcome::LockedAgreeing),
            self.errors()
        );
        for (code, e) in &self.fetch_failures {
            s.push_str(&format!("\nmunicipality {code}: address points not fetched: {e}"));
        }
        s
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The registry failed (database unavailable, …); the run can be resumed.
    #[error("the registry failed: {0}")]
    Registry(#[from] Error),
    /// Writing the report failed.
    #[error("cannot write the report: {0}")]
    Report(String),
    /// The configuration cannot work.
    #[error("{0}")]
    Config(String),
}

const BATCH: usize = 500;
/// Writes in flight at once (each on its own pooled connection).
const WRITERS: usize = 4;

/// Takes a finished write: a refused one becomes an `error` (or `locked_disagreeing`) outcome
/// to record; a failing registry stops the run (it resumes where it stopped).
fn settle(
    done: Result<(Uuid, Record, Result<(), Error>), tokio::task::JoinError>,
    batch: &mut Vec<(Uuid, SyncOutcome, Value)>,
) -> Result<(), SyncError> {
    let (id, record, result) = done.map_err(|e| SyncError::Config(format!("a write task failed: {e}")))?;
    match result {
        Ok(()) => Ok(()),
        Err(e @ (Error::Unavailable(_) | Error::Internal(_))) => Err(e.into()),
        Err(e) => {
            let o = if matches!(e, Error::Conflict { rule: "locked", .. }) { SyncOutcome::LockedDisagreeing } else { SyncOutcome::Error };
            let mut r = record;
            r.outcome = o.as_str().into();
            r.message = e.to_string();
            batch.push((id, o, serde_json::to_value(&r).expect("records serialise")));
            Ok(())
        }
    }
}

/// Runs the sync. Returns the summary and the report lines of the whole run.
pub async fn run(
    reg: &Registry,
    source: Arc<FeatureSource>,
    properties: &AddressProperties,
    municipality_property: &str,
    opts: &SyncOptions,
) -> Result<(Summary, Vec<Record>), SyncError> {
    let p = principal();
    if let Some(m) = &opts.municipality
        && registry_core::codes::municipality(m).is_none()
    {
        return Err(SyncError::Config(format!("--municipality: '{m}' is not an official municipality code")));
    }
    let scope = opts.municipality.as_ref().map_or_else(|| "all".to_string(), |m| format!("municipality:{m}"));
    let mut summary = Summary::default();
    let mut done: HashSet<Uuid> = HashSet::new();
    if !opts.dry_run {
        let run = reg.open_sync_run(&p, &scope).await?;
        summary.run_id = Some(run.id);
        summary.resumed = run.resumed;
        if run.resumed {
            done = reg.sync_outcomes(&p, run.id).await?.into_iter().map(|o| o.facility_id).collect();
            summary.already_done = done.len();
        }
    }
    // Every candidate first (they are small), grouped by municipality.
    let mut groups: BTreeMap<String, Vec<SyncCandidate>> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = reg.sync_candidates(&p, opts.municipality.as_deref(), after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for c in page {
            if !done.contains(&c.id) {
                groups.entry(c.municipality_code.clone()).or_default().push(c);
            }
        }
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let mut progress = Progress::new("facilities", total as u64, opts.quiet);
    if summary.resumed && !opts.quiet {
        eprintln!("resuming run {}: {} facilities done before, {total} to go", summary.run_id.unwrap_or_default(), summary.already_done);
    }

    // Fetch address points a few municipalities at a time; process each as it arrives.
    let concurrency = 4usize;
    let mut pending: Vec<String> = groups.keys().rev().cloned().collect();
    let mut fetching = JoinSet::new();
    let spawn = |fetching: &mut JoinSet<_>, code: String| {
        let source = source.clone();
        let filter = vec![(municipality_property.to_string(), code.clone())];
        let props = properties.clone();
        fetching.spawn(async move {
            let started = Instant::now();
            let features = source.fetch_all(&Query { bbox: None, filters: filter }, |_| {}).await;
            let index = features.map(|fs| AddressIndex::new(fs.iter().filter_map(|f| AddressPoint::from_feature(f, &props)).collect()));
            (code, index, started.elapsed())
        });
    };
    while fetching.len() < concurrency
        && let Some(code) = pending.pop()
    {
        spawn(&mut fetching, code);
    }
    let mut dry_records = Vec::new();
    while let Some(joined) = fetching.join_next().await {
        let (code, index, fetch_time) = joined.map_err(|e| SyncError::Config(format!("a fetch task failed: {e}")))?;
        summary.fetch_seconds += fetch_time.as_secs_f64();
        if let Some(next) = pending.pop() {
            spawn(&mut fetching, next);
        }
        let facilities = groups.remove(&code).unwrap_or_default();
        let index = match index {
            Ok(index) => index,
            Err(e) => {
                tracing::error!(municipality = %code, error = %e, "address points not fetched");
                summary.unprocessed += facilities.len();
                summary.fetch_failures.push((code, e.to_string()));
                progress.add(facilities.len() as u64);
                continue;
            }
        };
        summary.points += index.len();
        let mut batch: Vec<(Uuid, SyncOutcome, Value)> = Vec::new();
        let mut writes: JoinSet<(Uuid, Record, Result<(), Error>)> = JoinSet::new();
        for f in &facilities {
            let t = Instant::now();
            let (outcome, record, write) = decide(f, &index, opts.threshold_m);
            summary.match_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            if opts.dry_run {
                dry_records.push(record);
            } else if let Some(found) = write {
                // Each write is its own transaction with its checkpoint; a few run at once.
                while writes.len() >= WRITERS {
                    let done = writes.join_next().await.expect("a write in flight");
                    settle(done, &mut batch)?;
                    progress.add(1);
                }
                let (reg, p, run, id, version) = (reg.clone(), p.clone(), summary.run_id, f.id, f.version);
                writes.spawn(async move {
                    let detail = serde_json::to_value(&record).expect("records serialise");
                    let result = reg.apply_synced_location(&p, run, id, version, &found, outcome, detail).await.map(|_| ());
                    (id, record, result)
                });
            } else {
                batch.push((f.id, outcome, serde_json::to_value(&record).expect("records serialise")));
                progress.add(1);
            }
            if batch.len() >= BATCH {
                reg.record_sync_outcomes(&p, summary.run_id.expect("a run outside dry runs"), &batch).await?;
                batch.clear();
            }
            summary.write_seconds += t.elapsed().as_secs_f64();
            if opts.dry_run {
                progress.add(1);
            }
        }
        let t = Instant::now();
        while let Some(done) = writes.join_next().await {
            settle(done, &mut batch)?;
            progress.add(1);
        }
        if !batch.is_empty() {
            reg.record_sync_outcomes(&p, summary.run_id.expect("a run outside dry runs"), &batch).await?;
        }
        summary.write_seconds += t.elapsed().as_secs_f64();
    }
    progress.finish();

    let records = if opts.dry_run {
        dry_records
    } else {
        let run = summary.run_id.expect("a run outside dry runs");
        let rows = reg.sync_outcomes(&p, run).await?;
        if summary.fetch_failures.is_empty() {
            reg.finish_sync_run(&p, run).await?;
            summary.finished = true;
        }
        rows.into_iter()
            .map(|o| {
                let mut r: Record = serde_json::from_value(o.detail.clone()).unwrap_or_else(|_| Record {
                    facility_id: o.facility_id,
                    municipality_code: String::new(),
                    name: String::new(),
                    outcome: String::new(),
                    old: None,
                    found: None,
                    distance_m: None,
                    source_feature_id: None,
                    match_quality: None,
                    message: String::new(),
                });
                r.facility_id = o.facility_id;
                r.outcome = o.outcome;
                r
            })
            .collect()
    };
    for r in &records {
        if let Some(o) = SyncOutcome::parse(&r.outcome) {
            *summary.counts.entry(o).or_default() += 1;
        }
    }
    Ok((summary, records))
}

/// What to do with one facility: its outcome, its report line and, if it is to be written,
/// the location to write.
fn decide(f: &SyncCandidate, index: &AddressIndex, threshold_m: f64) -> (SyncOutcome, Record, Option<SyncedLocation>) {
    let mut r = Record {
        facility_id: f.id,
        municipality_code: f.municipality_code.clone(),
        name: f.name.clone(),
        outcome: String::new(),
        old: f.location,
        found: None,
        distance_m: None,
        source_feature_id: None,
        match_quality: None,
        message: String::new(),
    };
    let (outcome, write) = match index.lookup(&f.address) {
        Lookup::NotFound => {
            r.message = format!("no address point for '{}', {} {}", f.address.street, f.address.postal_code, f.address.locality);
            (SyncOutcome::NotFound, None)
        }
        Lookup::Ambiguous(points) => {
            let ids: Vec<&str> = points.iter().take(5).map(|p| p.feature_id.as_str()).collect();
            r.message = format!("{} address points match at different places: {}", points.len(), ids.join(", "));
            (SyncOutcome::Ambiguous, None)
        }
        Lookup::Found { point, quality } => {
            let distance = f.location.map(|l| crate::distance_m(l, point.location));
            r.found = Some(point.location);
            r.distance_m = distance.map(|d| (d * 100.0).round() / 100.0);
            r.source_feature_id = Some(point.feature_id.clone());
            r.match_quality = Some(quality.as_str().into());
            let found = SyncedLocation { location: point.location, source_feature_id: point.feature_id, match_quality: quality };
            let off = distance.is_none_or(|d| d > threshold_m);
            match (f.locked, distance) {
                (true, _) if off => {
                    r.message = "the location is locked and disagrees with the address point".into();
                    (SyncOutcome::LockedDisagreeing, None)
                }
                (true, _) => (SyncOutcome::LockedAgreeing, None),
                (false, None) => (SyncOutcome::Filled, Some(found)),
                (false, Some(_)) if off => (SyncOutcome::Moved, Some(found)),
                (false, Some(_)) => (SyncOutcome::Unchanged, None),
            }
        }
    };
    r.outcome = outcome.as_str().into();
    (outcome, r, write)
}

/// Writes the report as CSV (RFC 4180, UTF-8, header row).
pub fn write_report(out: &mut impl Write, records: &[Record]) -> std::io::Result<()> {
    writeln!(
        out,
        "facility_id,municipality_code,name,outcome,old_lat,old_lon,found_lat,found_lon,distance_m,source_feature_id,match_quality,message"
    )?;
    let q = |s: &str| if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for r in records {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            r.facility_id,
            q(&r.municipality_code),
            q(&r.name),
            r.outcome,
            num(r.old.map(|p| p.lat)),
            num(r.old.map(|p| p.lon)),
            num(r.found.map(|p| p.lat)),
            num(r.found.map(|p| p.lon)),
            num(r.distance_m),
            q(r.source_feature_id.as_deref().unwrap_or("")),
            r.match_quality.as_deref().unwrap_or(""),
            q(&r.message)
        )?;
    }
    Ok(())
}

/// Reads back a report line's columns (for tests and tools): splits one CSV line.
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().expect("one field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().expect("one field").push(c),
        }
    }
    out
}

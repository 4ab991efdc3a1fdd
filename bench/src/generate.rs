//! `registry-bench gen`: a realistic synthetic national dataset written straight into a
//! migrated registry database with `COPY`, in one transaction.
//!
//! Facilities are spread over the 290 municipalities by population, placed in the main town or
//! in villages around it (on land, by a coarse outline of Sweden), with categories, activities,
//! units, accessibility, ownership, contact details, booking vendors and opening hours mixed
//! as in a real municipality. Opening hours come from a dozen real-world schedule shapes; their
//! 400 days of open intervals are evaluated once per shape by the registry's own evaluator and
//! joined in, so the dataset is ready for `openAt` searches without `registry hours refresh`.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures_util::SinkExt;
use registry_core::hours::{OpeningHours, osm};
use registry_core::model::{AgeBand, ContactPerson, Gender, MemberCount, MemberStatistics};
use tokio_postgres::{Client, NoTls, Transaction};
use uuid::Uuid;

use crate::catalogue::{ASSOCIATION_KINDS, CATEGORIES, SCHEDULES, TREES, Units, VENDORS};
use crate::world::{self, FIRST_NAMES, Municipality, Rng, SURNAMES};

/// What to generate.
#[derive(Debug, Clone, clap::Args)]
pub struct GenArgs {
    /// The registry database (migrated with `registry migrate`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Number of facilities.
    #[arg(long, default_value_t = 100_000)]
    pub facilities: usize,
    /// Number of associations.
    #[arg(long, default_value_t = 20_000)]
    pub associations: usize,
    /// Seed: the same seed gives the same dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delete every facility, association, schedule and change-log entry first (otherwise the
    /// registry must be empty).
    #[arg(long)]
    pub replace: bool,
}

/// A facility as far as its units and hours need to know it.
struct Made {
    id: Uuid,
    category: usize,
    bookable_share: f64,
}

/// Time-ordered ids (version 7 layout): the primary-key index is filled in order.
fn id(r: &mut Rng, base_ms: u64, n: u64) -> Uuid {
    let ms = base_ms + n / 4096;
    let hi = (ms << 16) | 0x7000 | (n % 4096);
    let lo = (r.next_u64() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    Uuid::from_u64_pair(hi, lo)
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c.to_lowercase().next().unwrap_or(c) {
            'å' | 'ä' => Some('a'),
            'ö' => Some('o'),
            'é' => Some('e'),
            c if c.is_ascii_alphanumeric() => Some(c),
            ' ' | '-' => Some('-'),
            _ => None,
        })
        .collect()
}

/// COPY text format: escapes backslash, tab, newline and carriage return.
fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// A point as hex EWKB (SRID 4326), which PostGIS reads without parsing text.
fn ewkb(out: &mut String, lon: f64, lat: f64) {
    let mut b = Vec::with_capacity(25);
    b.push(1u8);
    b.extend_from_slice(&0x2000_0001u32.to_le_bytes());
    b.extend_from_slice(&4326u32.to_le_bytes());
    b.extend_from_slice(&lon.to_le_bytes());
    b.extend_from_slice(&lat.to_le_bytes());
    for x in b {
        let _ = write!(out, "{x:02X}");
    }
}

fn ts(out: &mut String, t: DateTime<Utc>) {
    let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S+00"));
}

fn postal_prefix(county: &str) -> (i64, i64) {
    match county {
        "01" => (10, 19),
        "03" => (74, 75),
        "04" => (61, 64),
        "05" => (58, 61),
        "06" => (55, 57),
        "07" => (34, 36),
        "08" => (38, 39),
        "09" => (62, 62),
        "10" => (37, 37),
        "12" => (20, 29),
        "13" => (30, 31),
        "14" => (40, 54),
        "17" => (65, 68),
        "18" => (69, 71),
        "19" => (72, 73),
        "20" => (77, 79),
        "21" => (80, 82),
        "22" => (85, 89),
        "23" => (83, 84),
        "24" => (90, 93),
        _ => (94, 98),
    }
}

/// Shares of `total` by weight, rounded so they sum to `total` (largest remainder).
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut rest: Vec<(usize, f64)> = exact.iter().enumerate().map(|(i, x)| (i, x - x.floor())).collect();
    rest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let missing = total - out.iter().sum::<usize>();
    for (i, _) in rest.into_iter().take(missing) {
        out[i] += 1;
    }
    out
}

/// A village around a main town.
struct Village {
    name: String,
    lat: f64,
    lon: f64,
    weight: u32,
}

fn villages(r: &mut Rng, m: &Municipality) -> Vec<Village> {
    let n = (m.population / 4000).clamp(2, 25) as usize;
    // Northern municipalities are far larger.
    let reach_km = 12.0 + (m.lat - 60.0).max(0.0) * 9.0;
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < n && tries < n * 30 {
        tries += 1;
        let d = 4.0 + r.f64() * reach_km;
        let a = r.f64() * std::f64::consts::TAU;
        let lat = m.lat + d * a.sin() / 111.2;
        let lon = m.lon + d * a.cos() / (111.2 * m.lat.to_radians().cos());
        if world::on_land(lon, lat) {
            out.push(Village { name: world::place_name(r), lat, lon, weight: 1 + (8.0 / (0.3 + r.f64())) as u32 });
        }
    }
    out
}

/// One facility's position and locality.
fn place(r: &mut Rng, m: &Municipality, villages: &[Village]) -> (f64, f64, String) {
    let town_sigma_km = 0.8 + (f64::from(m.population)).sqrt() / 160.0;
    let in_town = villages.is_empty() || r.chance(0.62);
    let weights: Vec<u32> = villages.iter().map(|v| v.weight).collect();
    let village = if in_town { None } else { Some(&villages[r.weighted(&weights)]) };
    let (clat, clon, sigma) = match village {
        None => (m.lat, m.lon, town_sigma_km),
        Some(v) => (v.lat, v.lon, 0.9),
    };
    for _ in 0..12 {
        let lat = clat + r.normal() * sigma / 111.2;
        let lon = clon + r.normal() * sigma / (111.2 * clat.to_radians().cos());
        if world::on_land(lon, lat) {
            return (lat, lon, village.map_or_else(|| m.name.clone(), |v| v.name.clone()));
        }
    }
    (clat + r.normal() * 0.002, clon + r.normal() * 0.004, village.map_or_else(|| m.name.clone(), |v| v.name.clone()))
}

fn name_form(form: &str, r: &mut Rng, locality: &str) -> String {
    form.replace("{l}", locality).replace("{p}", &world::place_name(r))
}

/// The facilities' COPY rows, one municipality at a time.
fn facility_rows(r: &mut Rng, m: &Municipality, count: usize, base_ms: u64, next: &mut u64, made: &mut Vec<Made>, out: &mut String) {
    let vs = villages(r, m);
    let weights: Vec<u32> = CATEGORIES.iter().map(|c| c.weight).collect();
    let now = Utc::now();
    let slug = ascii_slug(&m.name);
    let (plo, phi) = postal_prefix(&m.county);
    for _ in 0..count {
        let ci = r.weighted(&weights);
        let c = &CATEGORIES[ci];
        let fid = id(r, base_ms, *next);
        *next += 1;
        let (lat, lon, locality) = place(r, m, &vs);
        let form = *r.pick(c.names);
        let name = name_form(form, r, &locality);
        let mut acts: Vec<&str> = vec![c.activities[0]];
        for a in &c.activities[1..] {
            if r.chance(0.45) {
                acts.push(a);
            }
        }
        let ownership = *r.pick(&["municipal", "municipal", "municipal", "municipal", "municipal", "rented_by_municipality", "other"]);
        let mut access = Vec::new();
        for (a, p) in [
            ("step_free_entrance", 0.6),
            ("accessible_toilet", 0.45),
            ("hearing_loop", 0.2),
            ("accessible_parking", 0.5),
            ("accessible_changing_room", 0.3),
        ] {
            if r.chance(p) {
                access.push(a);
            }
        }
        let created = now - Duration::seconds(r.range(86_400, 3 * 365 * 86_400));
        let updated = created + Duration::seconds(r.range(0, (now - created).num_seconds()));
        let bookable_share = if c.hours.is_empty() { 0.6 } else { 0.9 };
        // id, municipality_code, name, description, category, activities, location
        let _ = write!(out, "{fid}\t{}\t", m.code);
        esc(out, &name);
        out.push('\t');
        esc(out, c.description);
        let _ = write!(out, "\t{}\t{{{}}}\t", c.code, acts.join(","));
        ewkb(out, lon, lat);
        // street, postal_code, locality
        let street = format!("{}{} {}", world::place_name(r), r.pick(&["vägen", "gatan", "stigen", "allén"]), r.range(1, 80));
        out.push('\t');
        esc(out, &street);
        let _ = write!(out, "\t{}{:03}\t", r.range(plo, phi), r.range(0, 999));
        esc(out, &locality);
        // ownership, accessibility, email, phone, website
        let _ = write!(out, "\t{ownership}\t{{{}}}\t", access.join(","));
        if r.chance(0.6) {
            let _ = write!(out, "bokning@{slug}.se");
        } else {
            out.push_str("\\N");
        }
        if r.chance(0.7) {
            let _ = write!(out, "\t+46{}", r.range(100_000_000, 999_999_999));
        } else {
            out.push_str("\t\\N");
        }
        if r.chance(0.5) {
            let _ = write!(out, "\thttps://www.{slug}.se/anlaggningar/{}", ascii_slug(&name));
        } else {
            out.push_str("\t\\N");
        }
        // booking_vendor_id, booking_vendor_ref, version, created_at, updated_at
        if r.chance(0.35) {
            let v = r.pick(VENDORS);
            let _ = write!(out, "\t{v}\t{v}-{}", *next);
        } else {
            out.push_str("\t\\N\t\\N");
        }
        let _ = write!(out, "\t{}\t", r.range(1, 6));
        ts(out, created);
        out.push('\t');
        ts(out, updated);
        out.push('\n');
        made.push(Made { id: fid, category: ci, bookable_share });
    }
}

fn unit_rows(r: &mut Rng, f: &Made, base_ms: u64, next: &mut u64, out: &mut String) -> usize {
    let c = &CATEGORIES[f.category];
    let n = r.range(c.units.0, c.units.1) as usize;
    for k in 0..n {
        let uid = id(r, base_ms, *next);
        *next += 1;
        let name = match c.unit_names {
            Units::Numbered(w) => format!("{w} {}", k + 1),
            Units::Lettered(w) => format!("{w} {}", (b'A' + k as u8) as char),
            Units::Rooms => format!("Rum {}", TREES[k % TREES.len()]),
            Units::Named(ns) => ns.get(k).map_or_else(|| format!("{} {}", ns[0], k + 1), |s| (*s).to_string()),
        };
        let _ = write!(out, "{uid}\t{}\t{k}\t", f.id);
        esc(out, &name);
        let _ = write!(out, "\t{}\t", c.code);
        if r.chance(0.9) {
            let _ = write!(out, "{}", r.range(c.capacity.0, c.capacity.1));
        } else {
            out.push_str("\\N");
        }
        out.push('\t');
        if r.chance(0.8) {
            let _ = write!(out, "{}", r.range(c.area.0, c.area.1));
        } else {
            out.push_str("\\N");
        }
        let _ = writeln!(out, "\t{}", if r.chance(f.bookable_share) { 't' } else { 'f' });
    }
    n
}

fn association_rows(
    r: &mut Rng,
    m: &Municipality,
    count: usize,
    base_ms: u64,
    next: &mut u64,
    org: &mut u64,
    out: &mut String,
) -> Result<()> {
    let weights: Vec<u32> = ASSOCIATION_KINDS.iter().map(|k| k.2).collect();
    let now = Utc::now();
    for _ in 0..count {
        let (forms, acts, _) = ASSOCIATION_KINDS[r.weighted(&weights)];
        let aid = id(r, base_ms, *next);
        *next += 1;
        let locality = if r.chance(0.6) { m.name.clone() } else { world::place_name(r) };
        let form = *r.pick(forms);
        let name = name_form(form, r, &locality);
        // Non-profit associations' numbers start with 8; the tenth digit is the Luhn check.
        *org = (*org + 7919) % 1_000_000;
        let nine = format!("802{:06}", *org);
        let check = (0..10).map(|d| format!("{nine}{d}")).find(|s| registry_core::orgnr::luhn_valid(s)).context("a Luhn digit exists")?;
        let mut activities: Vec<&str> = vec![acts[0]];
        for a in &acts[1..] {
            if r.chance(0.35) {
                activities.push(a);
            }
        }
        let slug = ascii_slug(&name);
        let _ = write!(out, "{aid}\t{check}\t");
        esc(out, &name);
        let _ = write!(out, "\t{}\t{{{}}}\t", m.code, activities.join(","));
        if r.chance(0.8) {
            let _ = write!(out, "info@{slug}.se");
        } else {
            out.push_str("\\N");
        }
        if r.chance(0.5) {
            let _ = write!(out, "\t+46{}", r.range(100_000_000, 999_999_999));
        } else {
            out.push_str("\t\\N");
        }
        if r.chance(0.6) {
            let _ = write!(out, "\thttps://www.{slug}.se\t");
        } else {
            out.push_str("\t\\N\t");
        }
        let mut stats_json = None;
        if r.chance(0.7) {
            let members = r.range(15, 900) as f64;
            let mut counts = Vec::new();
            for band in AgeBand::ALL {
                for gender in [Gender::Female, Gender::Male] {
                    let share = match band {
                        AgeBand::Age7To12 | AgeBand::Age13To20 => 0.14,
                        AgeBand::Age26To64 => 0.1,
                        _ => 0.04,
                    };
                    let count = (members * share * (0.5 + r.f64())) as u32;
                    if count > 0 {
                        counts.push(MemberCount { age_band: *band, gender, count });
                    }
                }
            }
            let json = serde_json::to_string(&MemberStatistics { year: 2025, counts })?;
            esc(out, &json);
            stats_json = Some(json);
        } else {
            out.push_str("\\N");
        }
        let (status, message) = match r.below(100) {
            0..88 => ("approved", None),
            88..94 => ("pending", None),
            94..98 => ("needs_completion", Some("Stadgar och årsmötesprotokoll saknas. Komplettera ansökan.")),
            _ => ("rejected", Some("Föreningen uppfyller inte kraven för registrering: verksamheten är inte öppen för alla.")),
        };
        let created = now - Duration::seconds(r.range(86_400, 5 * 365 * 86_400));
        let updated = created + Duration::seconds(r.range(0, (now - created).num_seconds()));
        let _ = write!(out, "\t{status}\t{}\t", message.unwrap_or("\\N"));
        if status == "pending" {
            out.push_str("\\N");
        } else {
            ts(out, updated);
        }
        out.push('\t');
        let persons: Vec<ContactPerson> = (0..r.range(1, 2))
            .map(|k| ContactPerson {
                name: format!("{} {}", r.pick(FIRST_NAMES), r.pick(SURNAMES)),
                role: ["ordförande", "kassör"][k as usize].into(),
                email: Some(format!("{}@{slug}.se", ["ordforande", "kassor"][k as usize])),
                phone: Some(format!("07{}", r.range(10_000_000, 99_999_999))),
            })
            .collect();
        esc(out, &serde_json::to_string(&persons)?);
        let _ = write!(out, "\t{}\t", r.range(1, 4));
        ts(out, created);
        out.push('\t');
        ts(out, updated);
        // The registration summary the trigger keeps (the generator fills the registrations
        // table from these columns with the trigger off) and every year's statistics.
        let approved = if status == "approved" { m.code.as_str() } else { "" };
        let _ = write!(out, "\t{{{}}}\t{{{approved}}}\t", m.code);
        match &stats_json {
            Some(json) => esc(out, &format!("[{json}]")),
            None => out.push_str("[]"),
        }
        out.push('\n');
    }
    Ok(())
}

/// Sends COPY data in chunks of about a megabyte, so generating and loading overlap.
struct Copy<'a> {
    sink: std::pin::Pin<Box<tokio_postgres::CopyInSink<Bytes>>>,
    buf: String,
    _tx: std::marker::PhantomData<&'a ()>,
}

impl<'a> Copy<'a> {
    async fn start(tx: &'a Transaction<'a>, sql: &str) -> Result<Copy<'a>> {
        let sink = tx.copy_in(sql).await.with_context(|| format!("starting {sql}"))?;
        Ok(Copy { sink: Box::pin(sink), buf: String::with_capacity(1 << 21), _tx: std::marker::PhantomData })
    }

    async fn flush_if_full(&mut self) -> Result<()> {
        if self.buf.len() >= 1 << 20 {
            let chunk = std::mem::replace(&mut self.buf, String::with_capacity(1 << 21));
            self.sink.send(Bytes::from(chunk)).await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<u64> {
        if !self.buf.is_empty() {
            let chunk = std::mem::take(&mut self.buf);
            self.sink.send(Bytes::from(chunk)).await?;
        }
        Ok(self.sink.as_mut().finish().await?)
    }
}

/// Secondary indexes of the loaded tables (not those behind constraints): dropped before the
/// load and rebuilt after it, which is several times faster than maintaining them row by row.
async fn secondary_indexes(tx: &Transaction<'_>, tables: &[&str]) -> Result<Vec<(String, String)>> {
    let tables: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    let rows = tx
        .query(
            "SELECT i.relname::text, pg_get_indexdef(i.oid) FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             WHERE t.relname = ANY($1) AND t.relnamespace = 'public'::regnamespace \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) \
             ORDER BY t.relname, i.relname",
            &[&tables],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn progress(what: &str, done: usize, total: usize, started: Instant) {
    eprintln!("  {what}: {done}/{total} ({:.0}/s)", done as f64 / started.elapsed().as_secs_f64().max(1e-3));
}

/// What a run generated.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Facilities.
    pub facilities: usize,
    /// Their units.
    pub units: usize,
    /// Facilities with opening hours (and materialised open intervals).
    pub with_hours: u64,
    /// Associations.
    pub associations: usize,
    /// Distinct words of names and localities in the word list for typo tolerance.
    pub words: u64,
    /// Wall-clock seconds, including rebuilding indexes and gathering statistics.
    pub seconds: f64,
}

/// Generates the dataset: the same seed gives the same facilities, names, places, ids and
/// associations (timestamps are relative to the day it runs).
pub async fn run(a: &GenArgs) -> Result<Generated> {
    let started = Instant::now();
    let munis = world::municipalities()?;
    let schedules: Vec<OpeningHours> = SCHEDULES
        .iter()
        .map(|s| osm::parse(s).map_err(|e| anyhow::anyhow!("schedule {s:?} does not parse: {e}")))
        .collect::<Result<_>>()?;
    let (mut client, conn) = tokio_postgres::connect(&a.database_url, NoTls).await.context("connecting to the database")?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("database connection: {e}");
        }
    });
    check_schema(&client).await?;
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL maintenance_work_mem = '1GB'; SET LOCAL synchronous_commit = off").await?;
    let existing: i64 = tx.query_one("SELECT (SELECT count(*) FROM facilities) + (SELECT count(*) FROM associations)", &[]).await?.get(0);
    if existing > 0 {
        if !a.replace {
            bail!("the registry already holds {existing} facilities and associations; use --replace to delete them first");
        }
        eprintln!("deleting {existing} existing facilities and associations (--replace)");
        tx.batch_execute(
            "TRUNCATE open_intervals, opening_hours, vendor_units, facility_units, facilities, bookings, association_registration_events, \
             association_registrations, association_representatives, member_statistics_reports, allocation_series, allocation_matches, allocation_comments, \
             grant_payments, grant_payment_orders, grant_occasions, grant_attendance_lists, grant_attachment_contents, grant_attachments, \
             grant_applications, grant_programmes, \
             allocation_runs, allocation_applications, allocation_rounds, associations, change_log, search_words",
        )
        .await?;
    }
    let tables = [
        "facilities",
        "facility_units",
        "opening_hours",
        "open_intervals",
        "associations",
        "association_registrations",
        "member_statistics_reports",
        "search_words",
    ];
    let indexes = secondary_indexes(&tx, &tables).await?;
    for (name, _) in &indexes {
        tx.batch_execute(&format!("DROP INDEX {name}")).await?;
    }
    // The word list for typo tolerance is filled once at the end instead of row by row.
    tx.batch_execute(
        "ALTER TABLE facilities DISABLE TRIGGER facilities_collect_words; \
         ALTER TABLE associations DISABLE TRIGGER associations_collect_words",
    )
    .await?;

    // Ids are time-ordered from a fixed instant (2025-01-01), so a seed always gives the same ids.
    let base_ms = 1_735_689_600_000 + (a.seed % 1000) * 10_000_000;
    // Facilities, by population; every municipality has at least one.
    let weights: Vec<f64> = munis.iter().map(|m| f64::from(m.population)).collect();
    let mut per = apportion(a.facilities.saturating_sub(munis.len()), &weights);
    if a.facilities >= munis.len() {
        per.iter_mut().for_each(|n| *n += 1);
    }
    eprintln!("generating {} facilities in {} municipalities (seed {})", a.facilities, munis.len(), a.seed);
    let t = Instant::now();
    let mut made = Vec::with_capacity(a.facilities);
    let mut next = 0u64;
    let mut copy = Copy::start(
        &tx,
        "COPY facilities (id, municipality_code, name, description, category, activities, location, street, postal_code, \
         locality, ownership, accessibility, email, phone, website, booking_vendor_id, booking_vendor_ref, version, \
         created_at, updated_at) FROM STDIN",
    )
    .await?;
    let mut reported = 0;
    for (m, n) in munis.iter().zip(&per) {
        let mut mr = Rng::stream(a.seed, u64::from(m.code.parse::<u32>().unwrap_or(0)));
        facility_rows(&mut mr, m, *n, base_ms, &mut next, &mut made, &mut copy.buf);
        copy.flush_if_full().await?;
        if made.len() - reported >= 100_000 {
            reported = made.len();
            progress("facilities", made.len(), a.facilities, t);
        }
    }
    copy.finish().await?;
    eprintln!("  facilities: {} in {:.1} s", made.len(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let mut copy =
        Copy::start(&tx, "COPY facility_units (id, facility_id, position, name, category, capacity, area_m2, bookable) FROM STDIN").await?;
    let mut units = 0;
    for (i, f) in made.iter().enumerate() {
        let mut ur = Rng::stream(a.seed ^ 0x00f0_0f00, i as u64);
        units += unit_rows(&mut ur, f, base_ms + 1_000_000, &mut next, &mut copy.buf);
        copy.flush_if_full().await?;
    }
    copy.finish().await?;
    eprintln!("  units: {units} in {:.1} s", t.elapsed().as_secs_f64());

    // Opening hours: each shape once, with its 400 days of intervals, then joined per facility.
    let t = Instant::now();
    let from = registry_core::service::window_start(chrono::Utc::now());
    let to = from + Duration::days(registry_core::service::MATERIALISED_DAYS);
    tx.batch_execute("CREATE TEMP TABLE gen_shapes (k int PRIMARY KEY, schedule jsonb NOT NULL, during tstzmultirange NOT NULL, soon_end timestamptz, soon tstzmultirange) ON COMMIT DROP; CREATE TEMP TABLE gen_hours (facility_id uuid NOT NULL, k int NOT NULL) ON COMMIT DROP").await?;
    for (k, s) in schedules.iter().enumerate() {
        let mut lit = String::from("{");
        for (j, i) in s.intervals(from, to).iter().enumerate() {
            if j > 0 {
                lit.push(',');
            }
            let _ = write!(lit, "[\"{}\",\"{}\")", i.start.format("%Y-%m-%d %H:%M:%S+00"), i.end.format("%Y-%m-%d %H:%M:%S+00"));
        }
        lit.push('}');
        tx.execute(
            "INSERT INTO gen_shapes (k, schedule, during) VALUES ($1, $2::text::jsonb, $3::text::tstzmultirange)",
            &[&(k as i32), &serde_json::to_string(s)?, &lit],
        )
        .await?;
    }
    let mut copy = Copy::start(&tx, "COPY gen_hours (facility_id, k) FROM STDIN").await?;
    let mut hr = Rng::stream(a.seed ^ 0x0b0b_0b0b, 7);
    for f in &made {
        let c = &CATEGORIES[f.category];
        if !c.hours.is_empty() && hr.chance(c.hours_share) {
            let _ = writeln!(copy.buf, "{}\t{}", f.id, hr.pick(c.hours));
            copy.flush_if_full().await?;
        }
    }
    copy.finish().await?;
    let with_hours = tx.execute("INSERT INTO opening_hours (facility_id, unit_id, schedule, updated_at) SELECT h.facility_id, NULL, s.schedule, now() FROM gen_hours h JOIN gen_shapes s USING (k)", &[]).await?;
    // The first 35 days (`soon`) once per shape, as the table's trigger would per row.
    tx.execute("UPDATE gen_shapes SET soon_end = $1::text::timestamptz + interval '35 days'", &[&from.to_rfc3339()]).await?;
    tx.execute("UPDATE gen_shapes SET soon = during * tstzmultirange(tstzrange($1::text::timestamptz, soon_end))", &[&from.to_rfc3339()])
        .await?;
    tx.batch_execute("ALTER TABLE open_intervals DISABLE TRIGGER open_intervals_soon").await?;
    tx.execute(
        "INSERT INTO open_intervals (facility_id, unit_id, during, window_start, window_end, soon, soon_end) \
         SELECT h.facility_id, NULL, s.during, $1::text::timestamptz, $2::text::timestamptz, s.soon, s.soon_end \
         FROM gen_hours h JOIN gen_shapes s USING (k) WHERE NOT isempty(s.during)",
        &[&from.to_rfc3339(), &to.to_rfc3339()],
    )
    .await?;
    tx.batch_execute("ALTER TABLE open_intervals ENABLE TRIGGER open_intervals_soon").await?;
    eprintln!("  opening hours and 400 days of open intervals: {with_hours} facilities in {:.1} s", t.elapsed().as_secs_f64());

    // Associations, by population.
    let t = Instant::now();
    let per = apportion(a.associations, &weights);
    let mut copy = Copy::start(
        &tx,
        "COPY associations (id, org_number, name, municipality_code, activities, email, phone, website, member_statistics, \
         registration_status, registration_message, registration_decided_at, contact_persons, version, created_at, updated_at, \
         registered_in, approved_in, member_statistics_by_year) FROM STDIN",
    )
    .await?;
    let mut org = a.seed % 1_000_000;
    for (m, n) in munis.iter().zip(&per) {
        let mut ar = Rng::stream(a.seed ^ 0x0a55_0c00, u64::from(m.code.parse::<u32>().unwrap_or(0)));
        association_rows(&mut ar, m, *n, base_ms + 2_000_000, &mut next, &mut org, &mut copy.buf)?;
        copy.flush_if_full().await?;
    }
    copy.finish().await?;
    // Each association's one registration and its statistics report, from the rows just
    // loaded; their summary is already in the rows, so the trigger that keeps it is off.
    tx.batch_execute(
        "ALTER TABLE association_registrations DISABLE TRIGGER association_registrations_summary; \
         INSERT INTO association_registrations (association_id, municipality_code, status, message, submitted_at, decided_at) \
           SELECT id, municipality_code, registration_status, registration_message, created_at, registration_decided_at FROM associations; \
         INSERT INTO member_statistics_reports (association_id, year, version, counts, reported_at, by_role) \
           SELECT id, (member_statistics ->> 'year')::int, 1, member_statistics -> 'counts', updated_at, 'municipality' \
           FROM associations WHERE member_statistics IS NOT NULL; \
         UPDATE associations SET registrations_json = registry_registrations_json(id, false), \
           approved_registrations_json = registry_registrations_json(id, true); \
         ALTER TABLE association_registrations ENABLE TRIGGER association_registrations_summary",
    )
    .await?;
    eprintln!("  associations: {} in {:.1} s", a.associations, t.elapsed().as_secs_f64());

    let t = Instant::now();
    let words = tx
        .execute(
            "INSERT INTO search_words SELECT unnest(registry_words(name || ' ' || locality)) FROM facilities \
             UNION SELECT unnest(registry_words(name)) FROM associations ON CONFLICT DO NOTHING",
            &[],
        )
        .await?;
    tx.batch_execute(
        "ALTER TABLE facilities ENABLE TRIGGER facilities_collect_words; \
         ALTER TABLE associations ENABLE TRIGGER associations_collect_words",
    )
    .await?;
    eprintln!("  word list for typo tolerance: {words} words in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    for (name, def) in &indexes {
        let ti = Instant::now();
        tx.batch_execute(def).await.with_context(|| format!("rebuilding index {name}"))?;
        eprintln!("  index {name}: {:.1} s", ti.elapsed().as_secs_f64());
    }
    eprintln!("  {} indexes rebuilt in {:.1} s", indexes.len(), t.elapsed().as_secs_f64());
    tx.commit().await?;
    let t = Instant::now();
    client.batch_execute(&format!("VACUUM (ANALYZE) {}", tables.join(", "))).await?;
    eprintln!("  vacuum and statistics: {:.1} s", t.elapsed().as_secs_f64());
    Ok(Generated {
        facilities: made.len(),
        units,
        with_hours,
        associations: a.associations,
        words,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn check_schema(client: &Client) -> Result<()> {
    let ok: bool = client
        .query_one("SELECT to_regclass('public.facilities') IS NOT NULL AND to_regclass('public.open_intervals') IS NOT NULL", &[])
        .await?
        .get(0);
    if !ok {
        bail!("the database has no registry schema; run `registry migrate --database-url …` first");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_and_follows_weights() {
        let out = apportion(1000, &[1.0, 2.0, 7.0]);
        assert_eq!(out, vec![100, 200, 700]);
        let out = apportion(10, &[1.0, 1.0, 1.0]);
        assert_eq!(out.iter().sum::<usize>(), 10);
    }

    #[test]
    fn ewkb_is_a_point_with_srid() {
        let mut s = String::new();
        ewkb(&mut s, 15.0, 59.0);
        assert!(s.starts_with("0101000020E6100000"), "{s}");
        assert_eq!(s.len(), 50);
    }

    #[test]
    fn schedules_parse_and_categories_use_known_codes() {
        for s in SCHEDULES {
            osm::parse(s).unwrap();
        }
        for c in CATEGORIES {
            assert!(registry_core::codes::is_category(c.code), "{}", c.code);
            for a in c.activities {
                assert!(registry_core::codes::is_activity(a), "{a}");
            }
            assert!(c.hours.iter().all(|k| *k < SCHEDULES.len()));
        }
        for (_, acts, _) in ASSOCIATION_KINDS {
            for a in *acts {
                assert!(registry_core::codes::is_activity(a), "{a}");
            }
        }
    }
}

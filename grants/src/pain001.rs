//! The payment file of a payment order: ISO 20022 `pain.001.001.03`
//! (CustomerCreditTransferInitiationV03) the way Swedish banks take it (the Swedish Common
//! Interpretation of ISO 20022 payment messages, Bankgirot's and the banks' implementation
//! guides). [`check`] refuses anything the file could not carry as it is, naming the field and
//! the rule; [`write`] checks, then writes the XML by hand (no XML library, every text escaped).
//!
//! The structure (docs/grants-payout.md has the reasons and sources):
//!
//! - `GrpHdr`: `MsgId`, `CreDtTm` (Swedish local time), `NbOfTxs`, `CtrlSum`, `InitgPty` with the
//!   municipality's name and organisation number (`Id/OrgId/Othr/Id`, `SchmeNm/Cd` = `BANK`).
//! - One `PmtInf` for the domestic payments (bankgiro, plusgiro, Swedish IBAN; `SvcLvl` `NURG`)
//!   and, only if there are any, one for payments abroad (foreign IBAN; `ChrgBr` `SHAR`), both on
//!   the requested execution date from the municipality's account (`BtchBookg` true).
//! - One `CdtTrfTxInf` per payment: `PmtId` (`InstrId` = `EndToEndId`), `Amt/InstdAmt` in SEK with
//!   two decimals from öre, the creditor agent and account by kind (bankgiro: `Othr/Id` with
//!   `SchmeNm/Prtry` `BGNR` and agent `SESBA` 9900; plusgiro: `Othr/Id` with `SchmeNm/Cd` `BBAN`
//!   and agent `SESBA` 9960; IBAN: `IBAN`, agent `BIC` when known), `Cdtr/Nm` (and organisation
//!   number) and `RmtInf/Ustrd`.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Stockholm;
use registry_core::error::Result;
use registry_core::validate::Violations;

use crate::account::{self, Account};

/// The namespace of pain.001.001.03.
pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03";
/// At most this many payments in one file.
pub const MAX_PAYMENTS: usize = 100_000;
/// `MsgId` is a Max35Text; the `PmtInfId`s are the message id and `-DOM` or `-INT`, so the
/// message id itself has at most 31 characters.
pub const MESSAGE_ID_MAX: usize = 31;
/// `EndToEndId` (and `InstrId`): Max35Text.
pub const END_TO_END_ID_MAX: usize = 35;
/// Names: the schema allows 140 (Max140Text), the Swedish banks and CGI-MP carry 70.
pub const NAME_MAX: usize = 70;
/// `RmtInf/Ustrd`: Max140Text, one occurrence.
pub const REMITTANCE_MAX: usize = 140;
/// The largest amount, and control sum, in öre: the schema's decimals have at most 18 digits,
/// two of them after the point.
pub const AMOUNT_MAX_MINOR: i64 = 999_999_999_999_999_999;

/// Bankgirot's clearing number (creditor agent of a bankgiro payment).
const BANKGIRO_CLEARING: &str = "9900";
/// PlusGirot's (Nordea's) clearing number (creditor agent of a plusgiro payment).
const PLUSGIRO_CLEARING: &str = "9960";

/// One payment file: every payment of one payment order, from one account on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFile {
    /// Unique per file (the bank refuses a second file with the same id): at most 31
    /// characters of `A-Z a-z 0-9 / - ? : ( ) . , ' +`.
    pub message_id: String,
    /// When the file was made.
    pub created_at: DateTime<Utc>,
    /// Who sends the file: the municipality.
    pub initiator_name: String,
    /// The municipality's organisation number, `NNNNNN-NNNN`: its identification at the bank.
    pub initiator_org_number: String,
    /// The account holder paying: the municipality (or its committee).
    pub debtor_name: String,
    /// The municipality's own account: a bankgiro, plusgiro or Swedish IBAN.
    pub debtor_account: Account,
    /// The BIC of the municipality's bank (for an IBAN, the account's BIC is used if this is
    /// empty). Without either the debtor agent is written as `NOTPROVIDED`.
    pub debtor_bic: Option<String>,
    /// The requested execution (payment) date; not before the day the file is made.
    pub execution_date: NaiveDate,
    /// The payments: at least one, at most [`MAX_PAYMENTS`].
    pub payments: Vec<Payment>,
}

/// One payment to one association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Unique within the file and carried through to the payee's bank: at most 35 characters
    /// of `A-Z a-z 0-9 / - ? : ( ) . , ' +`.
    pub end_to_end_id: String,
    /// The amount in öre, positive.
    pub amount_minor: i64,
    /// The association's name as its bank knows it: at most 70 characters.
    pub creditor_name: String,
    /// The association's organisation number, if it has one.
    pub creditor_org_number: Option<String>,
    /// Where the money goes.
    pub account: Account,
    /// The message the association sees, e.g. `Aktivitetsstöd HT 2027, beslut 2027-123`: at
    /// most 140 characters.
    pub remittance: String,
}

/// Whether a character may stand in a name or message: printable ASCII and the Latin-1
/// letters (å ä ö Å Ä Ö é ü ø æ …). The schema itself allows any Unicode, but Swedish banks carry
/// the Latin character set and replace or refuse the rest; a payment file must not change a
/// name silently, so anything else is refused before the file is written.
pub fn is_latin_char(c: char) -> bool {
    matches!(c, ' '..='~') || (('\u{C0}'..='\u{FF}').contains(&c) && c != '×' && c != '÷')
}

/// Whether a character may stand in an identifier (`MsgId`, `EndToEndId`): the restricted set
/// `A-Z a-z 0-9 / - ? : ( ) . , ' +` of the banks' guides (no spaces).
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/-?:().,'+".contains(c)
}

/// A required text on one line, trimmed, at most `max` characters, only [`is_latin_char`].
fn text(v: &mut Violations, field: &str, value: &str, max: usize) {
    let t = value.trim();
    if t.is_empty() {
        v.add(field, "required", "must not be empty");
        return;
    }
    let n = t.chars().count();
    if n > max {
        v.add(field, "max_length", format!("must be at most {max} characters (got {n}); the payment file does not shorten names"));
    }
    if let Some(c) = t.chars().find(|c| !is_latin_char(*c)) {
        v.add(
            field,
            "format",
            format!(
                "contains {c:?} (U+{:04X}), which Swedish banks do not carry: use letters (å ä ö é ü …), digits, spaces and ASCII punctuation",
                u32::from(c)
            ),
        );
    }
}

/// A required identifier: at most `max` characters of [`is_id_char`], neither starting nor
/// ending with `/` nor containing `//`.
fn identifier(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.is_empty() {
        v.add(field, "required", "must not be empty");
    } else if value.len() > max || !value.chars().all(is_id_char) || value.starts_with('/') || value.ends_with('/') || value.contains("//")
    {
        v.add(
            field,
            "format",
            format!("must be at most {max} characters of A-Z a-z 0-9 / - ? : ( ) . , ' + (no spaces, no leading, trailing or double /)"),
        );
    }
}

/// Checks everything the file will carry, so that [`write`] never writes a file the schema or
/// the bank refuses and never changes a value: the texts (lengths, characters), the ids
/// (unique), the accounts and organisation numbers (check digits), the amounts (positive, the
/// sum within the schema's 18 digits), the date, and the number of payments. Reports every
/// problem at once as [`registry_core::Error::Invalid`].
pub fn check(doc: &PaymentFile) -> Result<()> {
    let mut v = Violations::default();
    identifier(&mut v, "messageId", &doc.message_id, MESSAGE_ID_MAX);
    text(&mut v, "initiatorName", &doc.initiator_name, NAME_MAX);
    registry_core::orgnr::check(&mut v, "initiatorOrgNumber", &doc.initiator_org_number);
    text(&mut v, "debtorName", &doc.debtor_name, NAME_MAX);
    let debtor = doc.debtor_account.validate(&mut v, "debtorAccount");
    if !doc.debtor_account.is_domestic() {
        v.add("debtorAccount", "format", "the municipality pays from a Swedish account: a bankgiro, a plusgiro or a Swedish IBAN");
    }
    if let Some(b) = doc.debtor_bic.as_deref().filter(|b| !b.trim().is_empty()) {
        let b = account::bic(&mut v, "debtorBic", b);
        if let Account::Iban { bic: Some(own), .. } = &debtor
            && *own != b
        {
            v.add("debtorBic", "mismatch", format!("the debtor account's own BIC is {own}, not {b}"));
        }
    }
    let today = doc.created_at.with_timezone(&Stockholm).date_naive();
    if doc.execution_date < today {
        v.add("executionDate", "range", format!("must not be before the day the file is made ({today})"));
    }
    if doc.payments.is_empty() {
        v.add("payments", "required", "must have at least one payment");
    } else if doc.payments.len() > MAX_PAYMENTS {
        v.add("payments", "max_items", format!("must have at most {MAX_PAYMENTS} payments (got {})", doc.payments.len()));
    }
    let mut ids: HashSet<&str> = HashSet::with_capacity(doc.payments.len());
    let mut total: i128 = 0;
    for (i, p) in doc.payments.iter().enumerate() {
        // Field names relative to the payment, prefixed only when something is wrong.
        let mut pv = Violations::default();
        identifier(&mut pv, "endToEndId", &p.end_to_end_id, END_TO_END_ID_MAX);
        if !p.end_to_end_id.is_empty() && !ids.insert(p.end_to_end_id.as_str()) {
            pv.add("endToEndId", "duplicate", format!("'{}' is the id of an earlier payment in the file", p.end_to_end_id));
        }
        if p.amount_minor <= 0 {
            pv.add("amountMinor", "range", "must be a positive amount (in öre)");
        } else if p.amount_minor > AMOUNT_MAX_MINOR {
            pv.add("amountMinor", "range", format!("must be at most {AMOUNT_MAX_MINOR} öre"));
        } else {
            total += i128::from(p.amount_minor);
        }
        text(&mut pv, "creditorName", &p.creditor_name, NAME_MAX);
        if let Some(org) = p.creditor_org_number.as_deref().filter(|o| !o.trim().is_empty()) {
            registry_core::orgnr::check(&mut pv, "creditorOrgNumber", org);
        }
        p.account.validate(&mut pv, "account");
        text(&mut pv, "remittance", &p.remittance, REMITTANCE_MAX);
        for x in pv.0 {
            v.0.push(registry_core::FieldViolation { field: format!("payments[{i}].{}", x.field), ..x });
        }
    }
    if total > i128::from(AMOUNT_MAX_MINOR) {
        v.add("payments", "range", format!("the amounts add up to more than the file can carry ({AMOUNT_MAX_MINOR} öre)"));
    }
    v.finish()
}

/// Checks the file ([`check`]) and writes it as pain.001.001.03 XML (UTF-8, indented).
pub fn write(doc: &PaymentFile) -> Result<String> {
    let mut out = String::new();
    write_into(doc, &mut out)?;
    Ok(out)
}

/// As [`write`], appending to `out` (which is left as it was when the check fails).
pub fn write_into(doc: &PaymentFile, out: &mut String) -> Result<()> {
    check(doc)?;
    out.reserve(2_000 + doc.payments.len() * 1_100);
    write_checked(doc, out);
    Ok(())
}

/// An amount in öre as the file writes it: `1234.50`.
pub fn format_amount(minor: i64) -> String {
    let mut s = String::with_capacity(24);
    push_amount(&mut s, minor.unsigned_abs());
    if minor < 0 { format!("-{s}") } else { s }
}

fn push_amount(out: &mut String, minor: u64) {
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    let mut n = minor;
    for _ in 0..2 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    i -= 1;
    buf[i] = b'.';
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"));
}

/// Appends `s` with the five XML special characters escaped.
fn push_escaped(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(entity);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// A small indenting writer: every element on its own line.
struct Xml<'a> {
    out: &'a mut String,
    depth: usize,
}

impl Xml<'_> {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, tag: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    /// `<tag>` + whatever `body` appends + `</tag>` on one line.
    fn leaf_with(&mut self, tag: &str, body: impl FnOnce(&mut String)) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        body(self.out);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    /// A leaf with text, escaped.
    fn text(&mut self, tag: &str, value: &str) {
        self.leaf_with(tag, |o| push_escaped(o, value));
    }

    /// A leaf whose value needs no escaping (codes, digits, dates).
    fn raw(&mut self, tag: &str, value: &str) {
        self.leaf_with(tag, |o| o.push_str(value));
    }

    fn amount(&mut self, tag: &str, minor: u64) {
        self.leaf_with(tag, |o| push_amount(o, minor));
    }

    /// Only the ASCII digits of `value` (a giro or organisation number as entered).
    fn digits(&mut self, tag: &str, value: &str) {
        self.leaf_with(tag, |o| o.extend(value.chars().filter(char::is_ascii_digit)));
    }

    /// Upper case without spaces (an IBAN or BIC as entered).
    fn compact(&mut self, tag: &str, value: &str) {
        self.leaf_with(tag, |o| o.extend(value.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase())));
    }

    /// `Id/OrgId/Othr/Id` with an organisation number, and `SchmeNm/Cd` if given.
    fn org_id(&mut self, org_number: &str, scheme: Option<&str>) {
        self.open("Id");
        self.open("OrgId");
        self.open("Othr");
        self.digits("Id", org_number);
        if let Some(cd) = scheme {
            self.open("SchmeNm");
            self.raw("Cd", cd);
            self.close("SchmeNm");
        }
        self.close("Othr");
        self.close("OrgId");
        self.close("Id");
    }

    /// The `Id` of a `CashAccount16` (`DbtrAcct`, `CdtrAcct`).
    fn account_id(&mut self, account: &Account) {
        self.open("Id");
        match account {
            Account::Iban { iban, .. } => self.compact("IBAN", iban),
            Account::Bankgiro { number } => self.giro(number, "Prtry", "BGNR"),
            Account::Plusgiro { number } => self.giro(number, "Cd", "BBAN"),
        }
        self.close("Id");
    }

    fn giro(&mut self, number: &str, scheme_kind: &str, scheme: &str) {
        self.open("Othr");
        self.digits("Id", number);
        self.open("SchmeNm");
        self.raw(scheme_kind, scheme);
        self.close("SchmeNm");
        self.close("Othr");
    }

    /// `FinInstnId` with a clearing member of the Swedish clearing (SESBA).
    fn clearing_member(&mut self, member: &str) {
        self.open("FinInstnId");
        self.open("ClrSysMmbId");
        self.open("ClrSysId");
        self.raw("Cd", "SESBA");
        self.close("ClrSysId");
        self.raw("MmbId", member);
        self.close("ClrSysMmbId");
        self.close("FinInstnId");
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn write_checked(doc: &PaymentFile, out: &mut String) {
    let (domestic, abroad): (Vec<&Payment>, Vec<&Payment>) = doc.payments.iter().partition(|p| p.account.is_domestic());
    let sum = |ps: &[&Payment]| ps.iter().map(|p| p.amount_minor.unsigned_abs()).sum::<u64>();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\">\n");
    let mut x = Xml { out, depth: 1 };
    x.open("CstmrCdtTrfInitn");
    x.open("GrpHdr");
    x.text("MsgId", &doc.message_id);
    x.raw("CreDtTm", &doc.created_at.with_timezone(&Stockholm).format("%Y-%m-%dT%H:%M:%S").to_string());
    x.raw("NbOfTxs", &doc.payments.len().to_string());
    x.amount("CtrlSum", sum(&domestic) + sum(&abroad));
    x.open("InitgPty");
    x.text("Nm", doc.initiator_name.trim());
    x.org_id(&doc.initiator_org_number, Some("BANK"));
    x.close("InitgPty");
    x.close("GrpHdr");
    for (payments, suffix, domestic) in [(&domestic, "-DOM", true), (&abroad, "-INT", false)] {
        if payments.is_empty() {
            continue;
        }
        x.open("PmtInf");
        x.leaf_with("PmtInfId", |o| {
            push_escaped(o, &doc.message_id);
            o.push_str(suffix);
        });
        x.raw("PmtMtd", "TRF");
        x.raw("BtchBookg", "true");
        x.raw("NbOfTxs", &payments.len().to_string());
        x.amount("CtrlSum", sum(payments));
        if domestic {
            x.open("PmtTpInf");
            x.open("SvcLvl");
            x.raw("Cd", "NURG");
            x.close("SvcLvl");
            x.close("PmtTpInf");
        }
        x.raw("ReqdExctnDt", &doc.execution_date.format("%Y-%m-%d").to_string());
        x.open("Dbtr");
        x.text("Nm", doc.debtor_name.trim());
        x.close("Dbtr");
        x.open("DbtrAcct");
        x.account_id(&doc.debtor_account);
        x.close("DbtrAcct");
        x.open("DbtrAgt");
        x.open("FinInstnId");
        let account_bic = match &doc.debtor_account {
            Account::Iban { bic, .. } => non_empty(bic.as_deref()),
            _ => None,
        };
        match non_empty(doc.debtor_bic.as_deref()).or(account_bic) {
            Some(bic) => x.compact("BIC", bic),
            None => {
                x.open("Othr");
                x.raw("Id", "NOTPROVIDED");
                x.close("Othr");
            }
        }
        x.close("FinInstnId");
        x.close("DbtrAgt");
        if !domestic {
            x.raw("ChrgBr", "SHAR");
        }
        for p in payments.iter() {
            write_payment(&mut x, p);
        }
        x.close("PmtInf");
    }
    x.close("CstmrCdtTrfInitn");
    out.push_str("</Document>\n");
}

fn write_payment(x: &mut Xml<'_>, p: &Payment) {
    x.open("CdtTrfTxInf");
    x.open("PmtId");
    x.text("InstrId", &p.end_to_end_id);
    x.text("EndToEndId", &p.end_to_end_id);
    x.close("PmtId");
    x.open("Amt");
    x.indent();
    x.out.push_str("<InstdAmt Ccy=\"SEK\">");
    push_amount(x.out, p.amount_minor.unsigned_abs());
    x.out.push_str("</InstdAmt>\n");
    x.close("Amt");
    match &p.account {
        Account::Bankgiro { .. } => {
            x.open("CdtrAgt");
            x.clearing_member(BANKGIRO_CLEARING);
            x.close("CdtrAgt");
        }
        Account::Plusgiro { .. } => {
            x.open("CdtrAgt");
            x.clearing_member(PLUSGIRO_CLEARING);
            x.close("CdtrAgt");
        }
        Account::Iban { bic, .. } => {
            if let Some(bic) = non_empty(bic.as_deref()) {
                x.open("CdtrAgt");
                x.open("FinInstnId");
                x.compact("BIC", bic);
                x.close("FinInstnId");
                x.close("CdtrAgt");
            }
        }
    }
    x.open("Cdtr");
    x.text("Nm", p.creditor_name.trim());
    if let Some(org) = non_empty(p.creditor_org_number.as_deref()) {
        x.org_id(org, None);
    }
    x.close("Cdtr");
    x.open("CdtrAcct");
    x.account_id(&p.account);
    x.close("CdtrAcct");
    x.open("RmtInf");
    x.text("Ustrd", p.remittance.trim());
    x.close("RmtInf");
    x.close("CdtTrfTxInf");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{iban_from_bban, luhn_check_digit};
    use chrono::TimeZone;

    fn luhn(payload: &str) -> String {
        format!("{payload}{}", luhn_check_digit(payload).unwrap())
    }

    fn payment(id: &str, amount_minor: i64, account: Account) -> Payment {
        Payment {
            end_to_end_id: id.into(),
            amount_minor,
            creditor_name: "IFK Kumla Fotboll".into(),
            creditor_org_number: Some("802004-5426".into()),
            account,
            remittance: "Aktivitetsstöd HT 2027, beslut 2027-123".into(),
        }
    }

    fn file(payments: Vec<Payment>) -> PaymentFile {
        PaymentFile {
            message_id: "KUMLA-2027-0042".into(),
            created_at: Utc.with_ymd_and_hms(2027, 9, 1, 8, 15, 30).unwrap(),
            initiator_name: "Kumla kommun".into(),
            initiator_org_number: "212000-1967".into(),
            debtor_name: "Kumla kommun, fritidsnämnden".into(),
            debtor_account: Account::Bankgiro { number: "5050-1055".into() },
            debtor_bic: Some("HANDSESS".into()),
            execution_date: NaiveDate::from_ymd_opt(2027, 9, 3).unwrap(),
            payments,
        }
    }

    fn violations(doc: &PaymentFile) -> Vec<(String, &'static str)> {
        match check(doc) {
            Ok(()) => vec![],
            Err(registry_core::Error::Invalid(v)) => v.into_iter().map(|x| (x.field, x.rule)).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_bankgiro_payment_is_written_as_swedish_banks_take_it() {
        let doc = file(vec![payment("KUMLA-2027-0042-1", 1_250_000, Account::Bankgiro { number: "5050-1055".into() })]);
        let xml = write(&doc).unwrap();
        let want = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>KUMLA-2027-0042</MsgId>
      <CreDtTm>2027-09-01T10:15:30</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>12500.00</CtrlSum>
      <InitgPty>
        <Nm>Kumla kommun</Nm>
        <Id>
          <OrgId>
            <Othr>
              <Id>2120001967</Id>
              <SchmeNm>
                <Cd>BANK</Cd>
              </SchmeNm>
            </Othr>
          </OrgId>
        </Id>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>KUMLA-2027-0042-DOM</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <BtchBookg>true</BtchBookg>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>12500.00</CtrlSum>
      <PmtTpInf>
        <SvcLvl>
          <Cd>NURG</Cd>
        </SvcLvl>
      </PmtTpInf>
      <ReqdExctnDt>2027-09-03</ReqdExctnDt>
      <Dbtr>
        <Nm>Kumla kommun, fritidsnämnden</Nm>
      </Dbtr>
      <DbtrAcct>
        <Id>
          <Othr>
            <Id>50501055</Id>
            <SchmeNm>
              <Prtry>BGNR</Prtry>
            </SchmeNm>
          </Othr>
        </Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <BIC>HANDSESS</BIC>
        </FinInstnId>
      </DbtrAgt>
      <CdtTrfTxInf>
        <PmtId>
          <InstrId>KUMLA-2027-0042-1</InstrId>
          <EndToEndId>KUMLA-2027-0042-1</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="SEK">12500.00</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <ClrSysMmbId>
              <ClrSysId>
                <Cd>SESBA</Cd>
              </ClrSysId>
              <MmbId>9900</MmbId>
            </ClrSysMmbId>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>IFK Kumla Fotboll</Nm>
          <Id>
            <OrgId>
              <Othr>
                <Id>8020045426</Id>
              </Othr>
            </OrgId>
          </Id>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <Othr>
              <Id>50501055</Id>
              <SchmeNm>
                <Prtry>BGNR</Prtry>
              </SchmeNm>
            </Othr>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>Aktivitetsstöd HT 2027, beslut 2027-123</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"#;
        assert_eq!(xml, want);
    }

    #[test]
    fn plusgiro_and_iban_creditors_and_a_second_block_for_payments_abroad() {
        let fi = iban_from_bban("FI", "12345600000785").unwrap();
        let mut doc = file(vec![
            payment("P-1", 100, Account::Plusgiro { number: "90 01 22-3".into() }),
            payment("P-2", 99, Account::Iban { iban: "se45 5000 0000 0583 9825 7466".into(), bic: Some("essesess".into()) }),
            payment("P-3", 1, Account::Iban { iban: fi.clone(), bic: None }),
            payment("P-4", 12_345_678_901, Account::Iban { iban: "SE4550000000058398257466".into(), bic: None }),
        ]);
        doc.debtor_account = Account::Iban { iban: "SE4550000000058398257466".into(), bic: Some("ESSESESS".into()) };
        doc.debtor_bic = None;
        let xml = write(&doc).unwrap();
        let between =
            |a: &str, b: &str| -> Vec<String> { xml.split(a).skip(1).map(|s| s.split(b).next().unwrap().to_string()).collect::<Vec<_>>() };
        assert_eq!(between("<PmtInfId>", "<"), ["KUMLA-2027-0042-DOM", "KUMLA-2027-0042-INT"]);
        assert_eq!(between("<NbOfTxs>", "<"), ["4", "3", "1"]);
        assert_eq!(between("<CtrlSum>", "<"), ["123456791.01", "123456791.00", "0.01"]);
        assert_eq!(between("<InstdAmt Ccy=\"SEK\">", "<"), ["1.00", "0.99", "123456789.01", "0.01"], "domestic first, then abroad");
        assert_eq!(between("<MmbId>", "<"), ["9960"]);
        assert_eq!(
            between("<IBAN>", "<"),
            ["SE4550000000058398257466", "SE4550000000058398257466", "SE4550000000058398257466", "SE4550000000058398257466", fi.as_str()]
        );
        assert_eq!(
            between("<BIC>", "<"),
            ["ESSESESS", "ESSESESS", "ESSESESS"],
            "debtor agent from the account, creditor agent where known"
        );
        assert_eq!(between("<Cd>", "<"), ["BANK", "NURG", "SESBA", "BBAN"]);
        assert_eq!(between("<ChrgBr>", "<"), ["SHAR"]);
        assert!(xml.contains("<Id>9001223</Id>"));

        doc.debtor_account = Account::Plusgiro { number: "9001223".into() };
        let xml = write(&doc).unwrap();
        assert!(xml.contains("<DbtrAgt>\n        <FinInstnId>\n          <Othr>\n            <Id>NOTPROVIDED</Id>"), "{xml}");
    }

    #[test]
    fn texts_are_escaped_and_swedish_letters_kept() {
        let mut p = payment("E-1", 500, Account::Bankgiro { number: "5050-1055".into() });
        p.creditor_name = "Föreningen \"Å & Ä\" <Örebro> 'ÖIS'".into();
        p.remittance = "Bidrag för ålder < 20 & > 7 år".into();
        let xml = write(&file(vec![p])).unwrap();
        assert!(xml.contains("<Nm>Föreningen &quot;Å &amp; Ä&quot; &lt;Örebro&gt; &apos;ÖIS&apos;</Nm>"), "{xml}");
        assert!(xml.contains("<Ustrd>Bidrag för ålder &lt; 20 &amp; &gt; 7 år</Ustrd>"));
    }

    #[test]
    fn amounts_come_from_ore_exactly() {
        for (minor, s) in
            [(1, "0.01"), (10, "0.10"), (100, "1.00"), (123_456, "1234.56"), (AMOUNT_MAX_MINOR, "9999999999999999.99"), (-250, "-2.50")]
        {
            assert_eq!(format_amount(minor), s);
        }
    }

    #[test]
    fn the_check_names_every_problem() {
        let long_name: String = "Å".repeat(NAME_MAX + 1);
        let mut doc = file(vec![
            payment("A-1", 100, Account::Bankgiro { number: "5050-1056".into() }),
            payment("A-1", 0, Account::Plusgiro { number: luhn("123") }),
            Payment {
                creditor_name: long_name,
                remittance: "x".repeat(REMITTANCE_MAX + 1),
                ..payment("A 3", -5, Account::Bankgiro { number: "5050-1055".into() })
            },
            Payment {
                creditor_name: "Łódź – Föreningen".into(),
                creditor_org_number: Some("802004-5420".into()),
                remittance: " ".into(),
                ..payment(&"X".repeat(36), 1, Account::Iban { iban: "SE4550000000058398257466".into(), bic: Some("ESSE".into()) })
            },
        ]);
        doc.message_id = "/KUMLA".into();
        doc.initiator_name = "Kumla\tkommun".into();
        doc.initiator_org_number = "212000-1960".into();
        doc.debtor_name = String::new();
        doc.debtor_account = Account::Iban { iban: iban_from_bban("NO", "86011117947").unwrap(), bic: None };
        doc.debtor_bic = Some("NDEANOKK".into());
        doc.execution_date = NaiveDate::from_ymd_opt(2027, 8, 31).unwrap();
        let got = violations(&doc);
        let want: Vec<(String, &str)> = [
            ("messageId", "format"),
            ("initiatorName", "format"),
            ("initiatorOrgNumber", "checksum"),
            ("debtorName", "required"),
            ("debtorAccount", "format"),
            ("executionDate", "range"),
            ("payments[0].account.number", "checksum"),
            ("payments[1].endToEndId", "duplicate"),
            ("payments[1].amountMinor", "range"),
            ("payments[2].endToEndId", "format"),
            ("payments[2].amountMinor", "range"),
            ("payments[2].creditorName", "max_length"),
            ("payments[2].remittance", "max_length"),
            ("payments[3].endToEndId", "format"),
            ("payments[3].creditorName", "format"),
            ("payments[3].creditorOrgNumber", "checksum"),
            ("payments[3].account.bic", "format"),
            ("payments[3].remittance", "required"),
        ]
        .into_iter()
        .map(|(f, r)| (f.to_string(), r))
        .collect();
        assert_eq!(got, want);
        assert!(matches!(write(&doc), Err(registry_core::Error::Invalid(_))), "write checks first");
    }

    #[test]
    fn counts_dates_bics_and_sums_have_limits() {
        let mut doc = file(vec![]);
        assert_eq!(violations(&doc), [("payments".to_string(), "required")]);
        doc.payments = (0..=MAX_PAYMENTS).map(|i| payment(&format!("N-{i}"), 1, Account::Bankgiro { number: "50501055".into() })).collect();
        assert_eq!(violations(&doc), [("payments".to_string(), "max_items")]);
        doc.payments.truncate(MAX_PAYMENTS);
        assert_eq!(violations(&doc), [], "{MAX_PAYMENTS} payments are fine");

        doc.payments = vec![
            payment("S-1", AMOUNT_MAX_MINOR, Account::Bankgiro { number: "50501055".into() }),
            payment("S-2", 1, Account::Bankgiro { number: "50501055".into() }),
        ];
        assert_eq!(violations(&doc), [("payments".to_string(), "range")]);
        doc.payments.pop();
        assert_eq!(violations(&doc), []);

        // The day is Sweden's: 22:30 UTC on 2 September is already the 3rd in Stockholm, so
        // executing on the 3rd is fine; a day later the 3rd is in the past.
        doc.created_at = Utc.with_ymd_and_hms(2027, 9, 2, 22, 30, 0).unwrap();
        assert_eq!(violations(&doc), [], "executing on the day the file is made");
        doc.created_at = Utc.with_ymd_and_hms(2027, 9, 3, 22, 30, 0).unwrap();
        assert_eq!(violations(&doc), [("executionDate".to_string(), "range")]);
        doc.created_at = Utc.with_ymd_and_hms(2027, 9, 1, 8, 0, 0).unwrap();

        doc.debtor_account = Account::Iban { iban: "SE4550000000058398257466".into(), bic: Some("ESSESESS".into()) };
        doc.debtor_bic = Some("HANDSESS".into());
        assert_eq!(violations(&doc), [("debtorBic".to_string(), "mismatch")]);
        doc.debtor_bic = Some(" essesess ".into());
        assert_eq!(violations(&doc), []);
    }

    #[test]
    fn identifiers_and_characters() {
        for ok in ["A", "KUMLA-2027/09:1", "(a).b,c'd+e?f"] {
            let mut v = Violations::default();
            identifier(&mut v, "id", ok, 35);
            assert!(v.0.is_empty(), "{ok}");
        }
        for bad in ["", "a b", "a//b", "/a", "a/", "å", "a_b", "a&b"] {
            let mut v = Violations::default();
            identifier(&mut v, "id", bad, 35);
            assert_eq!(v.0.len(), 1, "{bad}");
        }
        for ok in "AZaz09 !\"#&'()*+,-./:;<=>?@[\\]^_`{|}~ÅÄÖåäöÉéÜüØøÆæßÑñ".chars() {
            assert!(is_latin_char(ok), "{ok}");
        }
        for bad in ['\t', '\n', '\u{7f}', '\u{a0}', '×', '÷', '–', '€', 'Ł', '“', '😀'] {
            assert!(!is_latin_char(bad), "{bad:?}");
        }
    }
}

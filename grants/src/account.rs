//! The accounts grants are paid to (and from): a bankgiro number, a plusgiro number, or an IBAN
//! with an optional BIC. Each is checked the way the bank would (the check digits included) and
//! normalised for storage and for the payment file: giro numbers as digits only, IBANs and BICs
//! upper case without spaces. [`Account::display`] writes them the way people read them
//! (`5050-1055`, `90 01 22-3`, `SE45 5000 0000 0583 9825 7466`). docs/grants-payout.md has the
//! rules and the sources.

use registry_core::validate::Violations;
use serde::{Deserialize, Serialize};

/// A payee's (or the municipality's) account.
///
/// JSON: an object tagged by `kind`, e.g. `{"kind": "bankgiro", "number": "5050-1055"}`,
/// `{"kind": "plusgiro", "number": "90 01 22-3"}` or
/// `{"kind": "iban", "iban": "SE45 5000 0000 0583 9825 7466", "bic": "ESSESESS"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum Account {
    /// A bankgiro number: 7 or 8 digits, the last a Luhn (mod 10) check digit, written
    /// `NNN-NNNN` or `NNNN-NNNN` (the hyphen is optional).
    Bankgiro {
        /// The number, with or without the hyphen.
        number: String,
    },
    /// A plusgiro number: 2 to 8 digits, the last a Luhn (mod 10) check digit, written with or
    /// without spaces and the hyphen before the check digit (`90 01 22-3`).
    Plusgiro {
        /// The number, with or without spaces and hyphen.
        number: String,
    },
    /// An IBAN (ISO 13616), with spaces or without, and optionally the BIC of its bank.
    Iban {
        /// The IBAN, e.g. `SE45 5000 0000 0583 9825 7466`.
        iban: String,
        /// The bank's BIC (8 or 11 characters), e.g. `ESSESESS`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bic: Option<String>,
    },
}

impl Account {
    /// `bankgiro`, `plusgiro` or `iban`, as in the JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Account::Bankgiro { .. } => "bankgiro",
            Account::Plusgiro { .. } => "plusgiro",
            Account::Iban { .. } => "iban",
        }
    }

    /// Checks the account and returns its normalised form (digits only for giro numbers, upper
    /// case without spaces for IBAN and BIC). Violations name `{field}.number`, `{field}.iban`
    /// or `{field}.bic`.
    pub fn validate(&self, v: &mut Violations, field: &str) -> Account {
        match self {
            Account::Bankgiro { number } => Account::Bankgiro { number: bankgiro(v, &format!("{field}.number"), number) },
            Account::Plusgiro { number } => Account::Plusgiro { number: plusgiro(v, &format!("{field}.number"), number) },
            Account::Iban { iban: i, bic: b } => Account::Iban {
                iban: iban(v, &format!("{field}.iban"), i),
                bic: b.as_deref().map(str::trim).filter(|b| !b.is_empty()).map(|b| bic(v, &format!("{field}.bic"), b)),
            },
        }
    }

    /// The normalised form when the account is valid, otherwise every violation (named under
    /// `field`) as [`registry_core::Error::Invalid`].
    pub fn normalized(&self, field: &str) -> registry_core::error::Result<Account> {
        let mut v = Violations::default();
        let a = self.validate(&mut v, field);
        v.finish().map(|()| a)
    }

    /// For people: `Bankgiro 5050-1055`, `Plusgiro 90 01 22-3`,
    /// `IBAN SE45 5000 0000 0583 9825 7466 (BIC ESSESESS)`. Works on stored (normalised) and
    /// entered forms alike.
    pub fn display(&self) -> String {
        match self {
            Account::Bankgiro { number } => format!("Bankgiro {}", display_bankgiro(number)),
            Account::Plusgiro { number } => format!("Plusgiro {}", display_plusgiro(number)),
            Account::Iban { iban, bic } => {
                let grouped = display_iban(iban);
                match bic.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
                    Some(b) => format!("IBAN {grouped} (BIC {})", b.to_ascii_uppercase()),
                    None => format!("IBAN {grouped}"),
                }
            }
        }
    }

    /// A Swedish account paid through the domestic clearing (Bankgirot, PlusGirot or a
    /// Swedish IBAN), as opposed to a payment abroad.
    pub fn is_domestic(&self) -> bool {
        match self {
            Account::Bankgiro { .. } | Account::Plusgiro { .. } => true,
            Account::Iban { iban, .. } => iban.trim_start().get(..2).is_some_and(|c| c.eq_ignore_ascii_case("SE")),
        }
    }
}

/// The digits of a giro number as people write it: `NNN-NNNN` or `NNNN-NNNN`.
pub fn display_bankgiro(number: &str) -> String {
    let d = digits(number);
    if d.len() < 5 { d } else { format!("{}-{}", &d[..d.len() - 4], &d[d.len() - 4..]) }
}

/// A plusgiro number as people write it: pairs from the right, the check digit after a hyphen
/// (`90 01 22-3`, `47 11-4`, `1-2`).
pub fn display_plusgiro(number: &str) -> String {
    let d = digits(number);
    if d.len() < 2 {
        return d;
    }
    let (body, check) = d.split_at(d.len() - 1);
    let mut out = String::with_capacity(d.len() + d.len() / 2 + 1);
    for (i, c) in body.chars().enumerate() {
        if i > 0 && (body.len() - i) % 2 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out.push('-');
    out.push_str(check);
    out
}

/// An IBAN in groups of four: `SE45 5000 0000 0583 9825 7466`.
pub fn display_iban(iban: &str) -> String {
    let compact = compact_upper(iban);
    let mut out = String::with_capacity(compact.len() + compact.len() / 4);
    for (i, c) in compact.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn compact_upper(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Checks a bankgiro number and returns its digits (7 or 8). Accepts `NNN-NNNN`, `NNNN-NNNN`
/// and the digits alone; the hyphen, if any, must stand before the last four digits.
pub fn bankgiro(v: &mut Violations, field: &str, value: &str) -> String {
    let t = value.trim();
    if t.is_empty() {
        v.add(field, "required", "must not be empty");
        return String::new();
    }
    let d = digits(t);
    let hyphen_ok = match t.find('-') {
        None => true,
        Some(i) => t.matches('-').count() == 1 && t.len() - i - 1 == 4,
    };
    if !t.chars().all(|c| c.is_ascii_digit() || c == '-') || !hyphen_ok || !(7..=8).contains(&d.len()) {
        v.add(field, "format", "must be a bankgiro number of 7 or 8 digits, written NNN-NNNN or NNNN-NNNN (e.g. 5050-1055)");
    } else if !luhn_valid(&d) {
        v.add(field, "checksum", format!("{} is not a bankgiro number: its check digit (Luhn, mod 10) is wrong", display_bankgiro(&d)));
    }
    d
}

/// Checks a plusgiro number and returns its digits (2 to 8). Spaces anywhere and one hyphen
/// before the check digit are allowed.
pub fn plusgiro(v: &mut Violations, field: &str, value: &str) -> String {
    let t = value.trim();
    if t.is_empty() {
        v.add(field, "required", "must not be empty");
        return String::new();
    }
    let d = digits(t);
    let compact: String = t.chars().filter(|c| *c != ' ').collect();
    let hyphen_ok = match compact.find('-') {
        None => true,
        Some(i) => compact.matches('-').count() == 1 && compact.len() - i - 1 == 1,
    };
    if !t.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ') || !hyphen_ok || !(2..=8).contains(&d.len()) {
        v.add(field, "format", "must be a plusgiro number of 2 to 8 digits, the last after an optional hyphen (e.g. 90 01 22-3)");
    } else if !luhn_valid(&d) {
        v.add(field, "checksum", format!("{} is not a plusgiro number: its check digit (Luhn, mod 10) is wrong", display_plusgiro(&d)));
    }
    d
}

/// IBAN lengths (ISO 13616 registry) of the countries a Swedish municipality is likely to pay
/// to: the Nordic countries, the EU/EEA, Switzerland, the United Kingdom and their neighbours.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IS", 26),
    ("IT", 27),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("VA", 22),
];

/// Countries whose BBAN (the IBAN after the check digits) is digits only.
const NUMERIC_BBAN: &[&str] =
    &["AT", "BE", "CZ", "DE", "DK", "EE", "ES", "FI", "FO", "GL", "HR", "HU", "IS", "LT", "NO", "PL", "PT", "SE", "SI", "SK"];

/// The length of an IBAN of `country` (two upper-case letters), if the country is known here.
pub fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| *n)
}

/// Checks an IBAN: a known country code, the country's length, only letters and digits (only
/// digits where the country's BBAN is numeric) and the ISO 13616 mod-97 check. Returns it upper
/// case without spaces.
pub fn iban(v: &mut Violations, field: &str, value: &str) -> String {
    let c = compact_upper(value);
    if c.is_empty() {
        v.add(field, "required", "must not be empty");
        return c;
    }
    let bytes = c.as_bytes();
    if bytes.len() < 5
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        v.add(field, "format", "must be an IBAN: a country code, two check digits and the account, e.g. SE45 5000 0000 0583 9825 7466");
        return c;
    }
    let country = &c[..2];
    let Some(len) = iban_length(country) else {
        v.add(
            field,
            "unknown_code",
            format!("IBANs of country {country} are not supported (the Nordic and EU/EEA countries, CH and GB are)"),
        );
        return c;
    };
    if c.len() != len {
        v.add(field, "length", format!("an IBAN of {country} has {len} characters (got {})", c.len()));
    } else if NUMERIC_BBAN.contains(&country) && !bytes[4..].iter().all(u8::is_ascii_digit) {
        v.add(field, "format", format!("an IBAN of {country} has only digits after the country code"));
    } else if iban_mod97(&c) != Some(1) {
        v.add(field, "checksum", format!("{} is not an IBAN: its check digits (ISO 13616 mod 97) are wrong", display_iban(&c)));
    }
    c
}

/// Checks a BIC (ISO 9362): 8 or 11 characters, four letters for the bank, two for the country,
/// two letters or digits for the location (the second not `O`), and an optional three-character
/// branch. Returns it upper case.
pub fn bic(v: &mut Violations, field: &str, value: &str) -> String {
    let b = compact_upper(value);
    if b.is_empty() {
        v.add(field, "required", "must not be empty");
    } else if !is_bic(&b) {
        v.add(field, "format", "must be a BIC of 8 or 11 letters and digits, e.g. ESSESESS or HANDSESSXXX");
    }
    b
}

/// The pattern of `BICIdentifier` in the pain.001.001.03 schema:
/// `[A-Z]{6,6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3,3}){0,1}`.
fn is_bic(b: &str) -> bool {
    let s = b.as_bytes();
    (s.len() == 8 || s.len() == 11)
        && s[..6].iter().all(u8::is_ascii_uppercase)
        && (s[6].is_ascii_uppercase() || (b'2'..=b'9').contains(&s[6]))
        && ((s[7].is_ascii_uppercase() && s[7] != b'O') || s[7].is_ascii_digit())
        && s[8..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// ISO 13616's check: the IBAN with its first four characters moved to the end, letters as
/// 10..35, taken mod 97 (a valid IBAN gives 1). `None` on a character that is no letter or digit.
fn iban_mod97(iban: &str) -> Option<u32> {
    let (head, tail) = iban.split_at(4);
    let mut r: u32 = 0;
    for c in tail.bytes().chain(head.bytes()) {
        match c {
            b'0'..=b'9' => r = (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => r = (r * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return None,
        }
    }
    Some(r)
}

/// The IBAN of `country` for `bban` with its check digits computed (upper case, no spaces).
/// `None` when the country or the characters are not those of an IBAN. For tests and generated
/// data.
pub fn iban_from_bban(country: &str, bban: &str) -> Option<String> {
    let country = country.to_ascii_uppercase();
    let bban = compact_upper(bban);
    if country.len() != 2 || !country.bytes().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let r = iban_mod97(&format!("{country}00{bban}"))?;
    Some(format!("{country}{:02}{bban}", 98 - r))
}

/// `true` when `digits` (ASCII digits only, at least two) end in a correct Luhn (mod 10) check
/// digit, as bankgiro, plusgiro and organisation numbers do.
pub fn luhn_valid(digits: &str) -> bool {
    digits.len() >= 2 && digits.bytes().all(|c| c.is_ascii_digit()) && registry_core::orgnr::luhn_valid(digits)
}

/// The Luhn (mod 10) check digit to append to `payload` (ASCII digits). `None` on anything
/// else. For tests and generated data.
pub fn luhn_check_digit(payload: &str) -> Option<char> {
    if payload.is_empty() || !payload.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let s = luhn_payload_sum(payload.as_bytes());
    char::from_digit((10 - s % 10) % 10, 10)
}

/// The Luhn sum of a payload whose check digit is still to come: every second digit from the
/// right, the rightmost first, doubled (digit sum taken).
fn luhn_payload_sum(digits: &[u8]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload with its Luhn check digit appended.
    fn luhn(payload: &str) -> String {
        format!("{payload}{}", luhn_check_digit(payload).unwrap())
    }

    /// The same number with its last digit changed (so the check digit is wrong).
    fn wrong_check(number: &str) -> String {
        let mut s = number.to_string();
        let last = s.pop().unwrap().to_digit(10).unwrap();
        s.push(char::from_digit((last + 1) % 10, 10).unwrap());
        s
    }

    fn rules(f: impl FnOnce(&mut Violations)) -> Vec<(String, &'static str)> {
        let mut v = Violations::default();
        f(&mut v);
        v.0.into_iter().map(|x| (x.field, x.rule)).collect()
    }

    #[test]
    fn luhn_matches_known_numbers() {
        // Published numbers: Bankgirot's example bankgiro 5050-1055, Radiohjälpen's plusgiro
        // 90 01 22-3, and a Luhn-valid personnummer-shaped 811218-9876.
        for ok in ["50501055", "9001223", "8112189876"] {
            assert!(luhn_valid(ok), "{ok}");
            assert_eq!(luhn(&ok[..ok.len() - 1]), ok);
            assert!(!luhn_valid(&wrong_check(ok)), "{ok}");
        }
        assert_eq!(luhn_check_digit("5050105"), Some('5'));
        assert_eq!(luhn_check_digit(""), None);
        assert_eq!(luhn_check_digit("12a"), None);
        assert!(!luhn_valid("0"), "one digit is no number with a check digit");
        assert!(!luhn_valid("5050-1055"), "digits only");
    }

    #[test]
    fn bankgiro_numbers() {
        let seven = luhn("123456");
        let eight = luhn("5050105");
        let cases: Vec<(String, Result<&str, &str>)> = vec![
            (format!("{}-{}", &seven[..3], &seven[3..]), Ok(seven.as_str())),
            (seven.clone(), Ok(seven.as_str())),
            (format!("{}-{}", &eight[..4], &eight[4..]), Ok(eight.as_str())),
            (format!("  {eight} "), Ok(eight.as_str())),
            ("5050-1055".into(), Ok("50501055")),
            (wrong_check(&eight), Err("checksum")),
            (format!("{}-{}", &seven[..3], wrong_check(&seven[3..])), Err("checksum")),
            (luhn("12345"), Err("format")),     // 6 digits
            (luhn("123456789"), Err("format")), // 10 digits
            (format!("{}-{}", &eight[..5], &eight[5..]), Err("format")),
            ("505-01-055".into(), Err("format")),
            ("5050 1055".into(), Err("format")),
            ("BG 5050-1055".into(), Err("format")),
            ("".into(), Err("required")),
        ];
        for (input, want) in cases {
            let mut v = Violations::default();
            let got = bankgiro(&mut v, "account.number", &input);
            match want {
                Ok(norm) => {
                    assert!(v.0.is_empty(), "{input}: {:?}", v.0);
                    assert_eq!(got, norm, "{input}");
                }
                Err(rule) => {
                    assert_eq!(v.0.len(), 1, "{input}");
                    assert_eq!((v.0[0].field.as_str(), v.0[0].rule), ("account.number", rule), "{input}: {}", v.0[0].message);
                }
            }
        }
        assert_eq!(display_bankgiro("50501055"), "5050-1055");
        assert_eq!(display_bankgiro("1234566"), "123-4566");
    }

    #[test]
    fn plusgiro_numbers() {
        let two = luhn("4");
        let eight = luhn("1234567");
        let cases: Vec<(String, Result<&str, &str>)> = vec![
            ("90 01 22-3".into(), Ok("9001223")),
            ("9001223".into(), Ok("9001223")),
            ("900122-3".into(), Ok("9001223")),
            (two.clone(), Ok(two.as_str())),
            (format!("{}-{}", &two[..1], &two[1..]), Ok(two.as_str())),
            (eight.clone(), Ok(eight.as_str())),
            ("90 01 22-4".into(), Err("checksum")),
            (wrong_check(&eight), Err("checksum")),
            ("5".into(), Err("format")),
            (luhn("12345678"), Err("format")), // 9 digits
            ("9001-22-3".into(), Err("format")),
            ("90012-23".into(), Err("format")),
            ("PG 9001223".into(), Err("format")),
            (" ".into(), Err("required")),
        ];
        for (input, want) in cases {
            let mut v = Violations::default();
            let got = plusgiro(&mut v, "pg", &input);
            match want {
                Ok(norm) => {
                    assert!(v.0.is_empty(), "{input}: {:?}", v.0);
                    assert_eq!(got, norm, "{input}");
                }
                Err(rule) => {
                    assert_eq!(v.0.iter().map(|x| x.rule).collect::<Vec<_>>(), [rule], "{input}");
                }
            }
        }
        assert_eq!(display_plusgiro("9001223"), "90 01 22-3");
        assert_eq!(display_plusgiro("47114"), "47 11-4");
        assert_eq!(display_plusgiro("123"), "12-3");
        assert_eq!(display_plusgiro("12345678"), "1 23 45 67-8");
        assert_eq!(display_plusgiro("42"), "4-2");
    }

    #[test]
    fn ibans() {
        // Real-shaped IBANs built with their check digits computed here; the Swedish one is
        // the published example, which must come out the same.
        assert_eq!(iban_from_bban("SE", "50000000058398257466").as_deref(), Some("SE4550000000058398257466"));
        let no = iban_from_bban("NO", "86011117947").unwrap();
        let fi = iban_from_bban("FI", "12345600000785").unwrap();
        let dk = iban_from_bban("DK", "00400440116243").unwrap();
        let de = iban_from_bban("DE", "370400440532013000").unwrap();
        let gb = iban_from_bban("GB", "NWBK60161331926819").unwrap();
        let fr = iban_from_bban("FR", "20041010050500013M02606").unwrap();
        assert_eq!(no, "NO9386011117947");
        assert_eq!(de, "DE89370400440532013000");
        assert_eq!(gb, "GB29NWBK60161331926819");
        let cases: Vec<(String, Result<String, &str>)> = vec![
            ("SE45 5000 0000 0583 9825 7466".into(), Ok("SE4550000000058398257466".into())),
            ("se4550000000058398257466".into(), Ok("SE4550000000058398257466".into())),
            (no.clone(), Ok(no.clone())),
            (fi.clone(), Ok(fi.clone())),
            (dk.clone(), Ok(dk.clone())),
            (display_iban(&de), Ok(de.clone())),
            (gb.clone(), Ok(gb.clone())),
            (fr.clone(), Ok(fr.clone())),
            ("SE46 5000 0000 0583 9825 7466".into(), Err("checksum")),
            ("SE45 5000 0000 0583 9825 7467".into(), Err("checksum")),
            ("SE45 5000 0000 0583 9825 746".into(), Err("length")),
            (format!("{no}0"), Err("length")),
            ("SE45 5000 0000 0583 9825 746A".into(), Err("format")),
            ("US12 3456 7890 1234".into(), Err("unknown_code")),
            ("4550000000058398257466".into(), Err("format")),
            ("SE-45-5000".into(), Err("format")),
            ("".into(), Err("required")),
        ];
        for (input, want) in cases {
            let mut v = Violations::default();
            let got = iban(&mut v, "account.iban", &input);
            match want {
                Ok(norm) => {
                    assert!(v.0.is_empty(), "{input}: {:?}", v.0);
                    assert_eq!(got, norm, "{input}");
                }
                Err(rule) => {
                    assert_eq!(v.0.iter().map(|x| (x.field.as_str(), x.rule)).collect::<Vec<_>>(), [("account.iban", rule)], "{input}");
                }
            }
        }
        assert_eq!(display_iban("SE4550000000058398257466"), "SE45 5000 0000 0583 9825 7466");
        assert_eq!(iban_length("SE"), Some(24));
        assert_eq!(iban_length("XX"), None);
    }

    #[test]
    fn bics() {
        for ok in ["ESSESESS", "HANDSESS", "NDEASESS", "SWEDSESS", "DABASESXXXX", "nDeAfIhH", "DEUTDEFF500"] {
            assert_eq!(rules(|v| drop(bic(v, "bic", ok))), [], "{ok}");
        }
        for bad in ["ESSESES", "ESSESESSX", "ESSE SE SS1", "1SSESESS", "ESSESE1S", "ESSESESO", "ESSESESS-XX", "ÅSSESESS"] {
            assert_eq!(rules(|v| drop(bic(v, "bic", bad))), [("bic".to_string(), "format")], "{bad}");
        }
        let mut v = Violations::default();
        assert_eq!(bic(&mut v, "bic", " essesess "), "ESSESESS");
    }

    #[test]
    fn accounts_in_json_and_for_people() {
        let cases = [
            (r#"{"kind":"bankgiro","number":"5050-1055"}"#, Account::Bankgiro { number: "5050-1055".into() }, "Bankgiro 5050-1055"),
            (r#"{"kind":"plusgiro","number":"90 01 22-3"}"#, Account::Plusgiro { number: "90 01 22-3".into() }, "Plusgiro 90 01 22-3"),
            (
                r#"{"kind":"iban","iban":"SE45 5000 0000 0583 9825 7466","bic":"ESSESESS"}"#,
                Account::Iban { iban: "SE45 5000 0000 0583 9825 7466".into(), bic: Some("ESSESESS".into()) },
                "IBAN SE45 5000 0000 0583 9825 7466 (BIC ESSESESS)",
            ),
            (
                r#"{"kind":"iban","iban":"SE4550000000058398257466"}"#,
                Account::Iban { iban: "SE4550000000058398257466".into(), bic: None },
                "IBAN SE45 5000 0000 0583 9825 7466",
            ),
        ];
        for (json, account, shown) in cases {
            let parsed: Account = serde_json::from_str(json).unwrap();
            assert_eq!(parsed, account);
            assert_eq!(serde_json::to_string(&account).unwrap(), json);
            assert_eq!(account.display(), shown);
            let normal = account.normalized("account").unwrap();
            assert_eq!(normal.display(), shown, "normalising keeps what people see");
            assert!(normal.is_domestic());
        }
        for bad in [
            r#"{"kind":"bankgiro","number":"5050-1055","bic":"ESSESESS"}"#,
            r#"{"kind":"bankgiro"}"#,
            r#"{"kind":"swish","number":"1231234567"}"#,
            r#"{"number":"5050-1055"}"#,
            r#"{"kind":"iban","iban":"SE4550000000058398257466","clearing":"5000"}"#,
        ] {
            assert!(serde_json::from_str::<Account>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalised_forms_and_violations_name_the_field() {
        let a = Account::Iban { iban: " se45 5000 0000 0583 9825 7466".into(), bic: Some("essesess".into()) };
        assert_eq!(a.normalized("x").unwrap(), Account::Iban { iban: "SE4550000000058398257466".into(), bic: Some("ESSESESS".into()) });
        let empty_bic = Account::Iban { iban: "SE4550000000058398257466".into(), bic: Some(" ".into()) };
        assert_eq!(empty_bic.normalized("x").unwrap(), Account::Iban { iban: "SE4550000000058398257466".into(), bic: None });
        let bad = Account::Iban { iban: "SE4650000000058398257466".into(), bic: Some("ESSE".into()) };
        let Err(registry_core::Error::Invalid(v)) = bad.normalized("payments[3].account") else { panic!("invalid") };
        let got: Vec<_> = v.iter().map(|x| (x.field.as_str(), x.rule)).collect();
        assert_eq!(got, [("payments[3].account.iban", "checksum"), ("payments[3].account.bic", "format")]);
        assert!(v[0].message.contains("SE46 5000"), "{}", v[0].message);
        let fi = Account::Iban { iban: iban_from_bban("FI", "12345600000785").unwrap(), bic: None };
        assert!(!fi.is_domestic());
        assert_eq!(Account::Plusgiro { number: "9001223".into() }.kind(), "plusgiro");
    }
}

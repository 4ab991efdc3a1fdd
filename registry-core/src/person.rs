//! Persons: the Swedish personal identity number (personnummer) and coordination number
//! (samordningsnummer), and how the registry knows a person without keeping the number where it
//! only needs to recognise it.
//!
//! A number is twelve digits `YYYYMMDDNNNC` once parsed: the date of birth (for a coordination
//! number the day plus 60), a three-digit birth number and a Luhn check digit over the last ten
//! digits. The Swedish eID claim `https://id.oidc.se/claim/personalIdentityNumber` carries the
//! twelve-digit form; people type `YYYYMMDD-NNNC`, `YYMMDD-NNNC` or `YYMMDD+NNNC` (`+` for
//! someone a hundred years old or more), all accepted.
//!
//! [`PersonalIdentityNumber`] never prints the number in `Debug` (so a stray `{:?}` in a log
//! line shows only the birth date), and [`person_ref`] turns it into the peppered hash that
//! sessions, representatives and staff entries are matched by.

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

use crate::orgnr::luhn_valid;
use crate::validate::Violations;

/// A valid personal identity number or coordination number, twelve digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonalIdentityNumber(String);

impl std::fmt::Debug for PersonalIdentityNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonalIdentityNumber({}-****)", &self.0[..8])
    }
}

/// Why a personal identity number was refused: the rule, for error details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinError {
    /// Not 10 or 12 digits in one of the written forms.
    Format,
    /// The date (or, for a coordination number, the date less 60 days) does not exist, or is
    /// after today.
    Date,
    /// The last digit is not the Luhn check digit of the nine before it.
    Checksum,
}

impl PinError {
    /// The rule's name in error details.
    pub fn rule(self) -> &'static str {
        match self {
            PinError::Format => "format",
            PinError::Date => "date",
            PinError::Checksum => "checksum",
        }
    }

    /// What is wrong, for people.
    pub fn message(self) -> &'static str {
        match self {
            PinError::Format => {
                "must be a personal identity number or coordination number: YYYYMMDDNNNC, YYYYMMDD-NNNC, YYMMDD-NNNC or YYMMDD+NNNC"
            }
            PinError::Date => "the date of birth does not exist or is in the future (a coordination number adds 60 to the day)",
            PinError::Checksum => "the last digit does not match the Luhn check digit of the nine before it",
        }
    }
}

impl std::fmt::Display for PinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl PersonalIdentityNumber {
    /// Parses any written form. `today` decides the century of a ten-digit number (the most
    /// recent century in which the date is not in the future; `+` adds a hundred years) and
    /// refuses dates of birth after it.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, PinError> {
        let s = input.trim();
        if !s.is_ascii() {
            return Err(PinError::Format);
        }
        let (digits, centenarian) = match s.len() {
            12 => (s.to_string(), false),
            13 if s.as_bytes()[8] == b'-' => (format!("{}{}", &s[..8], &s[9..]), false),
            10 => (s.to_string(), false),
            11 if matches!(s.as_bytes()[6], b'-' | b'+') => (format!("{}{}", &s[..6], &s[7..]), s.as_bytes()[6] == b'+'),
            _ => return Err(PinError::Format),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinError::Format);
        }
        let full = if digits.len() == 12 {
            digits
        } else {
            let yy: i32 = digits[..2].parse().map_err(|_| PinError::Format)?;
            let mut year = today.year() - (today.year() - yy).rem_euclid(100);
            // The same two digits this century, but a birthday later this year than today: the
            // person was born a hundred years earlier.
            if year == today.year()
                && let Some(date) = birth_date(year, &digits[2..6])
                && date > today
            {
                year -= 100;
            }
            if centenarian {
                year -= 100;
            }
            format!("{year:04}{}", &digits[2..])
        };
        let year: i32 = full[..4].parse().map_err(|_| PinError::Format)?;
        match birth_date(year, &full[4..8]) {
            Some(date) if date <= today && year >= 1800 => {}
            _ => return Err(PinError::Date),
        }
        if !luhn_valid(&full[2..]) {
            return Err(PinError::Checksum);
        }
        Ok(PersonalIdentityNumber(full))
    }

    /// The twelve digits. Personal data: never log it, never put it in a public answer.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Whether this is a coordination number (samordningsnummer): the day plus 60.
    pub fn is_coordination_number(&self) -> bool {
        self.0[6..8].parse::<u32>().is_ok_and(|d| d > 60)
    }

    /// The date of birth (for a coordination number, the day less 60).
    pub fn birth_date(&self) -> NaiveDate {
        let year = self.0[..4].parse().expect("checked when parsed");
        birth_date(year, &self.0[4..8]).expect("checked when parsed")
    }

    /// `YYYYMMDD-NNNC`, the way a person's own number is shown to them.
    pub fn formatted(&self) -> String {
        format!("{}-{}", &self.0[..8], &self.0[8..])
    }
}

/// The date of `year` and `mmdd`, where a day of 61–91 is a coordination number's.
fn birth_date(year: i32, mmdd: &str) -> Option<NaiveDate> {
    let month: u32 = mmdd.get(..2)?.parse().ok()?;
    let mut day: u32 = mmdd.get(2..4)?.parse().ok()?;
    if day > 60 {
        day -= 60;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Checks `input` as the personal identity number in `field`, recording the rule it breaks.
pub fn check(v: &mut Violations, field: &str, input: &str, today: NaiveDate) -> Option<PersonalIdentityNumber> {
    match PersonalIdentityNumber::parse(input, today) {
        Ok(p) => Some(p),
        Err(e) => {
            v.add(field, e.rule(), e.message());
            None
        }
    }
}

/// How the registry recognises a person where it need not know who they are (sessions,
/// representatives, staff entries): SHA-256 of the server's pepper and the twelve digits, in
/// hex. Without the pepper the hash cannot be reversed by trying every date and birth number.
pub fn person_ref(pepper: &str, pin: &PersonalIdentityNumber) -> String {
    let digest = Sha256::new()
        .chain_update(pepper.as_bytes())
        .chain_update([0u8])
        .chain_update(b"person")
        .chain_update([0u8])
        .chain_update(pin.0.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The short, non-personal name of a person in audit rows and logs: `person:` and the first
/// 16 hex digits of their [`person_ref`].
pub fn audit_id(person_ref: &str) -> String {
    format!("person:{}", &person_ref[..person_ref.len().min(16)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
    }

    fn parse(s: &str) -> Result<String, PinError> {
        PersonalIdentityNumber::parse(s, today()).map(|p| p.digits().to_string())
    }

    #[test]
    fn every_written_form_gives_twelve_digits() {
        // Check digits computed independently (Python's reference Luhn).
        for s in ["198112289874", "19811228-9874", "811228-9874", "8112289874", " 198112289874 "] {
            assert_eq!(parse(s), Ok("198112289874".into()), "{s:?}");
        }
        assert_eq!(parse("201701022384"), Ok("201701022384".into()));
        assert_eq!(parse("170102-2384"), Ok("201701022384".into()), "this century: 2017, not 1917");
    }

    #[test]
    fn a_plus_means_a_hundred_years_more() {
        assert_eq!(parse("121212+1212"), Ok("191212121212".into()));
        assert_eq!(parse("121212-1212"), Ok("201212121212".into()));
    }

    #[test]
    fn a_ten_digit_birthday_later_this_year_is_last_century() {
        // Today is 2026-12-05: 261224 is Christmas Eve 1926, not a date in the future.
        let p = PersonalIdentityNumber::parse("261224-0008", today());
        assert!(matches!(p, Ok(ref p) if p.digits().starts_with("1926")), "{p:?}");
        // ... but 261205 is today, 2026 (a newborn).
        let p = PersonalIdentityNumber::parse("261205-0001", today()).expect("valid");
        assert_eq!(p.birth_date(), today());
    }

    #[test]
    fn coordination_numbers_add_sixty_to_the_day() {
        let p = PersonalIdentityNumber::parse("197010632391", today()).expect("a coordination number");
        assert!(p.is_coordination_number());
        assert_eq!(p.birth_date(), NaiveDate::from_ymd_opt(1970, 10, 3).unwrap());
        assert_eq!(parse("197010932395"), Err(PinError::Date), "day 33 does not exist");
    }

    #[test]
    fn wrong_dates_are_refused() {
        assert_eq!(parse("198113289873"), Err(PinError::Date), "month 13");
        assert_eq!(parse("190102291234").unwrap_err(), PinError::Date, "1901 was no leap year");
        assert_eq!(parse("203001011232").unwrap_err(), PinError::Date, "born in the future");
        assert_eq!(parse("198100009870").unwrap_err(), PinError::Date, "month 00");
    }

    #[test]
    fn a_leap_day_exists_in_leap_years() {
        assert_eq!(parse("200002290005"), Ok("200002290005".into()));
        assert_eq!(parse("210002290004"), Err(PinError::Date), "2100 is no leap year, and in the future");
    }

    #[test]
    fn wrong_check_digits_are_refused() {
        assert_eq!(parse("198112289875"), Err(PinError::Checksum));
        assert_eq!(parse("811228-9870"), Err(PinError::Checksum));
    }

    #[test]
    fn wrong_shapes_are_format_errors() {
        for s in [
            "",
            "198112289",
            "19811228987",
            "1981122898745",
            "19811228+9874",
            "811228 9874",
            "81122a-9874",
            "٨١١٢٢٨-٩٨٧٤",
            "1981-12-28-9874",
        ] {
            assert_eq!(parse(s), Err(PinError::Format), "{s:?}");
        }
    }

    #[test]
    fn debug_hides_the_number() {
        let p = PersonalIdentityNumber::parse("198112289874", today()).unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("9874"), "{shown}");
        assert_eq!(p.formatted(), "19811228-9874");
    }

    #[test]
    fn person_refs_depend_on_the_pepper() {
        let p = PersonalIdentityNumber::parse("198112289874", today()).unwrap();
        let q = PersonalIdentityNumber::parse("201701022384", today()).unwrap();
        let a = person_ref("pepper", &p);
        assert_eq!(a.len(), 64);
        assert_eq!(a, person_ref("pepper", &p));
        assert_ne!(a, person_ref("other", &p));
        assert_ne!(a, person_ref("pepper", &q));
        assert_eq!(audit_id(&a), format!("person:{}", &a[..16]));
    }
}

//! Swedish organisation numbers (organisationsnummer): ten digits, the last a Luhn check digit.

use crate::validate::Violations;

/// Normalises `NNNNNN-NNNN` (or ten plain digits) to ten digits and checks the Luhn digit.
/// Records `format` or `checksum` violations on `field`.
pub fn check(v: &mut Violations, field: &str, input: &str) -> String {
    let trimmed = input.trim();
    let digits: String = match trimmed.len() {
        11 if trimmed.as_bytes()[6] == b'-' => format!("{}{}", &trimmed[..6], &trimmed[7..]),
        _ => trimmed.to_string(),
    };
    if digits.len() != 10 || !digits.chars().all(|c| c.is_ascii_digit()) {
        v.add(field, "format", "must be an organisation number of ten digits, written NNNNNN-NNNN or NNNNNNNNNN");
        return digits;
    }
    if !luhn_valid(&digits) {
        v.add(field, "checksum", "the last digit does not match the Luhn check digit of the first nine");
    }
    digits
}

/// Whether a string of ASCII digits passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Formats ten digits as `NNNNNN-NNNN` for display.
pub fn display(digits: &str) -> String {
    if digits.len() == 10 { format!("{}-{}", &digits[..6], &digits[6..]) } else { digits.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_one(s: &str) -> (String, Vec<&'static str>) {
        let mut v = Violations::default();
        let out = check(&mut v, "orgNumber", s);
        (out, v.0.iter().map(|x| x.rule).collect())
    }

    #[test]
    fn valid_numbers_are_normalised() {
        // Check digits computed independently (Python's reference Luhn).
        assert_eq!(check_one("802004-5426"), ("8020045426".into(), vec![]));
        assert_eq!(check_one("8020045426"), ("8020045426".into(), vec![]));
        assert_eq!(check_one(" 212000-1967 "), ("2120001967".into(), vec![]));
        assert_eq!(check_one("817600-1231"), ("8176001231".into(), vec![]));
    }

    #[test]
    fn wrong_check_digit_is_a_checksum_error() {
        assert_eq!(check_one("802004-5420").1, vec!["checksum"]);
        assert_eq!(check_one("2120001960").1, vec!["checksum"]);
    }

    #[test]
    fn wrong_shape_is_a_format_error() {
        for bad in ["", "80200454", "802004-542", "80200454260", "802004+5426", "80200-45426", "8020o45426", "802004 5426"] {
            assert_eq!(check_one(bad).1, vec!["format"], "{bad:?}");
        }
    }

    #[test]
    fn luhn_known_cases() {
        assert!(luhn_valid("0"));
        assert!(luhn_valid("18"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert_eq!(display("8020045426"), "802004-5426");
    }
}

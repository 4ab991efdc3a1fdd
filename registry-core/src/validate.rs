//! Field rules shared by the use cases. Each check appends a [`FieldViolation`] naming the
//! field and the rule, so one request reports every problem at once.

use crate::FieldViolation;
use crate::error::{Error, Result};

/// Collects violations while an input is checked.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<FieldViolation>);

impl Violations {
    /// Records one violation.
    pub fn add(&mut self, field: impl Into<String>, rule: &'static str, message: impl Into<String>) {
        self.0.push(FieldViolation::new(field, rule, message));
    }

    /// `Ok` when nothing was recorded, otherwise [`Error::Invalid`] with all violations.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Invalid(self.0)) }
    }

    /// A required text on one line with a maximum length (in characters). Returns the trimmed
    /// value.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) -> String {
        self.text(field, value, max, true, false)
    }

    /// A required text that may run over several lines (line breaks and tabs allowed).
    pub fn required_multiline(&mut self, field: &str, value: &str, max: usize) -> String {
        self.text(field, value, max, true, true)
    }

    /// An optional text (empty allowed) on one line with a maximum length. Returns the trimmed
    /// value.
    pub fn optional_text(&mut self, field: &str, value: &str, max: usize) -> String {
        self.text(field, value, max, false, false)
    }

    /// An optional text that may run over several lines (a description, a message).
    pub fn optional_multiline(&mut self, field: &str, value: &str, max: usize) -> String {
        self.text(field, value, max, false, true)
    }

    fn text(&mut self, field: &str, value: &str, max: usize, required: bool, multiline: bool) -> String {
        let t = value.trim();
        if t.is_empty() {
            if required {
                self.add(field, "required", "must not be empty");
            }
        } else {
            self.max_len(field, t, max);
            self.plain_chars(field, t, multiline);
        }
        t.to_string()
    }

    fn max_len(&mut self, field: &str, value: &str, max: usize) {
        let n = value.chars().count();
        if n > max {
            self.add(field, "max_length", format!("must be at most {max} characters (got {n})"));
        }
    }

    /// The one rule on the characters of a text from outside: no NUL and no other control
    /// characters (which the database cannot store or which would garble pages and logs),
    /// except line breaks and tabs where `multiline`. Search terms and every text field of a
    /// resource go through it.
    pub fn plain_chars(&mut self, field: &str, value: &str, multiline: bool) {
        let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
        if value.contains('\0') {
            self.add(field, "format", "must not contain NUL characters");
        } else if value.chars().any(|c| c.is_control() && !allowed(c)) {
            let what =
                if multiline { "control characters other than line breaks and tabs" } else { "control characters such as line breaks" };
            self.add(field, "format", format!("must not contain {what}"));
        }
    }

    /// An optional e-mail address: one `@`, a dotted domain, no spaces. Returns it trimmed.
    pub fn email(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        if !is_email(v) {
            self.add(field, "format", "must be an e-mail address such as info@example.se");
        } else {
            self.max_len(field, v, 254);
        }
        Some(v.to_string())
    }

    /// An optional phone number: digits with optional leading `+` and separators; stored
    /// without spaces, dashes or parentheses.
    pub fn phone(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        let normalized: String = v.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let digits = normalized.strip_prefix('+').unwrap_or(&normalized);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || !(5..=15).contains(&digits.len()) {
            self.add(field, "format", "must be a phone number of 5 to 15 digits, optionally starting with +, e.g. +46 8 123 456");
        }
        Some(normalized)
    }

    /// An optional web address: `https://` or `http://` followed by a host.
    pub fn url(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') && !v.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                self.max_len(field, v, 500)
            }
            _ => self.add(field, "format", "must be a web address starting with https:// or http://"),
        }
        Some(v.to_string())
    }

    /// A list of codes that must each be in `known`, without duplicates, at most `max` long.
    pub fn codes(&mut self, field: &str, values: &[String], max: usize, known: impl Fn(&str) -> bool, what: &str) -> Vec<String> {
        if values.len() > max {
            self.add(field, "max_items", format!("must have at most {max} entries (got {})", values.len()));
        }
        let mut out: Vec<String> = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let v = v.trim();
            if !known(v) {
                self.add(format!("{field}[{i}]"), "unknown_code", format!("'{v}' is not a known {what} code"));
            } else if out.iter().any(|o| o == v) {
                self.add(format!("{field}[{i}]"), "duplicate", format!("'{v}' is listed more than once"));
            } else {
                out.push(v.to_string());
            }
        }
        out
    }
}

fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Normalises a Swedish postal code (`12345` or `123 45`) to five digits.
pub fn postal_code(v: &mut Violations, field: &str, value: &str) -> String {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() != 5 || !compact.chars().all(|c| c.is_ascii_digit()) || compact.starts_with('0') {
        v.add(field, "format", "must be a Swedish postal code of five digits, e.g. 702 10 or 70210");
    }
    compact
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_rules() {
        let mut v = Violations::default();
        assert_eq!(v.required_text("name", "  Hall  ", 10), "Hall");
        assert!(v.0.is_empty());
        v.required_text("name", "   ", 10);
        v.required_text("name", "abcdefghijk", 10);
        v.required_text("name", "a\nb", 10);
        let rules: Vec<_> = v.0.iter().map(|x| x.rule).collect();
        assert_eq!(rules, ["required", "max_length", "format"]);
        assert!(v.0.iter().all(|x| x.field == "name"));
    }

    #[test]
    fn texts_refuse_nul_and_control_characters_and_multiline_texts_keep_line_breaks() {
        let mut v = Violations::default();
        v.optional_text("street", "Storgatan\u{0}1", 100);
        v.optional_text("locality", "Kum\u{7}la", 100);
        v.optional_multiline("description", "Hall\u{0}", 100);
        v.optional_multiline("description", "Hall\u{1b}[31m", 100);
        v.required_multiline("reason", "x\u{0}", 100);
        let got: Vec<_> = v.0.iter().map(|x| (x.field.as_str(), x.rule, x.message.contains("NUL"))).collect();
        assert_eq!(
            got,
            [
                ("street", "format", true),
                ("locality", "format", false),
                ("description", "format", true),
                ("description", "format", false),
                ("reason", "format", true)
            ]
        );
        let mut v = Violations::default();
        assert_eq!(v.optional_multiline("description", " Rad ett\r\nRad två\tslut ", 100), "Rad ett\r\nRad två\tslut");
        assert_eq!(v.required_multiline("reason", "Saknar\nstadgar", 100), "Saknar\nstadgar");
        assert_eq!(v.optional_text("street", "", 100), "");
        assert!(v.0.is_empty(), "{:?}", v.0);
        v.url("website", Some("https://example.se/\u{0}"));
        assert_eq!(v.0.len(), 1);
    }

    #[test]
    fn max_length_counts_characters_not_bytes() {
        let mut v = Violations::default();
        v.required_text("name", "åäöåäöåäöå", 10);
        assert!(v.0.is_empty(), "ten Swedish letters fit in ten characters");
    }

    #[test]
    fn email_rules() {
        let mut v = Violations::default();
        assert_eq!(v.email("e", Some(" a@b.se ")), Some("a@b.se".into()));
        assert_eq!(v.email("e", Some("")), None);
        assert_eq!(v.email("e", None), None);
        assert!(v.0.is_empty());
        for bad in ["a", "a@b", "@b.se", "a@.se", "a@b.se.", "a b@c.se", "a@@b.se"] {
            let mut v = Violations::default();
            v.email("contact.email", Some(bad));
            assert_eq!(v.0.len(), 1, "{bad}");
            assert_eq!((v.0[0].field.as_str(), v.0[0].rule), ("contact.email", "format"));
        }
    }

    #[test]
    fn phone_rules() {
        let mut v = Violations::default();
        assert_eq!(v.phone("p", Some("+46 (0)8-123 456")), Some("+4608123456".into()));
        assert_eq!(v.phone("p", Some("019-58 80 00")), Some("019588000".into()));
        assert!(v.0.is_empty());
        for bad in ["12", "+", "08-abc", "1234567890123456", "+46 8 12 34 56 78 90 123 4"] {
            let mut v = Violations::default();
            v.phone("p", Some(bad));
            assert_eq!(v.0.len(), 1, "{bad}");
        }
    }

    #[test]
    fn url_rules() {
        let mut v = Violations::default();
        v.url("w", Some("https://www.kumla.se/fritid"));
        v.url("w", Some("http://example.se"));
        assert!(v.0.is_empty());
        for bad in ["www.kumla.se", "ftp://x.se", "https://", "https:///x", "https://a b.se"] {
            let mut v = Violations::default();
            v.url("w", Some(bad));
            assert_eq!(v.0.len(), 1, "{bad}");
        }
    }

    #[test]
    fn postal_code_rules() {
        let mut v = Violations::default();
        assert_eq!(postal_code(&mut v, "pc", "692 31"), "69231");
        assert_eq!(postal_code(&mut v, "pc", "11122"), "11122");
        assert!(v.0.is_empty());
        for bad in ["1234", "123456", "0123 4", "12a45", ""] {
            let mut v = Violations::default();
            postal_code(&mut v, "pc", bad);
            assert_eq!(v.0.len(), 1, "{bad}");
        }
    }

    #[test]
    fn code_lists_report_unknown_and_duplicates_by_index() {
        let mut v = Violations::default();
        let known = |c: &str| c == "football" || c == "dance";
        let out = v.codes("activities", &["football".into(), "curling".into(), "football".into()], 10, known, "activity");
        assert_eq!(out, ["football"]);
        assert_eq!(v.0[0].field, "activities[1]");
        assert_eq!(v.0[0].rule, "unknown_code");
        assert_eq!(v.0[1].field, "activities[2]");
        assert_eq!(v.0[1].rule, "duplicate");
    }
}

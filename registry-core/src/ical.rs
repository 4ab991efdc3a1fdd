//! iCalendar (RFC 5545) for bookings: one booking as a file, and a person's bookings as a
//! calendar feed. Times are UTC (`…Z`), so no time-zone definitions are needed; text is
//! escaped and lines are folded at 75 octets as the RFC asks.

use chrono::{DateTime, Utc};

/// One event.
#[derive(Debug, Clone)]
pub struct Event {
    /// A stable unique id (the registry's booking id), so a calendar updates the event.
    pub uid: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// One line: the unit and the facility.
    pub summary: String,
    /// Where.
    pub location: String,
    /// More: the booking system, the status, its message.
    pub description: String,
    /// `confirmed`, `pending`, `needs_completion`, `rejected` or `cancelled`.
    pub status: String,
    /// When it last changed.
    pub updated: DateTime<Utc>,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Text as RFC 5545 §3.3.11 wants it: backslash, semicolon, comma and newlines escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (never inside a UTF-8 character), with CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// A calendar of `events`, named `name`.
pub fn calendar(name: &str, events: &[Event], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for l in
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sveriges föreningsregister//Bokningar//SV", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    {
        push_line(&mut out, l);
    }
    push_line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}", text(&e.uid)));
        push_line(&mut out, &format!("DTSTAMP:{}", stamp(now)));
        push_line(&mut out, &format!("LAST-MODIFIED:{}", stamp(e.updated)));
        push_line(&mut out, &format!("DTSTART:{}", stamp(e.start)));
        push_line(&mut out, &format!("DTEND:{}", stamp(e.end)));
        push_line(&mut out, &format!("SUMMARY:{}", text(&e.summary)));
        if !e.location.is_empty() {
            push_line(&mut out, &format!("LOCATION:{}", text(&e.location)));
        }
        if !e.description.is_empty() {
            push_line(&mut out, &format!("DESCRIPTION:{}", text(&e.description)));
        }
        let status = match e.status.as_str() {
            "confirmed" => "CONFIRMED",
            "cancelled" | "rejected" => "CANCELLED",
            _ => "TENTATIVE",
        };
        push_line(&mut out, &format!("STATUS:{status}"));
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_escaped_folded_and_in_utc() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let e = Event {
            uid: "0193a1b2-0000-7000-8000-000000000001@registry".into(),
            start: t("2026-12-14T18:00:00+01:00"),
            end: t("2026-12-14T19:00:00+01:00"),
            summary: "Hall A, Kumla sporthall; plan 2".into(),
            location: "Kumla, Örebro län".into(),
            description: format!("Bokat genom Referensbokning Syd.\n{}", "å".repeat(60)),
            status: "pending".into(),
            updated: t("2026-12-06T10:00:00Z"),
        };
        let ics = calendar("Mina bokningar", &[e], t("2026-12-06T12:00:00Z"));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains("DTSTART:20261214T170000Z\r\n") && ics.contains("DTEND:20261214T180000Z\r\n"));
        assert!(ics.contains("SUMMARY:Hall A\\, Kumla sporthall\\; plan 2\r\n"));
        assert!(ics.contains("STATUS:TENTATIVE\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "folded: {line:?}");
        }
        // Unfolded, the description is whole, its newline escaped.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("DESCRIPTION:Bokat genom Referensbokning Syd.\\n{}", "å".repeat(60))));
        assert!(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    }
}

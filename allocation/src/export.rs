//! The allocation as open data in CSV (RFC 4180, UTF-8, CRLF line ends).

use crate::service::PublicAllocation;

/// One field: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-`
/// or `@` gets an apostrophe, so that a spreadsheet never runs a name as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// The allocation's weekly sessions, one row each, then its match times (with their `date`;
/// weekly sessions have none), with a header row.
pub fn csv(a: &PublicAllocation) -> String {
    let mut out = String::from("unitId,day,start,end,associationId,associationName,team,activity,date\r\n");
    let rows = a.sessions.iter().map(|s| (&s.slot, s.association_id, &s.association_name, &s.team, &s.activity));
    let matches = a.matches.iter().map(|s| (&s.slot, s.association_id, &s.association_name, &s.team, &s.activity));
    for (slot, association, name, team, activity) in rows.chain(matches) {
        let row = [
            slot.unit_id.to_string(),
            slot.day.to_string(),
            slot.start.clone(),
            slot.end.clone(),
            association.to_string(),
            name.clone(),
            team.clone(),
            activity.clone(),
            slot.date.map(|d| d.to_string()).unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("IK Sävbo"), "IK Sävbo");
        assert_eq!(field("F12, blå"), "\"F12, blå\"");
        assert_eq!(field("\"Ess\""), "\"\"\"Ess\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}

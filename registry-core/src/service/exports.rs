//! Use cases for bulk exports: checking a request and deciding the field set a caller gets,
//! then starting the export on a snapshot of its own (see [`crate::export`] for the streaming
//! and `db/exports.rs` for the SQL).

use crate::auth::{self, Action, Principal};
use crate::changelog;
use crate::codes;
use crate::error::Result;
use crate::export::{ExportFields, ExportFormat, ExportKind, ExportRequest, ExportStream, Snapshot, UnapprovedSeen};
use crate::model::RegistrationStatus;
use crate::validate::Violations;

use super::Registry;

const MAX_FILTER_VALUES: usize = 300;

/// Checks `req` and decides what `p` gets: the field set, or the first rule broken (invalid
/// filter values name their field; a field set the caller may not have is forbidden).
pub fn plan(p: &Principal, req: &ExportRequest) -> Result<ExportFields> {
    auth::authorize(p, Action::ReadPublic)?;
    let f = &req.filter;
    let mut v = Violations::default();
    for (i, m) in f.municipalities.iter().enumerate() {
        codes::check_municipality(&mut v, &format!("municipalities[{i}]"), m);
    }
    if f.municipalities.len() > MAX_FILTER_VALUES {
        v.add("municipalities", "max_items", format!("must have at most {MAX_FILTER_VALUES} entries"));
    }
    for (i, c) in f.counties.iter().enumerate() {
        if !codes::municipalities().iter().any(|m| &m.county_code == c) {
            v.add(format!("counties[{i}]"), "unknown_code", format!("'{c}' is not a Swedish county code (two digits, e.g. 18)"));
        }
    }
    if f.counties.len() > MAX_FILTER_VALUES {
        v.add("counties", "max_items", format!("must have at most {MAX_FILTER_VALUES} entries"));
    }
    v.codes("activities", &f.activities, MAX_FILTER_VALUES, codes::is_activity, "activity");
    let mut statuses = Vec::new();
    match req.kind {
        ExportKind::Facilities => {
            v.codes("categories", &f.categories, MAX_FILTER_VALUES, codes::is_category, "facility category");
            if !f.registration_statuses.is_empty() {
                v.add("registrationStatus", "not_applicable", "facilities have no registration status");
            }
            if req.include_personal_data {
                v.add("includePersonalData", "not_applicable", "facility exports hold no personal data");
            }
        }
        ExportKind::Associations => {
            if !f.categories.is_empty() {
                v.add("category", "not_applicable", "associations have no facility category");
            }
            if req.format == ExportFormat::GeoJson {
                v.add("format", "not_applicable", "associations have no location; use ndjson or csv");
            }
            for (i, s) in f.registration_statuses.iter().enumerate() {
                let parsed = RegistrationStatus::parse(s).or_else(|| serde_json::from_value(serde_json::json!(s)).ok());
                match parsed {
                    Some(s) if !statuses.contains(&s) => statuses.push(s),
                    Some(_) => v.add(format!("registrationStatus[{i}]"), "duplicate", format!("'{s}' is listed more than once")),
                    None => v.add(
                        format!("registrationStatus[{i}]"),
                        "unknown_code",
                        format!("'{s}' is not a registration status (pending, approved, rejected, needs_completion)"),
                    ),
                }
            }
        }
    }
    v.finish()?;
    if req.kind == ExportKind::Facilities {
        return Ok(ExportFields::default());
    }
    if statuses.is_empty() {
        statuses.push(RegistrationStatus::Approved);
    }
    // The municipalities the export can contain: every permission must hold for each of them.
    let scope: Vec<&str> = codes::municipalities()
        .iter()
        .filter(|m| f.municipalities.is_empty() || f.municipalities.iter().any(|c| c.trim() == m.code))
        .filter(|m| f.counties.is_empty() || f.counties.contains(&m.county_code))
        .map(|m| m.code.as_str())
        .collect();
    let everywhere = |action: &dyn Fn(&str) -> bool| scope.iter().all(|m| action(m));
    if statuses.iter().any(|s| *s != RegistrationStatus::Approved) && !everywhere(&|m| auth::allowed(p, Action::ReadUnapproved(m))) {
        let denied = scope.iter().find(|m| !auth::allowed(p, Action::ReadUnapproved(m))).expect("some municipality is denied");
        auth::authorize(p, Action::ReadUnapproved(denied))?;
    }
    if req.include_personal_data && !everywhere(&|m| auth::allowed(p, Action::ReadContactPersons(m))) {
        let denied = scope.iter().find(|m| !auth::allowed(p, Action::ReadContactPersons(m))).expect("some municipality is denied");
        auth::authorize(p, Action::ReadContactPersons(denied))?;
    }
    // The registrations shown: approved ones, and the others the caller may see (project()'s rule).
    let unapproved = if codes::municipalities().iter().all(|m| auth::allowed(p, Action::ReadUnapproved(&m.code))) {
        UnapprovedSeen::All
    } else {
        match p.municipality() {
            Some(m) if auth::allowed(p, Action::ReadUnapproved(m)) => UnapprovedSeen::In(vec![m.to_string()]),
            _ => UnapprovedSeen::None,
        }
    };
    Ok(ExportFields {
        member_statistics: everywhere(&|m| auth::allowed(p, Action::ReadMemberStatistics(m))),
        contact_persons: req.include_personal_data,
        statuses,
        unapproved,
    })
}

impl Registry {
    /// Starts an export for `p`: checks the request, decides the field set, takes the snapshot
    /// and, if the export holds personal data, records it in the audit log before the first row.
    pub async fn export(&self, p: &Principal, req: &ExportRequest) -> Result<ExportStream> {
        let fields = plan(p, req)?;
        let snapshot = Snapshot::take(self.read_url()).await?;
        let audit = if fields.contact_persons {
            let detail = serde_json::json!({
                "kind": req.kind.as_str(),
                "format": req.format.as_str(),
                "filter": req.filter,
                "fields": fields.names(),
                "changeLogPosition": snapshot.position,
                "rowCount": null,
                "complete": false,
            });
            let mut conn = self.pool().get().await?;
            let id = changelog::audit_returning_id(&mut conn, &p.id, "export_personal_data", detail).await?;
            Some((self.pool().clone(), id))
        } else {
            None
        };
        let position = snapshot.position;
        let stream = ExportStream::open(snapshot, req, fields, audit).await?;
        tracing::info!(kind = req.kind.as_str(), format = req.format.as_str(), position, principal = %p.id, "export started");
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::auth::Role;
    use crate::export::ExportFilter;

    fn req(kind: ExportKind) -> ExportRequest {
        ExportRequest { kind, format: ExportFormat::Ndjson, filter: ExportFilter::default(), include_personal_data: false }
    }

    #[test]
    fn field_sets_follow_the_role() {
        let r = req(ExportKind::Associations);
        assert_eq!(plan(&Principal::anonymous(), &r).unwrap().names(), ["public"]);
        let body = Principal::with_role("k", Role::NationalBody);
        assert_eq!(plan(&body, &r).unwrap().names(), ["public", "memberStatistics"]);
        // An editor gets statistics only for an export of its own municipality.
        let editor = Principal::editor("k", "1880");
        assert_eq!(plan(&editor, &r).unwrap().names(), ["public"]);
        let mut own = r.clone();
        own.filter.municipalities = vec!["1880".into()];
        assert_eq!(plan(&editor, &own).unwrap().names(), ["public", "memberStatistics"]);
    }

    #[test]
    fn personal_data_needs_the_scope_everywhere_in_the_export() {
        let mut r = req(ExportKind::Associations);
        r.include_personal_data = true;
        assert!(matches!(plan(&Principal::anonymous(), &r), Err(Error::Unauthenticated(_))));
        let body = Principal::with_role("k", Role::NationalBody);
        assert!(matches!(plan(&body, &r), Err(Error::Forbidden(_))));
        assert_eq!(plan(&body.with_personal_data(), &r).unwrap().names(), ["public", "memberStatistics", "contactPersons"]);
        let editor = Principal::editor("k", "1880").with_personal_data();
        assert!(matches!(plan(&editor, &r), Err(Error::Forbidden(_))), "the whole country is not the editor's");
        r.filter.counties = vec!["18".into()];
        assert!(matches!(plan(&editor, &r), Err(Error::Forbidden(_))), "nor is the whole county");
        r.filter.municipalities = vec!["1880".into()];
        assert!(plan(&editor, &r).unwrap().contact_persons);
    }

    #[test]
    fn unapproved_registrations_need_the_right() {
        let mut r = req(ExportKind::Associations);
        r.filter.registration_statuses = vec!["pending".into()];
        assert!(matches!(plan(&Principal::anonymous(), &r), Err(Error::Unauthenticated(_))));
        assert!(matches!(plan(&Principal::with_role("k", Role::Vendor), &r), Err(Error::Forbidden(_))));
        let fields = plan(&Principal::with_role("k", Role::NationalBody), &r).unwrap();
        assert_eq!(fields.statuses, [RegistrationStatus::Pending]);
    }

    #[test]
    fn bad_filters_name_their_field() {
        let mut r = req(ExportKind::Facilities);
        r.filter.municipalities = vec!["9999".into(), "18".into()];
        r.filter.counties = vec!["99".into()];
        r.filter.activities = vec!["juggling_on_ice".into()];
        r.filter.categories = vec!["castle".into()];
        r.filter.registration_statuses = vec!["approved".into()];
        r.include_personal_data = true;
        let Err(Error::Invalid(v)) = plan(&Principal::anonymous(), &r) else { panic!("invalid") };
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "municipalities[0]",
                "municipalities[1]",
                "counties[0]",
                "activities[0]",
                "categories[0]",
                "registrationStatus",
                "includePersonalData"
            ]
        );
        let mut a = req(ExportKind::Associations);
        a.format = ExportFormat::GeoJson;
        a.filter.registration_statuses = vec!["approved".into(), "approved".into(), "maybe".into()];
        let Err(Error::Invalid(v)) = plan(&Principal::anonymous(), &a) else { panic!("invalid") };
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["format", "registrationStatus[1]", "registrationStatus[2]"]);
    }
}

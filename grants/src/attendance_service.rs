//! The use cases of attendance lists (närvarolistor) on activity-grant applications: an upload
//! is read once against the programme's rules; a list with any malformed row is refused whole,
//! every problem named by line and column; an accepted one keeps its counts, its occasions and
//! the compact report, never a personal identity number. The same occasion is counted once per
//! programme and association, whichever list has it.

use std::collections::BTreeSet;

use registry_core::Error;
use registry_core::auth::{self, Action, Principal};
use registry_core::validate::Violations;
use uuid::Uuid;

use crate::attendance::{self, Import, OccasionKey, Rejected};
use crate::db::{self, AttendanceRow, OccasionRow};
use crate::model::*;
use crate::service::{Grants, MAX_ATTENDANCE_BYTES, bad, not_found};

type Result<T> = std::result::Result<T, Error>;

fn report(i: &Import) -> serde_json::Value {
    serde_json::json!({
        "rowReasons": i.row_reasons,
        "occasionReasons": i.occasion_reasons,
        "rowsNotCounted": i.rows_not_counted,
        "rowsNotCountedOmitted": i.rows_not_counted_omitted,
        "ignoredColumns": i.ignored_columns,
    })
}

impl Grants {
    /// Reads an attendance list into an activity-grant application (its representative, while a
    /// draft or asked to be completed). The grant is computed again from all its lists.
    pub async fn add_attendance(&self, p: &Principal, id: Uuid, file_name: &str, content: Vec<u8>) -> Result<AttendanceList> {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let mut v = Violations::default();
        let file_name = v.required_text("fileName", file_name, 200);
        if content.len() > MAX_ATTENDANCE_BYTES {
            v.add("file", "too_large", format!("at most {} MB", MAX_ATTENDANCE_BYTES / 1024 / 1024));
        }
        v.finish()?;
        // Who may, and by which rules: read first, then the list is read off the async threads,
        // then stored in one transaction that checks everything again.
        let mut conn = self.conn().await?;
        let (row, programme, _) = self.readable(&mut conn, p, id).await?;
        if !Self::represents(&mut conn, p, row.association_id).await? {
            return Err(not_found("grant application", id));
        }
        if programme.kind != ProgrammeKind::Activity.as_str() {
            return Err(Error::Conflict {
                field: Some("file".into()),
                rule: "not_activity_grant",
                message: format!("'{}' is not an activity grant; attendance lists belong to activity grants", programme.name),
            });
        }
        let rules: crate::rules::ActivityRules =
            serde_json::from_value(programme.rules.get("activity").cloned().unwrap_or_default()).map_err(bad("programme"))?;
        let counted: BTreeSet<String> = db::counted_keys(&mut conn, programme.id, row.association_id).await?.into_iter().collect();
        drop(conn);
        let today = self.registry.now().with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
        let (from, to) = (programme.period_from, programme.period_to);
        let imported = tokio::task::spawn_blocking(move || {
            let mut seen = |k: &OccasionKey| counted.contains(&k.key());
            attendance::import(std::io::Cursor::new(content), &rules, today, MAX_ATTENDANCE_BYTES as u64, &mut seen)
        })
        .await
        .map_err(|e| Error::Internal(format!("reading the attendance list stopped: {e}")))?
        .map_err(Rejected::into_error)?;
        // Every occasion must lie in the programme's period.
        let mut v = Violations::default();
        for o in imported.occasions.iter().filter(|o| o.date < from || o.date > to).take(100) {
            v.add(format!("lines[{}].date", o.line), "outside_period", format!("the programme covers {from} to {to}"));
        }
        v.finish()?;
        let (uploader, now, association, programme_id) = (p.id.clone(), self.registry.now(), row.association_id, programme.id);
        let list = AttendanceRow {
            id: Uuid::now_v7(),
            application_id: id,
            file_name,
            rows_total: imported.totals.rows as i32,
            occasions: imported.totals.occasions as i32,
            occasions_counted: imported.totals.occasions_counted as i32,
            participant_occasions: imported.totals.participant_occasions_counted as i32,
            amount_minor: imported.totals.amount_minor,
            report: report(&imported),
            uploaded_by: uploader,
            created_at: now,
        };
        let occasions: Vec<OccasionRow> = imported
            .occasions
            .iter()
            .map(|o| OccasionRow {
                list_id: list.id,
                programme_id,
                association_id: association,
                occasion_key: o.key.clone(),
                date: o.date,
                start_minute: o.start as i16,
                end_minute: o.end as i16,
                group_name: o.group.clone(),
                counted: o.counted,
                reason: o.reason.map(|r| r.code().to_string()),
                participants: o.participants_counted as i32,
                leaders: o.leaders as i32,
                amount_minor: o.amount_minor,
            })
            .collect();
        let out = AttendanceList {
            id: list.id,
            file_name: list.file_name.clone(),
            rows: list.rows_total,
            occasions: list.occasions,
            occasions_counted: list.occasions_counted,
            participant_occasions: list.participant_occasions,
            amount_minor: list.amount_minor,
            report: list.report.clone(),
            created_at: now,
        };
        let stored = self
            .change_own(p, id, None, move |conn, row, _| {
                Box::pin(async move {
                    db::insert_attendance(conn, &list, &occasions).await?;
                    recompute(conn, row).await
                })
            })
            .await;
        match stored {
            Ok(_) => Ok(out),
            // Another list with the same occasion was counted meanwhile (the unique index).
            Err(Error::Conflict { rule: "unique", .. }) => Err(Error::Conflict {
                field: Some("file".into()),
                rule: "duplicate_occasion",
                message: "an occasion of this list was counted in another list meanwhile; upload it again to see which".into(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Removes an attendance list from a draft (or an application asked to be completed); the
    /// grant is computed again.
    pub async fn delete_attendance(&self, p: &Principal, id: Uuid, list: Uuid) -> Result<Application> {
        self.change_own(p, id, None, move |conn, row, _| {
            Box::pin(async move {
                if db::delete_attendance(conn, list, row.id).await? == 0 {
                    return Err(not_found("attendance list", list));
                }
                recompute(conn, row).await
            })
        })
        .await
    }
}

/// The activity grant of an application: the sum of its lists.
async fn recompute(conn: &mut diesel_async::AsyncPgConnection, row: &mut db::ApplicationRow) -> Result<()> {
    let lists = db::attendance_lists(conn, row.id).await?;
    row.computed_minor = lists.iter().map(|l| l.amount_minor).sum();
    row.computation = serde_json::json!({
        "lists": lists.len(),
        "occasionsCounted": lists.iter().map(|l| i64::from(l.occasions_counted)).sum::<i64>(),
        "participantOccasions": lists.iter().map(|l| i64::from(l.participant_occasions)).sum::<i64>(),
    });
    Ok(())
}

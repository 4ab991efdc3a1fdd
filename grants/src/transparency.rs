//! How public money was decided (insyn): every decided grant per association and programme, and
//! figures per municipality for national bodies. Open to everyone; no personal data (who
//! decided is shown as the authority and its reference, the officer's name stays in the case).

use std::collections::BTreeMap;

use chrono::Datelike;
use registry_core::Error;
use registry_core::auth::{self, Action, Principal};
use uuid::Uuid;

use crate::db;
use crate::model::*;
use crate::service::{Grants, bad};

type Result<T> = std::result::Result<T, Error>;

impl Grants {
    /// The decided grants of a municipality (or one programme), newest decision first: open data.
    pub async fn public_decisions(
        &self,
        p: &Principal,
        municipality: Option<&str>,
        programme: Option<Uuid>,
    ) -> Result<Vec<PublicDecision>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let programmes: BTreeMap<Uuid, db::ProgrammeRow> = match programme {
            Some(id) => {
                let row = db::programme(&mut conn, id, false).await?.ok_or_else(|| crate::service::not_found("grant programme", id))?;
                BTreeMap::from([(id, row)])
            }
            None => db::programmes(&mut conn, municipality).await?.into_iter().map(|r| (r.id, r)).collect(),
        };
        let mut out = Vec::new();
        for (id, prog) in &programmes {
            let kind = ProgrammeKind::parse(&prog.kind).ok_or_else(|| Error::Internal(format!("programme kind {}", prog.kind)))?;
            let rows = db::applications(&mut conn, Some(*id), None, None, None).await?;
            let decided: Vec<_> = rows.into_iter().filter(|r| r.decision.is_some()).collect();
            let ids: Vec<Uuid> = decided.iter().map(|r| r.association_id).collect();
            let names: BTreeMap<Uuid, (String, String)> = {
                use diesel::prelude::*;
                use diesel_async::RunQueryDsl;
                use registry_core::db::schema::associations;
                associations::table
                    .filter(associations::id.eq_any(ids))
                    .select((associations::id, associations::name, associations::org_number))
                    .load::<(Uuid, String, String)>(&mut conn)
                    .await?
                    .into_iter()
                    .map(|(i, n, o)| (i, (n, o)))
                    .collect()
            };
            for r in decided {
                let d: Decision = serde_json::from_value(r.decision.clone().unwrap_or_default()).map_err(bad("decision"))?;
                let (name, org) = names.get(&r.association_id).cloned().unwrap_or_default();
                out.push(PublicDecision {
                    application_id: r.id,
                    municipality_code: prog.municipality_code.clone(),
                    programme_id: *id,
                    programme: prog.name.clone(),
                    kind,
                    association_id: r.association_id,
                    association_name: name,
                    org_number: org,
                    outcome: d.input.outcome,
                    amount_minor: d.input.amount_minor,
                    authority: d.input.authority,
                    reference: d.input.reference,
                    decided_on: d.decided_at.with_timezone(&chrono_tz::Europe::Stockholm).date_naive(),
                });
            }
        }
        out.sort_by(|a, b| {
            (b.decided_on, &a.association_name, a.application_id).cmp(&(a.decided_on, &b.association_name, b.application_id))
        });
        Ok(out)
    }

    /// Figures per municipality for programmes whose period starts in `year`: open data for
    /// national bodies.
    pub async fn statistics(&self, p: &Principal, year: i32) -> Result<Vec<MunicipalityGrantFigures>> {
        auth::authorize(p, Action::ReadPublic)?;
        if !(2000..=2100).contains(&year) {
            return Err(Error::invalid("year", "out_of_range", "must be 2000 to 2100"));
        }
        let mut conn = self.conn().await?;
        let programmes: Vec<db::ProgrammeRow> =
            db::programmes(&mut conn, None).await?.into_iter().filter(|r| r.period_from.year() == year).collect();
        let ids: Vec<Uuid> = programmes.iter().map(|r| r.id).collect();
        let used: BTreeMap<Uuid, (i64, i64)> = db::budget_use(&mut conn, &ids).await?.into_iter().map(|(i, d, p)| (i, (d, p))).collect();
        let mut by: BTreeMap<String, MunicipalityGrantFigures> = BTreeMap::new();
        let mut granted: BTreeMap<String, std::collections::BTreeSet<Uuid>> = BTreeMap::new();
        for prog in &programmes {
            let f = by.entry(prog.municipality_code.clone()).or_insert_with(|| MunicipalityGrantFigures {
                municipality_code: prog.municipality_code.clone(),
                programmes: 0,
                applications: 0,
                approved: 0,
                rejected: 0,
                associations: 0,
                decided_minor: 0,
                paid_minor: 0,
                budget_minor: 0,
            });
            f.programmes += 1;
            f.budget_minor += prog.budget_minor;
            let (d, paid) = used.get(&prog.id).copied().unwrap_or((0, 0));
            f.decided_minor += d;
            f.paid_minor += paid;
            for r in db::applications(&mut conn, Some(prog.id), None, None, None).await? {
                if r.submitted_at.is_some() && r.status != "withdrawn" {
                    f.applications += 1;
                }
                match r.status.as_str() {
                    "approved" => {
                        f.approved += 1;
                        granted.entry(prog.municipality_code.clone()).or_default().insert(r.association_id);
                    }
                    "rejected" => f.rejected += 1,
                    _ => {}
                }
            }
        }
        for (m, f) in &mut by {
            f.associations = granted.get(m).map_or(0, |s| s.len() as i64);
        }
        Ok(by.into_values().collect())
    }
}

/// The decided grants as CSV (RFC 4180, UTF-8, CRLF), formula-safe.
pub fn decisions_csv(rows: &[PublicDecision]) -> String {
    let field = |s: &str| {
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
        if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
    };
    let mut out = String::from(
        "decidedOn,municipalityCode,programmeId,programme,kind,associationId,associationName,orgNumber,outcome,amountSek,authority,reference\r\n",
    );
    for d in rows {
        let row = [
            d.decided_on.to_string(),
            d.municipality_code.clone(),
            d.programme_id.to_string(),
            d.programme.clone(),
            d.kind.as_str().to_string(),
            d.association_id.to_string(),
            d.association_name.clone(),
            d.org_number.clone(),
            match d.outcome {
                Outcome::Approved => "approved".into(),
                Outcome::Rejected => "rejected".into(),
            },
            format!("{}.{:02}", d.amount_minor / 100, d.amount_minor % 100),
            match d.authority {
                Authority::Delegation => "delegation".into(),
                Authority::Committee => "committee".into(),
            },
            d.reference.clone(),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

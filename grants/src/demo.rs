//! The demo's grant programmes: Malmö's activity grant (the national LOK model), basic grant
//! (per member 7–20 years, from last year's member statistics) and project grant, open for
//! applications now, so that `make demo` shows every part. Running it twice changes nothing.

use chrono::{Datelike, Duration};
use registry_core::auth::Principal;
use registry_core::model::association::AgeBand;
use registry_core::{Error, Registry};
use uuid::Uuid;

use crate::model::*;
use crate::service::Grants;

/// The demo programmes' names, activity grant first.
pub const NAMES: [&str; 3] = ["Demo: Aktivitetsstöd, Malmö", "Demo: Grundbidrag, Malmö", "Demo: Projektbidrag, Malmö"];

/// Sets up the demo programmes (those not there yet); their ids, in the order of [`NAMES`].
pub async fn load(registry: &Registry) -> Result<Vec<Uuid>, Error> {
    let operator = Principal::operator("demo");
    let service = Grants::new(registry.clone());
    let existing = service.list_programmes(&operator, Some("1280")).await?;
    let now = registry.now();
    let today = now.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let mut out = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        if let Some(p) = existing.iter().find(|p| p.input.name == *name) {
            out.push(p.id);
            continue;
        }
        let (kind, description) = match i {
            0 => {
                (ProgrammeKind::Activity, "Stöd per deltagartillfälle för barn och unga 7–25 år, efter närvarolistor (LOK-stödets regler).")
            }
            1 => (ProgrammeKind::Basic, "Grundbidrag per medlem 7–20 år enligt föreningens medlemsstatistik för förra året."),
            _ => (ProgrammeKind::Application, "Bidrag till projekt och arrangemang som når nya grupper. Bifoga budget och projektplan."),
        };
        let input = ProgrammeInput {
            municipality_code: "1280".into(),
            name: (*name).into(),
            description: description.into(),
            kind,
            activity: None,
            basic: (kind == ProgrammeKind::Basic).then(|| BasicRules {
                year: today.year() - 1,
                amounts: vec![
                    BandAmount { age_band: AgeBand::Age7To12, amount_minor: 15_000 },
                    BandAmount { age_band: AgeBand::Age13To20, amount_minor: 15_000 },
                ],
                min_members: 10,
                max_amount_minor: Some(5_000_000),
            }),
            application: (kind == ProgrammeKind::Application)
                .then_some(ApplicationRules { max_amount_minor: Some(5_000_000), min_attachments: 1 }),
            period_from: today - Duration::days(150),
            period_to: today + Duration::days(30),
            applications_open: now - Duration::days(1),
            applications_close: now + Duration::days(60),
            budget_minor: 200_000_000,
        };
        out.push(service.create_programme(&operator, &input).await?.id);
    }
    Ok(out)
}

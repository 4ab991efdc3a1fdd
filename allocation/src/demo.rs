//! The demo's seasonal allocation round: Malmö's sports halls next season, applications from
//! Malmö's demo associations, a preliminary allocation run and published, so that `make demo`
//! shows every part. Running it twice changes nothing.

use chrono::{Datelike, Duration};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use registry_core::auth::Principal;
use registry_core::db::schema::{associations, facilities, facility_units};
use registry_core::{Error, Registry};
use uuid::Uuid;

use crate::db::{self, ApplicationRow};
use crate::model::*;
use crate::service::{Allocations, RunRequest};

/// The demo round's name.
pub const NAME: &str = "Demo: Malmö, nästa säsong";

fn group(code: &str, weight: f64) -> PriorityGroup {
    PriorityGroup { code: code.into(), weight, max_age: None, genders: vec![] }
}

/// Sets up the demo round (if not there yet); its id.
pub async fn load(registry: &Registry) -> Result<Uuid, Error> {
    let operator = Principal::operator("demo");
    let service = Allocations::new(registry.clone());
    if let Some(r) = service.list_rounds(&operator, Some("1280")).await?.into_iter().find(|r| r.input.name == NAME) {
        return Ok(r.id);
    }
    let mut conn = registry.pool().get().await?;
    let units: Vec<Uuid> = facility_units::table
        .inner_join(facilities::table.on(facilities::id.eq(facility_units::facility_id)))
        .filter(facilities::municipality_code.eq("1280"))
        .filter(facilities::deleted_at.is_null())
        .filter(facilities::category.eq_any(["sports_hall", "gymnasium_small"]))
        .filter(facility_units::bookable.eq(true))
        .order((facilities::name, facility_units::position))
        .select(facility_units::id)
        .limit(6)
        .load(&mut conn)
        .await?;
    let clubs: Vec<(Uuid, String)> = associations::table
        .filter(associations::deleted_at.is_null())
        .filter(associations::municipality_code.eq("1280"))
        .filter(associations::approved_in.contains(vec!["1280".to_string()]))
        .order(associations::name)
        .select((associations::id, associations::name))
        .limit(8)
        .load(&mut conn)
        .await?;
    drop(conn);
    if units.is_empty() || clubs.is_empty() {
        return Err(Error::Internal("the demo dataset has no sports halls or approved associations in Malmö".into()));
    }
    let today = registry.now().date_naive();
    let start = today + Duration::days(60);
    let start = start + Duration::days(i64::from((7 - start.weekday().num_days_from_monday()) % 7));
    let input = RoundInput {
        municipality_code: "1280".into(),
        name: NAME.into(),
        season_start: start,
        season_end: start + Duration::days(7 * 16 - 1),
        breaks: vec![Break { from: start + Duration::days(7 * 8), to: start + Duration::days(7 * 8 + 6), name: "Lov".into() }],
        applications_open: registry.now() - Duration::days(1),
        applications_close: registry.now() + Duration::days(30),
        grid_minutes: 30,
        units: units.iter().map(|&unit_id| RoundUnit { unit_id, activities: vec![], hours: vec![], blocks: vec![] }).collect(),
        principles: Principles {
            groups: vec![
                group("children_youth", 2.0),
                group("activity_grant", 1.0),
                group("underrepresented_gender", 1.0),
                group("local", 1.0),
                group("previous_season", 1.5),
            ],
            rank_decay: 0.25,
            max_hours_per_association: Some(8.0),
            one_session_per_team_per_day: true,
            description: "Barn och unga först, sedan verksamhet med aktivitetsstöd, underrepresenterat kön och föreningar i Malmö.".into(),
        },
    };
    let round = service.create_round(&operator, &input).await?;
    // The applications, made as the demo's associations' representatives would (the demo has
    // no representatives for most of them, so they are stored directly).
    let teams = [
        ("F11", 10, 11, Gender::Female, "floorball"),
        ("P13", 12, 13, Gender::Male, "floorball"),
        ("Damer", 18, 40, Gender::Female, "basketball"),
        ("Herrar", 18, 45, Gender::Male, "volleyball"),
        ("Mix 9", 8, 9, Gender::Mixed, "handball"),
    ];
    let mut conn = registry.pool().get().await?;
    let mut k = 0usize;
    for (ci, (club, _)) in clubs.iter().enumerate() {
        for t in 0..2 {
            let (name, from, to, gender, activity) = teams[(ci + t) % teams.len()];
            let day = 1 + ((ci * 2 + t) % 5) as u8;
            let alt = |d: u8, u: usize, e: &str, l: &str| Alternative {
                day: d,
                earliest_start: e.into(),
                latest_end: l.into(),
                units: vec![units[u % units.len()], units[(u + 1) % units.len()]],
            };
            let (e, l) = if to < 18 { ("16:00", "19:30") } else { ("18:30", "22:00") };
            let wish = Wish {
                duration_minutes: if to < 18 { 60 } else { 90 },
                times_per_week: 2,
                alternatives: vec![alt(day, k, e, l), alt(1 + day % 5, k + 2, e, l), alt(1 + (day + 2) % 5, k + 4, e, l)],
            };
            k += 1;
            let team = Team {
                name: name.into(),
                activity: activity.into(),
                age_from: from,
                age_to: to,
                gender,
                participants: 14,
                level: String::new(),
            };
            let now = registry.now();
            db::insert_application(
                &mut conn,
                &ApplicationRow {
                    id: Uuid::now_v7(),
                    round_id: round.id,
                    association_id: *club,
                    team: serde_json::to_value(&team).expect("JSON"),
                    wishes: serde_json::to_value(vec![wish]).expect("JSON"),
                    status: "submitted".into(),
                    submitted_by: "demo".into(),
                    submitted_at: now,
                    version: 1,
                    updated_at: now,
                },
            )
            .await?;
        }
    }
    drop(conn);
    let run = service.run(&operator, round.id, &RunRequest { label: "preliminär".into(), ..RunRequest::default() }).await?;
    service.publish(&operator, round.id, run.id, None).await?;
    Ok(round.id)
}

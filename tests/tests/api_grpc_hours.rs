//! gRPC `OpeningHoursService` end to end, and its parity with REST.

use grpc_api::proto::v1 as pb;
use grpc_api::proto::v1::opening_hours_service_client::OpeningHoursServiceClient;
use registry_core::auth::Principal;
use tests::{TestApp, fixtures, with_key};
use tonic::Code;
use tonic_types::StatusExt;

fn ts(s: &str) -> prost_types::Timestamp {
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap();
    prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
}

#[tokio::test]
async fn opening_hours_service() {
    let app = TestApp::start().await;
    let keys = app.keys().await;
    let f = app.registry.create_facility(&Principal::operator("setup"), &fixtures::facility("0180", "Hall")).await.unwrap();
    let id = f.id.to_string();
    let mut c = OpeningHoursServiceClient::new(app.channel().await);

    let got =
        c.get_opening_hours(pb::GetOpeningHoursRequest { facility_id: id.clone(), unit_id: String::new() }).await.unwrap().into_inner();
    assert_eq!(got.opening_hours.unwrap().version, 0);

    // Set from an OSM string: wrong role, syntax error, then success.
    let set = |osm: &str, version: i64| pb::SetOpeningHoursRequest {
        facility_id: id.clone(),
        unit_id: String::new(),
        schedule: Some(pb::set_opening_hours_request::Schedule::Osm(osm.into())),
        expected_version: version,
    };
    assert_eq!(c.set_opening_hours(with_key(set("Mo-Fr 08:00-17:00", 0), "")).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(
        c.set_opening_hours(with_key(set("Mo-Fr 08:00-17:00", 0), &keys.editor_1480)).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let e = c.set_opening_hours(with_key(set("Mo-Fr 08:00-17:0", 0), &keys.editor_0180)).await.unwrap_err();
    let v = e.get_error_details().bad_request().unwrap().field_violations[0].clone();
    assert_eq!((v.field.as_str(), v.reason.as_str()), ("osm", "OSM_SYNTAX"));
    let s = c
        .set_opening_hours(with_key(set("Mo-Fr 08:00-17:00; PH off", 0), &keys.editor_0180))
        .await
        .unwrap()
        .into_inner()
        .opening_hours
        .unwrap();
    assert_eq!((s.version, s.osm.as_str()), (1, "Mo-Fr 08:00-17:00; PH off"));
    assert_eq!(
        c.set_opening_hours(with_key(set("Mo-Fr 09:00-17:00", 0), &keys.editor_0180)).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    // Set the model: bad values are named.
    let mut model = s.hours.clone().unwrap();
    model.periods[0].weekly.as_mut().unwrap().saturday =
        vec![pb::TimeSpan { opens: "10".into(), closes: "14:00".into(), crosses_midnight: false }];
    let req = pb::SetOpeningHoursRequest {
        facility_id: id.clone(),
        unit_id: String::new(),
        schedule: Some(pb::set_opening_hours_request::Schedule::Hours(model.clone())),
        expected_version: 1,
    };
    let e = c.set_opening_hours(with_key(req, &keys.editor_0180)).await.unwrap_err();
    let v = e.get_error_details().bad_request().unwrap().field_violations[0].clone();
    assert_eq!((v.field.as_str(), v.reason.as_str()), ("periods[0].weekly.saturday[0].opens", "FORMAT"));
    model.periods[0].weekly.as_mut().unwrap().saturday =
        vec![pb::TimeSpan { opens: "10:00".into(), closes: "14:00".into(), crosses_midnight: false }];
    let req = pb::SetOpeningHoursRequest {
        facility_id: id.clone(),
        unit_id: String::new(),
        schedule: Some(pb::set_opening_hours_request::Schedule::Hours(model)),
        expected_version: 1,
    };
    let s = c.set_opening_hours(with_key(req, &keys.editor_0180)).await.unwrap().into_inner().opening_hours.unwrap();
    assert_eq!((s.version, s.osm.as_str()), (2, "Mo-Fr 08:00-17:00; Sa 10:00-14:00; PH off"));

    // Evaluation, the same as REST.
    let list = c
        .list_open_intervals(pb::ListOpenIntervalsRequest {
            facility_id: id.clone(),
            unit_id: String::new(),
            from: Some(ts("2026-12-21T00:00:00Z")),
            to: Some(ts("2026-12-28T00:00:00Z")),
        })
        .await
        .unwrap()
        .into_inner()
        .intervals;
    let rest: serde_json::Value = app
        .http()
        .get(app.url(&format!("/v1/facilities/{id}/opening-hours/intervals?from=2026-12-21T00:00:00Z&to=2026-12-28T00:00:00Z")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest_starts: Vec<&str> = rest["intervals"].as_array().unwrap().iter().map(|i| i["startLocal"].as_str().unwrap()).collect();
    let grpc_starts: Vec<&str> = list.iter().map(|i| i.start_local.as_str()).collect();
    assert_eq!(grpc_starts, rest_starts);
    assert_eq!(grpc_starts.len(), 4, "Mon–Thu; juldagen and annandag jul closed, Sunday closed");
    let status = c
        .get_open_status(pb::GetOpenStatusRequest { facility_id: id.clone(), unit_id: String::new(), at: Some(ts("2026-12-25T10:00:00Z")) })
        .await
        .unwrap()
        .into_inner();
    assert!(!status.open, "juldagen");
    assert_eq!(status.next_change, Some(ts("2026-12-28T07:00:00Z")));

    // Holidays and bad input.
    let h = c.list_holidays(pb::ListHolidaysRequest { year: 2027 }).await.unwrap().into_inner().holidays;
    let easter = h.iter().find(|h| h.id == "easter_day").unwrap();
    assert_eq!((easter.date.as_str(), easter.kind), ("2027-03-28", pb::HolidayKind::PublicHoliday as i32));
    assert_eq!(c.list_holidays(pb::ListHolidaysRequest { year: 1800 }).await.unwrap_err().code(), Code::InvalidArgument);
    let e = c.get_opening_hours(pb::GetOpeningHoursRequest { facility_id: id.clone(), unit_id: "nope".into() }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .get_opening_hours(pb::GetOpeningHoursRequest { facility_id: id, unit_id: "0199b6e4-0000-7000-8000-000000000000".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

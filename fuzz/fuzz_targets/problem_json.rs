//! Request bodies and the problem+json answers they end in: a JSON body as the REST handlers
//! read it (`grpc_api::rest::decode`, which names the field of a type error), the core's
//! validators of what editors write (facilities, associations, opening hours, vendors), and the
//! RFC 9457 problem body made of the refusal (`grpc_api::errors::problem`).
//!
//! The first byte picks the resource, the rest is the body. Properties: nothing panics; a body
//! that is refused becomes a problem+json body with a known `type`, the `status` of its
//! mapping, a 4xx (never a 500), a `detail`, and `errors` of {field, rule, message} that name a
//! field; an accepted input is already normal (validating it again changes nothing), so what
//! is stored can always be written back.
#![no_main]

use grpc_api::errors::{ApiError, PROBLEM_TYPES, mapping, problem};
use grpc_api::rest::decode;
use libfuzzer_sys::fuzz_target;
use registry_core::Error;
use registry_core::hours::OpeningHours;
use registry_core::model::{AssociationInput, FacilityInput, VendorInput};
use serde_json::Value;

/// The year association statistics are checked against (fixed, so runs do not depend on the date).
const THIS_YEAR: i32 = 2026;

fn check<T>(value: Value, validate: impl Fn(&T) -> Result<T, Error>) -> Result<(), ApiError>
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let input: T = decode(value)?;
    let normal = validate(&input)?;
    match validate(&normal) {
        Ok(again) => assert_eq!(again, normal, "validating a validated input changed it"),
        Err(e) => panic!("a validated input is refused when validated again: {e}\n{normal:?}"),
    }
    Ok(())
}

fn check_problem(e: &ApiError, body: &[u8]) {
    let show = || String::from_utf8_lossy(body).into_owned();
    let p = problem(e);
    let m = mapping(e);
    let text = p.to_string();
    let back: Value = serde_json::from_str(&text).expect("a problem body is JSON");
    assert_eq!(back, p, "the problem body does not survive serialisation");
    let slug = p["type"].as_str().and_then(|t| t.strip_prefix("/problems/")).expect("type is /problems/<slug>");
    assert!(PROBLEM_TYPES.iter().any(|(s, _)| *s == slug), "unknown problem type {slug}");
    assert_eq!(p["status"].as_u64(), Some(u64::from(m.http.as_u16())));
    assert!(m.http.is_client_error(), "{} for a request body: {p} (body {})", m.http, show());
    assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
    if let Some(errors) = p.get("errors") {
        let errors = errors.as_array().expect("errors is an array");
        assert!(!errors.is_empty(), "an empty errors list: {p} (body {})", show());
        for v in errors {
            assert!(v["field"].as_str().is_some_and(|f| !f.is_empty()), "a violation without a field: {p} (body {})", show());
            assert!(v["rule"].as_str().is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{p}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let outcome = serde_json::from_slice::<Value>(body)
        .map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))
        .and_then(|value| match selector % 4 {
            0 => check::<FacilityInput>(value, FacilityInput::validate),
            1 => check::<AssociationInput>(value, |a| a.validate(THIS_YEAR)),
            2 => check::<OpeningHours>(value, OpeningHours::validate),
            _ => check::<VendorInput>(value, VendorInput::validate),
        });
    if let Err(e) = outcome {
        check_problem(&e, body);
    }
});

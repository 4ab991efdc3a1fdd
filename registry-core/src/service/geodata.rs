//! Use cases of geodata-sync: synced locations with provenance, resumable sync runs,
//! municipality boundaries and the quality checks that use them.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::Registry;
use super::facilities::lock_for_write;
use crate::auth::{self, Action, Principal};
use crate::changelog::{self, Operation};
use crate::db::geodata as geo_store;
pub use crate::db::geodata::{DuplicateRow, OutcomeRow, OutsideRow};
use crate::error::{Error, Result};
use crate::geo::{self, LatLon};
use crate::model::{Address, Facility, LocationProvenance, LocationSource, MatchQuality};
use crate::validate::Violations;

/// How far outside its own municipality's boundary a facility may lie before a write is
/// refused (and `geodata-sync check` reports it), in metres: boundary data is generalised, and
/// a facility on the border (a pitch, a marina) may straddle it.
pub const BORDER_TOLERANCE_M: f64 = 100.0;

/// Checks that `location` lies in (or within [`BORDER_TOLERANCE_M`] of) municipality `code`,
/// when that municipality has a boundary.
pub(super) async fn check_border(conn: &mut AsyncPgConnection, code: &str, location: LatLon) -> Result<()> {
    let Some((distance, inside)) = geo_store::distance_to_boundary(conn, code, location).await? else {
        return Ok(());
    };
    if distance <= BORDER_TOLERANCE_M {
        return Ok(());
    }
    let name = |c: &str| crate::codes::municipality(c).map_or_else(|| c.to_string(), |m| format!("{c} {}", m.name));
    let lies_in = inside.map_or_else(|| "in no municipality's boundary".to_string(), |c| format!("inside {}", name(&c)));
    Err(Error::invalid(
        "location",
        "outside_municipality",
        format!(
            "lies {distance:.0} m outside the boundary of municipality {} ({lies_in}); a facility may lie at most {BORDER_TOLERANCE_M:.0} m outside its own municipality",
            name(code)
        ),
    ))
}

/// A facility as the sync sees it.
#[derive(Debug, Clone)]
pub struct SyncCandidate {
    /// Facility id.
    pub id: Uuid,
    /// Municipality code.
    pub municipality_code: String,
    /// Name (for reports).
    pub name: String,
    /// Postal address.
    pub address: Address,
    /// Current location.
    pub location: Option<LatLon>,
    /// Whether the location is locked against the sync.
    pub locked: bool,
    /// Version, for the write.
    pub version: i64,
}

/// What the sync did with one facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyncOutcome {
    /// It had no location; now it has the address point's.
    Filled,
    /// Its location was off by more than the threshold; it was moved to the address point.
    Moved,
    /// Its location agrees with the address point.
    Unchanged,
    /// No address point matches its address.
    NotFound,
    /// More than one distinct address point matches its address.
    Ambiguous,
    /// Its location is locked and disagrees with the address point (reported, not changed).
    LockedDisagreeing,
    /// Its location is locked and agrees with the address point.
    LockedAgreeing,
    /// The write was refused (e.g. the point lies outside its municipality) or failed.
    Error,
}

impl SyncOutcome {
    /// Every outcome, in report order.
    pub const ALL: [SyncOutcome; 8] = [
        SyncOutcome::Filled,
        SyncOutcome::Moved,
        SyncOutcome::Unchanged,
        SyncOutcome::NotFound,
        SyncOutcome::Ambiguous,
        SyncOutcome::LockedDisagreeing,
        SyncOutcome::LockedAgreeing,
        SyncOutcome::Error,
    ];

    /// Stored code, e.g. `locked_disagreeing`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncOutcome::Filled => "filled",
            SyncOutcome::Moved => "moved",
            SyncOutcome::Unchanged => "unchanged",
            SyncOutcome::NotFound => "not_found",
            SyncOutcome::Ambiguous => "ambiguous",
            SyncOutcome::LockedDisagreeing => "locked_disagreeing",
            SyncOutcome::LockedAgreeing => "locked_agreeing",
            SyncOutcome::Error => "error",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A location found for a facility's address.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedLocation {
    /// WGS84 position of the address point.
    pub location: LatLon,
    /// The address point's feature id in the source service.
    pub source_feature_id: String,
    /// How the address matched.
    pub match_quality: MatchQuality,
}

/// A sync run: its id, and whether it continues an interrupted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRun {
    /// Run id.
    pub id: Uuid,
    /// True when an unfinished run of the same scope was picked up.
    pub resumed: bool,
}

/// One municipality boundary to load.
#[derive(Debug, Clone)]
pub struct BoundaryInput {
    /// Municipality code (kommunkod).
    pub municipality_code: String,
    /// The source's feature id.
    pub source_feature_id: String,
    /// GeoJSON geometry (Polygon or MultiPolygon) in WGS84, `[lon, lat]`.
    pub geometry: serde_json::Value,
}

impl Registry {
    /// Live facilities with a street address (optionally of one municipality), by id after `after`.
    pub async fn sync_candidates(
        &self,
        p: &Principal,
        municipality: Option<&str>,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<SyncCandidate>> {
        auth::authorize(p, Action::ManageGeodata)?;
        let mut conn = self.conn().await?;
        let rows = geo_store::candidates(&mut conn, municipality, after, limit).await?;
        Ok(rows
            .into_iter()
            .map(|r| SyncCandidate {
                id: r.id,
                municipality_code: r.municipality_code,
                name: r.name,
                address: Address { street: r.street, postal_code: r.postal_code, locality: r.locality },
                location: r.lat.zip(r.lon).map(|(lat, lon)| LatLon { lat, lon }),
                locked: r.location_locked,
                version: r.version,
            })
            .collect())
    }

    /// Opens the sync run of `scope` (e.g. `all` or `municipality:1480`), resuming an
    /// unfinished one of the same scope.
    pub async fn open_sync_run(&self, p: &Principal, scope: &str) -> Result<SyncRun> {
        auth::authorize(p, Action::ManageGeodata)?;
        let actor = p.id.clone();
        let scope = scope.to_string();
        let mut conn = self.conn().await?;
        let (id, resumed) = conn.transaction(async move |conn| geo_store::open_run(conn, &scope, &actor).await).await?;
        Ok(SyncRun { id, resumed })
    }

    /// Marks a sync run finished; the next run of its scope starts afresh.
    pub async fn finish_sync_run(&self, p: &Principal, run: Uuid) -> Result<()> {
        auth::authorize(p, Action::ManageGeodata)?;
        let mut conn = self.conn().await?;
        Ok(geo_store::finish_run(&mut conn, run).await?)
    }

    /// Every outcome recorded in a run so far.
    pub async fn sync_outcomes(&self, p: &Principal, run: Uuid) -> Result<Vec<OutcomeRow>> {
        auth::authorize(p, Action::ManageGeodata)?;
        let mut conn = self.conn().await?;
        Ok(geo_store::outcomes(&mut conn, run).await?)
    }

    /// Records outcomes that change no facility (unchanged, not found, …); facilities already
    /// recorded in the run keep their first outcome. Returns how many were new.
    pub async fn record_sync_outcomes(
        &self,
        p: &Principal,
        run: Uuid,
        outcomes: &[(Uuid, SyncOutcome, serde_json::Value)],
    ) -> Result<usize> {
        auth::authorize(p, Action::ManageGeodata)?;
        let rows: Vec<(Uuid, &str, serde_json::Value)> = outcomes.iter().map(|(id, o, d)| (*id, o.as_str(), d.clone())).collect();
        let mut conn = self.conn().await?;
        Ok(geo_store::record(&mut conn, run, &rows).await?)
    }

    /// Sets a facility's location from the geodata services, with provenance, if it is still at
    /// `expected_version` and not locked, and (with `run`) records the outcome in the same
    /// transaction. Returns None when the run already processed this facility.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_synced_location(
        &self,
        p: &Principal,
        run: Option<Uuid>,
        id: Uuid,
        expected_version: i64,
        found: &SyncedLocation,
        outcome: SyncOutcome,
        detail: serde_json::Value,
    ) -> Result<Option<Facility>> {
        let now = self.now();
        let mut v = Violations::default();
        geo::check_in_sweden(&mut v, "location", found.location);
        if found.source_feature_id.is_empty() || found.source_feature_id.chars().count() > 200 {
            v.add("sourceFeatureId", "length", "must be 1 to 200 characters");
        }
        if !matches!(outcome, SyncOutcome::Filled | SyncOutcome::Moved) {
            v.add("outcome", "not_allowed", format!("a location is set only when filled or moved, not {}", outcome.as_str()));
        }
        v.finish()?;
        let actor = p.id.clone();
        let p = p.clone();
        let found = found.clone();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            if let Some(run) = run
                && geo_store::processed(conn, run, id).await?
            {
                return Ok(None);
            }
            let current = lock_for_write(conn, &p, id, Some(expected_version), |m| Action::SyncLocation(m)).await?;
            if current.location_provenance.locked {
                return Err(Error::Conflict {
                    field: Some("location".into()),
                    rule: "locked",
                    message: format!("facility {id}'s location is locked by its municipality; geodata-sync does not change it"),
                });
            }
            check_border(conn, &current.municipality_code, found.location).await?;
            let at = now;
            let quality = found.match_quality.as_str();
            let moved = geo_store::set_synced_location(conn, id, found.location, &found.source_feature_id, quality, at).await?;
            // The new state without reading it back: only the location and its provenance changed.
            let mut updated = current.clone();
            updated.location = Some(found.location);
            updated.location_provenance = LocationProvenance {
                source: LocationSource::Geodata,
                locked: false,
                source_feature_id: Some(found.source_feature_id.clone()),
                match_quality: Some(found.match_quality),
                synced_at: Some(at),
                distance_moved_m: Some(moved),
            };
            updated.version += 1;
            updated.updated_at = at;
            if let Some(run) = run {
                let mut detail = detail;
                if let Some(d) = detail.as_object_mut() {
                    d.insert("distanceMovedM".into(), serde_json::json!((moved * 100.0).round() / 100.0));
                }
                geo_store::record(conn, run, &[(id, outcome.as_str(), detail)]).await?;
            }
            changelog::append(conn, "facility", id, Operation::Update, &actor, Some(&current), Some(&updated)).await?;
            Ok(Some(updated))
        })
        .await
    }

    /// Loads municipality boundaries (upserting each), all in one transaction: every boundary
    /// is checked first (known code, listed once, a valid polygon) and any violation writes
    /// nothing. Returns how many were loaded.
    pub async fn load_boundaries(&self, p: &Principal, source: &str, boundaries: &[BoundaryInput]) -> Result<usize> {
        let now = self.now();
        auth::authorize(p, Action::ManageGeodata)?;
        let mut v = Violations::default();
        for (i, b) in boundaries.iter().enumerate() {
            let field = format!("boundaries[{i}].municipalityCode");
            if crate::codes::municipality(&b.municipality_code).is_none() {
                v.add(field, "unknown_code", format!("'{}' is not an official municipality code", b.municipality_code));
            } else if boundaries[..i].iter().any(|o| o.municipality_code == b.municipality_code) {
                v.add(field, "duplicate", format!("municipality {} has more than one boundary", b.municipality_code));
            }
        }
        v.finish()?;
        let source = source.to_string();
        let boundaries = boundaries.to_vec();
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut v = Violations::default();
            let texts: Vec<String> = boundaries.iter().map(|b| b.geometry.to_string()).collect();
            for (i, (b, text)) in boundaries.iter().zip(&texts).enumerate() {
                match geo_store::boundary_problem(conn, text).await {
                    Ok(None) => {}
                    Ok(Some(problem)) => {
                        v.add(format!("boundaries[{i}].geometry"), "invalid_geometry", format!("{}: {problem}", b.municipality_code))
                    }
                    Err(e) => {
                        return Err(Error::invalid(
                            format!("boundaries[{i}].geometry"),
                            "invalid_geometry",
                            format!("{}: {e}", b.municipality_code),
                        ));
                    }
                }
            }
            v.finish()?;
            let at = now;
            for (b, text) in boundaries.iter().zip(&texts) {
                geo_store::upsert_boundary(conn, &b.municipality_code, text, &source, &b.source_feature_id, at).await?;
            }
            Ok(boundaries.len())
        })
        .await
    }

    /// How many municipalities have a boundary.
    pub async fn boundary_count(&self, p: &Principal) -> Result<i64> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        Ok(geo_store::boundary_count(&mut conn).await?)
    }

    /// A municipality's boundary as a GeoJSON geometry (WGS84) and when it was synced.
    pub async fn municipality_boundary(&self, p: &Principal, code: &str) -> Result<(serde_json::Value, DateTime<Utc>)> {
        auth::authorize(p, Action::ReadPublic)?;
        if crate::codes::municipality(code).is_none() {
            return Err(Error::not_found("municipality", code));
        }
        let mut conn = self.conn().await?;
        let (text, at) =
            geo_store::boundary_geojson(&mut conn, code).await?.ok_or_else(|| Error::not_found("municipality boundary", code))?;
        let geometry =
            serde_json::from_str(&text).map_err(|e| Error::Internal(format!("PostGIS wrote GeoJSON that does not parse: {e}")))?;
        Ok((geometry, at))
    }

    /// Facilities lying more than `tolerance_m` outside their own municipality's boundary.
    pub async fn facilities_outside_municipality(&self, p: &Principal, tolerance_m: f64) -> Result<Vec<OutsideRow>> {
        auth::authorize(p, Action::ManageGeodata)?;
        if !(tolerance_m.is_finite() && tolerance_m >= 0.0) {
            return Err(Error::invalid("tolerance", "out_of_range", "must be a non-negative number of metres"));
        }
        let mut conn = self.conn().await?;
        Ok(geo_store::outside(&mut conn, tolerance_m).await?)
    }

    /// Facilities of the same category in two municipalities within `within_m` of each other.
    pub async fn probable_duplicates(&self, p: &Principal, within_m: f64) -> Result<Vec<DuplicateRow>> {
        auth::authorize(p, Action::ManageGeodata)?;
        if !(within_m.is_finite() && within_m > 0.0 && within_m <= 1000.0) {
            return Err(Error::invalid("within", "out_of_range", "must be more than 0 and at most 1000 metres"));
        }
        let mut conn = self.conn().await?;
        Ok(geo_store::duplicates(&mut conn, within_m).await?)
    }
}

//! Facility search across municipal borders: place (near + radius, or bounding box), Swedish
//! full text with typo tolerance, filters, the open-hours filter over the materialised
//! intervals, three orders, and keyset paging that is stable under ties; and association
//! search, which shows each caller the registrations it may see.
//!
//! The rules live here (what a valid search is, its defaults, who may search what, page
//! tokens); the SQL the searches send is in `db/search.rs`.

use uuid::Uuid;

use super::associations::{audit_personal_data, project};
use crate::auth::{self, Action, Principal, Role};
use crate::codes;
use crate::db::associations::{self as association_store, Visibility};
use crate::db::search::{self as store, AssociationCursor, Checked, Cursor, TextQuery};
pub use crate::db::search::{AssociationSearch, Bind, FacilitySearch, SearchOrder, SearchStatements, Statement, TM_SCALE_MAX};
use crate::error::{Error, Result};
use crate::geo;
use crate::model::{Facility, RegistrationStatus};
use crate::validate::Violations;
use crate::{Registry, db};

/// Largest radius of a `near` search, in metres.
pub const MAX_RADIUS_M: f64 = 200_000.0;
/// Radius when `near` comes without one.
pub const DEFAULT_RADIUS_M: f64 = 10_000.0;
/// Largest page.
pub const MAX_PAGE_SIZE: i32 = 100;

/// One hit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// The facility.
    pub facility: Facility,
    /// Its municipality's name.
    pub municipality_name: String,
    /// Distance from `near` in metres (on the WGS84 spheroid), for distance searches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// Whether the facility's booking vendor answers live availability queries.
    pub live_availability: bool,
}

/// One page of hits.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    /// The hits, in order.
    pub hits: Vec<SearchHit>,
    /// Token for the next page; empty on the last.
    pub next_page_token: String,
}

/// One page of associations.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssociationPage {
    /// The associations, with the fields the caller may see.
    pub associations: Vec<crate::model::Association>,
    /// Token for the next page; empty on the last.
    pub next_page_token: String,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 2000 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl FacilitySearch {
    /// Checks the search; returns the effective order, radius and page size.
    fn check(&self) -> Result<Checked> {
        let mut v = Violations::default();
        if let Some(p) = self.near {
            geo::check_in_sweden(&mut v, "near", p);
        }
        let radius = self.radius_m.unwrap_or(DEFAULT_RADIUS_M);
        if self.radius_m.is_some() && self.near.is_none() {
            v.add("radiusM", "requires", "needs near=lat,lon");
        }
        if !(radius.is_finite() && radius > 0.0 && radius <= MAX_RADIUS_M) {
            v.add("radiusM", "out_of_range", format!("must be greater than 0 and at most {MAX_RADIUS_M} m"));
        }
        if let Some([a, b, c, d]) = self.bbox {
            if self.near.is_some() {
                v.add("bbox", "conflict", "use either near or bbox, not both");
            }
            if ![a, b, c, d].iter().all(|x| x.is_finite()) || a.abs() > 180.0 || c.abs() > 180.0 || b.abs() > 90.0 || d.abs() > 90.0 {
                v.add("bbox", "out_of_range", "must be minLon,minLat,maxLon,maxLat in WGS84 degrees");
            } else if a >= c || b >= d {
                v.add("bbox", "order", "minLon must be less than maxLon and minLat less than maxLat");
            }
        }
        if let Some([n1, e1, n2, e2]) = self.bbox_sweref {
            if self.near.is_some() || self.bbox.is_some() {
                v.add("bbox", "conflict", "use one of near and bbox");
            }
            let in_sweden = |n: f64, e: f64| (6_000_000.0..=7_800_000.0).contains(&n) && (100_000.0..=1_000_000.0).contains(&e);
            if ![n1, e1, n2, e2].iter().all(|x| x.is_finite()) || !in_sweden(n1, e1) || !in_sweden(n2, e2) {
                v.add("bbox", "out_of_range", "must be minNorthing,minEasting,maxNorthing,maxEasting in SWEREF 99 TM metres within Sweden");
            } else if n1 >= n2 || e1 >= e2 {
                v.add("bbox", "order", "minNorthing must be less than maxNorthing and minEasting less than maxEasting");
            }
        }
        if let Some(q) = &self.q {
            let n = q.trim().chars().count();
            if n == 0 || n > 200 {
                v.add("q", "length", "must be 1–200 characters");
            }
            v.plain_chars("q", q, false);
        }
        v.codes("activities", &self.activities, 20, codes::is_activity, "activity");
        v.codes("categories", &self.categories, 20, codes::is_category, "facility category");
        for (i, m) in self.municipalities.iter().enumerate() {
            codes::check_municipality(&mut v, &format!("municipalities[{i}]"), m);
        }
        if self.ids.len() > 100 {
            v.add("facilityIds", "max_items", "at most 100 facility ids");
        }
        for (i, c) in self.counties.iter().enumerate() {
            if !codes::municipalities().iter().any(|m| &m.county_code == c) {
                v.add(format!("counties[{i}]"), "unknown_code", format!("'{c}' is not a county (län) code"));
            }
        }
        if let Some(c) = self.min_capacity
            && !(0..=100_000).contains(&c)
        {
            v.add("minCapacity", "out_of_range", "must be between 0 and 100000");
        }
        if self.open_at.is_some() && self.open_during.is_some() {
            v.add("openDuring", "conflict", "use either openAt or openDuring, not both");
        }
        if let Some((a, b)) = self.open_during
            && a >= b
        {
            v.add("openDuring", "order", "the end must be after the start");
        }
        let order = self.order.unwrap_or(if self.near.is_some() {
            SearchOrder::Distance
        } else if self.q.is_some() {
            SearchOrder::Relevance
        } else {
            SearchOrder::Name
        });
        if order == SearchOrder::Distance && self.near.is_none() {
            v.add("order", "requires", "ordering by distance needs near=lat,lon");
        }
        if order == SearchOrder::Relevance && self.q.is_none() {
            v.add("order", "requires", "ordering by relevance needs q");
        }
        if self.page_size < 0 {
            v.add("pageSize", "out_of_range", "must not be negative");
        }
        let cursor = if self.page_token.is_empty() {
            None
        } else {
            let c: Option<Cursor> = unhex(&self.page_token).and_then(|b| serde_json::from_slice(&b).ok());
            match c {
                // A NUL character would make the database refuse the name: not a token of ours.
                Some(c) if c.order == order && !c.name.contains('\0') => Some(c),
                _ => {
                    v.add("pageToken", "format", "is not a page token of this search");
                    None
                }
            }
        };
        v.finish()?;
        let size = match self.page_size {
            0 => 20,
            n => n.min(MAX_PAGE_SIZE),
        };
        Ok((order, radius, i64::from(size), cursor))
    }

    /// Checks the search as [`Registry::search_facilities`] does before it asks the database:
    /// every parameter, and the page token against the order.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }
}

impl AssociationSearch {
    /// The keyset to continue after, from the page token (none on the first page).
    fn cursor(&self) -> Result<Option<AssociationCursor>> {
        if self.page_token.is_empty() {
            return Ok(None);
        }
        unhex(&self.page_token)
            .and_then(|b| serde_json::from_slice::<AssociationCursor>(&b).ok())
            .filter(|c| !c.1.contains('\0'))
            .map(Some)
            .ok_or_else(|| Error::invalid("pageToken", "format", "is not a page token of this search"))
    }

    /// Checks the page token as [`Registry::search_associations`] does before it asks the database.
    pub fn validate_page_token(&self) -> Result<()> {
        self.cursor().map(|_| ())
    }
}

impl Registry {
    /// Searches facilities.
    pub async fn search_facilities(&self, p: &Principal, s: &FacilitySearch) -> Result<SearchPage> {
        auth::authorize(p, Action::ReadPublic)?;
        let (checked, mut conn, text) = self.prepare_search(s).await?;
        let (order, limit) = (checked.0, checked.2);
        let mut rows = store::run(&mut conn, s, checked, text.as_ref()).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let facilities = db::facilities::load_many(&mut conn, &ids).await?;
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => hex(&serde_json::to_vec(&Cursor {
                order,
                distance: last.distance_m,
                rank: last.rank,
                name: last.name.clone(),
                id: last.id,
            })
            .expect("cursors serialise")),
            _ => String::new(),
        };
        let hits = rows
            .iter()
            .zip(facilities)
            .map(|(r, f)| SearchHit {
                municipality_name: codes::municipality(&f.municipality_code).map(|m| m.name.clone()).unwrap_or_default(),
                live_availability: f.booking_vendor.is_some(),
                distance_m: r.distance_m,
                facility: f,
            })
            .collect();
        Ok(SearchPage { hits, next_page_token })
    }

    /// Checks a search, takes a connection and looks up the words of its text query.
    async fn prepare_search(&self, s: &FacilitySearch) -> Result<(Checked, db::PooledConn, Option<TextQuery>)> {
        let checked = s.check()?;
        let mut conn = self.read_pool().get().await?;
        let text = match &s.q {
            Some(q) => Some(TextQuery::prepare(&mut conn, q).await?),
            None => None,
        };
        Ok((checked, conn, text))
    }

    /// The statements a search sends, for measuring the database alone (the load benchmark's
    /// floor): the word lookup of a text query (run here, since the search depends on it), the
    /// search itself (for nearest first, its first KNN walk, which is nearly always the only
    /// one), and the two statements that load the hits, whose `$1` is the ids the search returns
    /// in its first column.
    pub async fn search_statements(&self, s: &FacilitySearch) -> Result<SearchStatements> {
        let (checked, _, text) = self.prepare_search(s).await?;
        let words = text.as_ref().and_then(TextQuery::lookup);
        let search = store::first_statement(s, checked, text.as_ref())?;
        Ok(SearchStatements { words, search, load: db::facilities::load_many_sql() })
    }

    /// The query plan of a search (EXPLAIN), for tests and operators.
    pub async fn explain_facility_search(&self, s: &FacilitySearch) -> Result<String> {
        let (checked, mut conn, text) = self.prepare_search(s).await?;
        let statement = store::first_statement(s, checked, text.as_ref())?;
        store::explain(&mut conn, statement).await
    }

    /// Searches associations, ordered by relevance (with `q`) or name, as the caller may see them.
    pub async fn search_associations(&self, p: &Principal, s: &AssociationSearch) -> Result<AssociationPage> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut v = Violations::default();
        let q = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_string);
        if let Some(q) = &q {
            if q.chars().count() > 200 {
                v.add("q", "length", "must be at most 200 characters");
            }
            v.plain_chars("q", q, false);
        }
        let org = s.org_number.as_deref().map(|o| crate::orgnr::check(&mut v, "orgNumber", o));
        for (i, m) in s.municipalities.iter().enumerate() {
            crate::codes::check_municipality(&mut v, &format!("municipalities[{i}]"), m);
        }
        for (i, c) in s.counties.iter().enumerate() {
            if !crate::codes::municipalities().iter().any(|m| &m.county_code == c) {
                v.add(format!("counties[{i}]"), "unknown_code", format!("'{c}' is not a county (län) code"));
            }
        }
        v.codes("activities", &s.activities, 20, crate::codes::is_activity, "activity");
        if s.page_size < 0 {
            v.add("pageSize", "out_of_range", "must not be negative");
        }
        v.finish()?;
        let visibility = match &p.role {
            Role::Admin | Role::NationalBody => Visibility::All,
            Role::MunicipalityEditor { municipality_code } => Visibility::ApprovedOr(vec![municipality_code.clone()]),
            Role::Anonymous | Role::Resident | Role::Vendor | Role::System => Visibility::ApprovedOr(vec![]),
        };
        if let (Some(st), Visibility::ApprovedOr(munis)) = (s.status, &visibility)
            && st != RegistrationStatus::Approved
            && munis.is_empty()
        {
            return Err(if p.role == Role::Anonymous {
                Error::Unauthenticated("searching registrations that are not approved needs an API key".into())
            } else {
                Error::Forbidden(format!("role '{}' may not search registrations that are not approved", p.role.name()))
            });
        }
        let size = i64::from(match s.page_size {
            0 => 20,
            n => n.min(MAX_PAGE_SIZE),
        });
        let cursor = s.cursor()?;
        let mut conn = self.read_pool().get().await?;
        let mut rows = store::associations(&mut conn, s, q.as_deref(), org.as_deref(), &visibility, cursor, size).await?;
        let more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(a) = association_store::load(&mut conn, r.id, false).await?.and_then(|a| project(p, a, false)) {
                items.push(a);
            }
        }
        audit_personal_data(&mut conn, p, &items).await?;
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => {
                hex(&serde_json::to_vec(&AssociationCursor(last.rank, last.name.clone(), last.id)).expect("cursors serialise"))
            }
            _ => String::new(),
        };
        Ok(AssociationPage { associations: items, next_page_token })
    }
}

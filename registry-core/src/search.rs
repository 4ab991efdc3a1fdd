//! Facility search across municipal borders: place (near + radius, or bounding box), Swedish
//! full text with typo tolerance, filters, the open-hours filter over the materialised
//! intervals, three orders, and keyset paging that is stable under ties.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::auth::{self, Action, Principal};
use crate::codes;
use crate::error::Result;
use crate::geo::{self, LatLon};
use crate::model::{Accessibility, Facility, Ownership};
use crate::validate::Violations;
use crate::{Registry, db};

/// Largest radius of a `near` search, in metres.
pub const MAX_RADIUS_M: f64 = 200_000.0;
/// Radius when `near` comes without one.
pub const DEFAULT_RADIUS_M: f64 = 10_000.0;
/// Largest page.
pub const MAX_PAGE_SIZE: i32 = 100;

/// The order of hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SearchOrder {
    /// Nearest first (needs `near`).
    Distance,
    /// Best text match first (needs `q`).
    Relevance,
    /// By name.
    Name,
}

/// A facility search; every part is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct FacilitySearch {
    /// Centre of a distance search.
    pub near: Option<LatLon>,
    /// Radius around `near` in metres (default 10 km, at most 200 km).
    pub radius_m: Option<f64>,
    /// Bounding box: min lon, min lat, max lon, max lat (WGS84).
    pub bbox: Option<[f64; 4]>,
    /// Bounding box in SWEREF 99 TM, in its axis order: min northing, min easting, max northing, max easting.
    pub bbox_sweref: Option<[f64; 4]>,
    /// Free text (Swedish stemming, typo tolerant on names and localities).
    pub q: Option<String>,
    /// Activity codes.
    pub activities: Vec<String>,
    /// Require all activities (default: any).
    pub all_activities: bool,
    /// Category codes (any).
    pub categories: Vec<String>,
    /// Accessibility attributes (all required).
    pub accessibility: Vec<Accessibility>,
    /// Municipality codes (any).
    pub municipalities: Vec<String>,
    /// County codes (any).
    pub counties: Vec<String>,
    /// Ownerships (any).
    pub ownership: Vec<Ownership>,
    /// Some unit with at least this capacity.
    pub min_capacity: Option<i32>,
    /// Only facilities with a bookable unit.
    pub bookable_only: bool,
    /// Open at this instant.
    pub open_at: Option<DateTime<Utc>>,
    /// Open for the whole of this window.
    pub open_during: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Order; default: distance with `near`, relevance with `q`, else name.
    pub order: Option<SearchOrder>,
    /// Hits per page (default 20, at most 100).
    pub page_size: i32,
    /// Token from the previous page.
    pub page_token: String,
}

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

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Double>)]
    distance_m: Option<f64>,
    #[diesel(sql_type = Double)]
    rank: f64,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The keyset of the last hit of a page.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    order: SearchOrder,
    distance: Option<f64>,
    rank: f64,
    name: String,
    id: Uuid,
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
    fn check(&self) -> Result<(SearchOrder, f64, i64, Option<Cursor>)> {
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
        }
        v.codes("activities", &self.activities, 20, codes::is_activity, "activity");
        v.codes("categories", &self.categories, 20, codes::is_category, "facility category");
        for (i, m) in self.municipalities.iter().enumerate() {
            codes::check_municipality(&mut v, &format!("municipalities[{i}]"), m);
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
                Some(c) if c.order == order => Some(c),
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
}

type Query = BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery>;

/// Appends SQL and numbered binds to a boxed query.
struct Builder {
    sql: String,
    n: usize,
    binds: Vec<Box<dyn FnOnce(Query) -> Query + Send>>,
}

impl Builder {
    fn param<T, V>(&mut self, value: V) -> String
    where
        T: diesel::sql_types::SqlType + diesel::sql_types::SingleValue + Send + 'static,
        Pg: diesel::sql_types::HasSqlType<T>,
        V: diesel::serialize::ToSql<T, Pg> + Send + 'static,
    {
        self.n += 1;
        self.binds.push(Box::new(move |q: Query| q.bind::<T, _>(value)));
        format!("${}", self.n)
    }
}

impl Registry {
    /// Searches facilities.
    pub async fn search_facilities(&self, p: &Principal, s: &FacilitySearch) -> Result<SearchPage> {
        auth::authorize(p, Action::ReadPublic)?;
        let (q, order, limit) = build(s, "")?;
        let mut conn = self.pool().get().await?;
        let mut rows: Vec<Row> = q.load(&mut conn).await?;
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

    /// The query plan of a search (EXPLAIN), for tests and operators.
    pub async fn explain_facility_search(&self, s: &FacilitySearch) -> Result<String> {
        #[derive(QueryableByName)]
        struct Plan {
            #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
            line: String,
        }
        let (q, _, _) = build(s, "EXPLAIN ")?;
        let mut conn = self.pool().get().await?;
        let plan: Vec<Plan> = q.load(&mut conn).await?;
        Ok(plan.into_iter().map(|p| p.line).collect::<Vec<_>>().join("\n"))
    }
}

/// The SQL of a search with its binds, its order and its page size.
fn build(s: &FacilitySearch, prefix: &str) -> Result<(Query, SearchOrder, i64)> {
    let (order, radius, limit, cursor) = s.check()?;
    let mut b = Builder { sql: String::new(), n: 0, binds: Vec::new() };
    let point = s.near.map(|p| {
        let lon = b.param::<Double, _>(p.lon);
        let lat = b.param::<Double, _>(p.lat);
        format!("ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography")
    });
    let tsq = s.q.as_ref().map(|q| b.param::<Text, _>(q.trim().to_string()));
    let distance = point.as_ref().map(|pt| format!("ST_Distance(f.location, {pt})")).unwrap_or_else(|| "NULL::float8".into());
    let rank = tsq
            .as_ref()
            .map(|q| format!("(ts_rank(f.search_tsv, websearch_to_tsquery('swedish', {q})) + greatest(similarity(f.name, {q}), similarity(f.locality, {q})))::float8"))
            .unwrap_or_else(|| "0::float8".into());
    let mut wh = vec!["f.deleted_at IS NULL".to_string()];
    if let Some(pt) = &point {
        let r = b.param::<Double, _>(radius);
        wh.push(format!("ST_DWithin(f.location, {pt}, {r})"));
    }
    if let Some([a, bb, c, d]) = s.bbox {
        let (a, bb, c, d) = (b.param::<Double, _>(a), b.param::<Double, _>(bb), b.param::<Double, _>(c), b.param::<Double, _>(d));
        // The geography box (for the index) is a little wider than the lon/lat box the
        // caller means, so the exact test runs on geometry afterwards.
        let env = format!("ST_MakeEnvelope({a}, {bb}, {c}, {d}, 4326)");
        wh.push(format!("f.location && {env}::geography AND ST_Intersects(f.location::geometry, {env})"));
    }
    if let Some([n1, e1, n2, e2]) = s.bbox_sweref {
        // The index prefilter uses the lon/lat envelope of the box's edges (sampled densely,
        // with a margin); the exact test runs in SWEREF 99 TM itself.
        let mut pts = Vec::new();
        for k in 0..=16 {
            let t = f64::from(k) / 16.0;
            for (n, e) in [(n1, e1 + t * (e2 - e1)), (n2, e1 + t * (e2 - e1)), (n1 + t * (n2 - n1), e1), (n1 + t * (n2 - n1), e2)] {
                pts.push(geo::Sweref99Tm { northing: n, easting: e }.to_wgs84());
            }
        }
        let m = 0.001;
        let (lo_lon, lo_lat) =
            (pts.iter().map(|p| p.lon).fold(f64::MAX, f64::min) - m, pts.iter().map(|p| p.lat).fold(f64::MAX, f64::min) - m);
        let (hi_lon, hi_lat) =
            (pts.iter().map(|p| p.lon).fold(f64::MIN, f64::max) + m, pts.iter().map(|p| p.lat).fold(f64::MIN, f64::max) + m);
        let env = format!(
            "ST_MakeEnvelope({}, {}, {}, {}, 4326)",
            b.param::<Double, _>(lo_lon),
            b.param::<Double, _>(lo_lat),
            b.param::<Double, _>(hi_lon),
            b.param::<Double, _>(hi_lat)
        );
        let tm = format!(
            "ST_MakeEnvelope({}, {}, {}, {}, 3006)",
            b.param::<Double, _>(e1),
            b.param::<Double, _>(n1),
            b.param::<Double, _>(e2),
            b.param::<Double, _>(n2)
        );
        wh.push(format!("f.location && {env}::geography AND ST_Intersects(ST_Transform(f.location::geometry, 3006), {tm})"));
    }
    if let Some(q) = &tsq {
        wh.push(format!("(f.search_tsv @@ websearch_to_tsquery('swedish', {q}) OR f.name % {q} OR f.locality % {q})"));
    }
    if !s.activities.is_empty() {
        let a = b.param::<Array<Text>, _>(s.activities.clone());
        wh.push(if s.all_activities { format!("f.activities @> {a}") } else { format!("f.activities && {a}") });
    }
    if !s.categories.is_empty() {
        let c = b.param::<Array<Text>, _>(s.categories.clone());
        wh.push(format!("f.category = ANY({c})"));
    }
    if !s.accessibility.is_empty() {
        let a = b.param::<Array<Text>, _>(s.accessibility.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>());
        wh.push(format!("f.accessibility @> {a}"));
    }
    if !s.municipalities.is_empty() {
        let m = b.param::<Array<Text>, _>(s.municipalities.clone());
        wh.push(format!("f.municipality_code = ANY({m})"));
    }
    if !s.counties.is_empty() {
        // Expanded to the counties' municipalities, so the municipality index serves it.
        let in_counties: Vec<String> =
            codes::municipalities().iter().filter(|m| s.counties.contains(&m.county_code)).map(|m| m.code.clone()).collect();
        let c = b.param::<Array<Text>, _>(in_counties);
        wh.push(format!("f.municipality_code = ANY({c})"));
    }
    if !s.ownership.is_empty() {
        let o = b.param::<Array<Text>, _>(s.ownership.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>());
        wh.push(format!("f.ownership = ANY({o})"));
    }
    if s.min_capacity.is_some() || s.bookable_only {
        let mut cond = String::from("u.facility_id = f.id");
        if let Some(c) = s.min_capacity {
            cond += &format!(" AND u.capacity >= {}", b.param::<Integer, _>(c));
        }
        if s.bookable_only {
            cond += " AND u.bookable";
        }
        wh.push(format!("EXISTS (SELECT 1 FROM facility_units u WHERE {cond})"));
    }
    if let Some(t) = s.open_at {
        let t = b.param::<Timestamptz, _>(t);
        wh.push(format!("EXISTS (SELECT 1 FROM open_intervals o WHERE o.facility_id = f.id AND o.unit_id IS NULL AND o.during @> {t})"));
    }
    if let Some((t1, t2)) = s.open_during {
        let (t1, t2) = (b.param::<Timestamptz, _>(t1), b.param::<Timestamptz, _>(t2));
        wh.push(format!(
                "EXISTS (SELECT 1 FROM open_intervals o WHERE o.facility_id = f.id AND o.unit_id IS NULL AND o.during @> tstzrange({t1}, {t2}, '[)'))"
            ));
    }
    let order_sql = match order {
        SearchOrder::Distance => "distance_m, f.id",
        SearchOrder::Relevance => "rank DESC, f.id",
        SearchOrder::Name => "f.name, f.id",
    };
    if let Some(c) = cursor {
        let id = b.param::<SqlUuid, _>(c.id);
        wh.push(match order {
            SearchOrder::Distance => {
                let d = b.param::<Double, _>(c.distance.unwrap_or(0.0));
                format!("({distance}, f.id) > ({d}, {id})")
            }
            SearchOrder::Relevance => {
                let r = b.param::<Double, _>(c.rank);
                format!("({rank} < {r} OR ({rank} = {r} AND f.id > {id}))")
            }
            SearchOrder::Name => {
                let n = b.param::<Text, _>(c.name);
                format!("(f.name, f.id) > ({n}, {id})")
            }
        });
    }
    let lim = b.param::<BigInt, _>(limit + 1);
    b.sql = format!(
        "SELECT f.id, {distance} AS distance_m, {rank} AS rank, f.name FROM facilities f WHERE {} ORDER BY {order_sql} LIMIT {lim}",
        wh.join(" AND ")
    );
    let mut q: Query = diesel::sql_query(format!("{prefix}{}", b.sql)).into_boxed();
    for bind in b.binds {
        q = bind(q);
    }
    Ok((q, order, limit))
}

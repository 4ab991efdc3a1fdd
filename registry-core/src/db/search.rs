//! The SQL of search: the statement a facility search sends (place, full text, filters, the
//! open-hours filter over `open_intervals`, order and keyset), the nearest-first walk over the
//! SWEREF 99 TM index, the word lookup that makes text queries typo tolerant, and the
//! association search.
//!
//! The searches' rules (what is valid, the defaults, who may search what) are in
//! `service/search.rs`; this module takes a checked search.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::codes;
use crate::db;
use crate::db::associations::Visibility;
use crate::error::Result;
use crate::geo::{self, LatLon};
use crate::model::{Accessibility, Ownership, RegistrationStatus};

/// Upper bound of (distance in SWEREF 99 TM) / (distance on the WGS84 spheroid) for points in
/// Sweden's extent: the projection's scale factor is 0.9996 on 15° E and at most about 1.004 at
/// the eastern edge of the extent. Nearest-first search walks the TM index and uses this bound
/// to know when it has seen every facility that can be among the nearest.
pub const TM_SCALE_MAX: f64 = 1.005;

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
    /// Only these facilities (at most 100), e.g. one facility's page asking for its free times.
    pub ids: Vec<Uuid>,
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

/// One hit as the search statement returns it: id, distance, rank and name (the keyset).
#[derive(QueryableByName)]
pub(crate) struct Row {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: Uuid,
    #[diesel(sql_type = Nullable<Double>)]
    pub(crate) distance_m: Option<f64>,
    #[diesel(sql_type = Double)]
    pub(crate) rank: f64,
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
}

/// The keyset of the last hit of a page.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cursor {
    pub(crate) order: SearchOrder,
    pub(crate) distance: Option<f64>,
    pub(crate) rank: f64,
    pub(crate) name: String,
    pub(crate) id: Uuid,
}

type Query = BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery>;

/// A parameter of a search statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// `float8`.
    Float(f64),
    /// `int4`.
    Int(i32),
    /// `int8`.
    BigInt(i64),
    /// `text`.
    Text(String),
    /// `text[]`.
    Texts(Vec<String>),
    /// `uuid`.
    Uuid(Uuid),
    /// `timestamptz`.
    Time(DateTime<Utc>),
}

/// One SQL statement of a search with its parameters (`$1`, `$2`, … in order), exactly as the
/// core sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// The parameters.
    pub binds: Vec<Bind>,
}

impl Statement {
    pub(crate) fn query(self, prefix: &str) -> Query {
        let mut q: Query = diesel::sql_query(format!("{prefix}{}", self.sql)).into_boxed();
        for b in self.binds {
            q = match b {
                Bind::Float(v) => q.bind::<Double, _>(v),
                Bind::Int(v) => q.bind::<Integer, _>(v),
                Bind::BigInt(v) => q.bind::<BigInt, _>(v),
                Bind::Text(v) => q.bind::<Text, _>(v),
                Bind::Texts(v) => q.bind::<Array<Text>, _>(v),
                Bind::Uuid(v) => q.bind::<SqlUuid, _>(v),
                Bind::Time(v) => q.bind::<Timestamptz, _>(v),
            };
        }
        q
    }
}

/// Appends SQL and numbered binds.
struct Builder {
    sql: String,
    binds: Vec<Bind>,
}

impl Builder {
    fn param(&mut self, value: Bind) -> String {
        // Typed where the context leaves the type open (`multirange @> $n`), so that a driver
        // that lets the server infer parameter types sends the same statement.
        let cast = if matches!(value, Bind::Time(_)) { "::timestamptz" } else { "" };
        self.binds.push(value);
        format!("${}{cast}", self.binds.len())
    }
}

/// A checked search: its order, radius, limit and the keyset to continue after.
pub(crate) type Checked = (SearchOrder, f64, i64, Option<Cursor>);

/// Candidates a nearest-first search fetches first for `k` hits.
fn first_candidates(k: i64) -> i64 {
    k + 8 + k / 4
}

/// The SQL of a search with its binds. With `candidates` (distance order) it is the KNN walk:
/// the `candidates` nearest facilities in SWEREF 99 TM that pass every other filter, with their
/// exact distance, for [`nearest`] to finish.
fn build(s: &FacilitySearch, checked: Checked, text: Option<&TextQuery>, candidates: Option<i64>) -> Result<Statement> {
    let (order, radius, limit, cursor) = checked;
    let mut b = Builder { sql: String::new(), binds: Vec::new() };
    let mut point_tm = None;
    let point = s.near.map(|p| {
        let lon = b.param(Bind::Float(p.lon));
        let lat = b.param(Bind::Float(p.lat));
        point_tm = Some(format!("ST_Transform(ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326), 3006)"));
        format!("ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography")
    });
    let tsq = text.map(|t| t.sql(&mut b));
    let distance = point.as_ref().map(|pt| format!("ST_Distance(f.location, {pt})")).unwrap_or_else(|| "NULL::float8".into());
    // Full-text rank, weighted name > locality > description, normalised by length so that
    // "Kumla simhall" outranks "Kumla simhall och gym" for "simhal". (Trigram similarity of
    // each hit's name to the query ranked a little better on typos but took 40 % of the
    // database's time on a million facilities; the typo is already corrected by the word list.)
    let rank = match &tsq {
        Some(tsq) => format!("ts_rank(f.search_tsv, {tsq}, 1)::float8"),
        None => "0::float8".into(),
    };
    let mut wh = vec!["f.deleted_at IS NULL".to_string()];
    if let (Some(pt), Some(tm)) = (&point, &point_tm) {
        // The box in SWEREF 99 TM holds every point within the radius; nearest-first search
        // applies the exact radius to its candidates itself, so that the planner keeps the KNN walk.
        let reach = b.param(Bind::Float(radius * TM_SCALE_MAX + 1.0));
        wh.push(format!("f.location_tm && ST_Expand({tm}, {reach})"));
        if candidates.is_none() {
            let r = b.param(Bind::Float(radius));
            wh.push(format!("ST_DWithin(f.location, {pt}, {r})"));
        }
    }
    if let Some([a, bb, c, d]) = s.bbox {
        // Every facility lies in Sweden (locations are validated), so the index prefilter uses
        // the box's part over Sweden: a box as wide as the world would be a geography of
        // antipodal edges, which PostGIS refuses. The geography box is a little wider than the
        // lon/lat box the caller means, so the exact test runs on geometry afterwards.
        let (lon, lat) = (geo::SWEDEN_LON, geo::SWEDEN_LAT);
        let (pa, pb, pc, pd) = (a.max(lon.0), bb.max(lat.0), c.min(lon.1), d.min(lat.1));
        if pa >= pc || pb >= pd {
            wh.push("false".to_string());
        } else {
            let (a, bb, c, d) = (b.param(Bind::Float(a)), b.param(Bind::Float(bb)), b.param(Bind::Float(c)), b.param(Bind::Float(d)));
            let (pa, pb, pc, pd) = (b.param(Bind::Float(pa)), b.param(Bind::Float(pb)), b.param(Bind::Float(pc)), b.param(Bind::Float(pd)));
            let env = format!("ST_MakeEnvelope({a}, {bb}, {c}, {d}, 4326)");
            let prefilter = format!("ST_MakeEnvelope({pa}, {pb}, {pc}, {pd}, 4326)");
            wh.push(format!("f.location && {prefilter}::geography AND ST_Intersects(f.location::geometry, {env})"));
        }
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
            b.param(Bind::Float(lo_lon)),
            b.param(Bind::Float(lo_lat)),
            b.param(Bind::Float(hi_lon)),
            b.param(Bind::Float(hi_lat))
        );
        let tm = format!(
            "ST_MakeEnvelope({}, {}, {}, {}, 3006)",
            b.param(Bind::Float(e1)),
            b.param(Bind::Float(n1)),
            b.param(Bind::Float(e2)),
            b.param(Bind::Float(n2))
        );
        wh.push(format!("f.location && {env}::geography AND ST_Intersects(ST_Transform(f.location::geometry, 3006), {tm})"));
    }
    if let Some(tsq) = &tsq {
        wh.push(format!("f.search_tsv @@ {tsq}"));
    }
    if !s.activities.is_empty() {
        let a = b.param(Bind::Texts(s.activities.clone()));
        if candidates.is_some() {
            // Answered inside the KNN index (see migration 6); `nearest` checks the codes
            // themselves on the candidates. (The GIN index of `activities` would tempt the
            // planner into a bitmap of every facility with the activity in the country, and an
            // exact test in SQL into misjudging how many rows the walk meets.)
            let op = if s.all_activities { "@>" } else { "&&" };
            wh.push(format!("f.activity_hashes {op} registry_code_hashes({a})"));
        } else {
            wh.push(if s.all_activities { format!("f.activities @> {a}") } else { format!("f.activities && {a}") });
        }
    }
    if !s.categories.is_empty() {
        let c = b.param(Bind::Texts(s.categories.clone()));
        wh.push(format!("f.category = ANY({c})"));
    }
    if !s.accessibility.is_empty() {
        let a = b.param(Bind::Texts(s.accessibility.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>()));
        wh.push(format!("f.accessibility @> {a}"));
    }
    if !s.municipalities.is_empty() {
        let m = b.param(Bind::Texts(s.municipalities.clone()));
        wh.push(format!("f.municipality_code = ANY({m})"));
    }
    if !s.ids.is_empty() {
        let ids = b.param(Bind::Texts(s.ids.iter().map(Uuid::to_string).collect()));
        wh.push(format!("f.id = ANY(CAST({ids} AS uuid[]))"));
    }
    if !s.counties.is_empty() {
        // Expanded to the counties' municipalities, so the municipality index serves it.
        let in_counties: Vec<String> =
            codes::municipalities().iter().filter(|m| s.counties.contains(&m.county_code)).map(|m| m.code.clone()).collect();
        let c = b.param(Bind::Texts(in_counties));
        wh.push(format!("f.municipality_code = ANY({c})"));
    }
    if !s.ownership.is_empty() {
        let o = b.param(Bind::Texts(s.ownership.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>()));
        wh.push(format!("f.ownership = ANY({o})"));
    }
    if s.min_capacity.is_some() || s.bookable_only {
        let mut cond = String::from("u.facility_id = f.id");
        if let Some(c) = s.min_capacity {
            cond += &format!(" AND u.capacity >= {}", b.param(Bind::Int(c)));
        }
        if s.bookable_only {
            cond += " AND u.bookable";
        }
        wh.push(format!("EXISTS (SELECT 1 FROM facility_units u WHERE {cond})"));
    }
    if let Some(t) = s.open_at {
        let t = b.param(Bind::Time(t));
        wh.push(format!(
            "EXISTS (SELECT 1 FROM open_intervals o WHERE o.facility_id = f.id AND o.unit_id IS NULL \
             AND CASE WHEN {t} < o.soon_end THEN o.soon @> {t} ELSE o.during @> {t} END)"
        ));
    }
    if let Some((t1, t2)) = s.open_during {
        let (t1, t2) = (b.param(Bind::Time(t1)), b.param(Bind::Time(t2)));
        wh.push(format!(
                "EXISTS (SELECT 1 FROM open_intervals o WHERE o.facility_id = f.id AND o.unit_id IS NULL \
                 AND CASE WHEN {t2} <= o.soon_end THEN o.soon @> tstzrange({t1}, {t2}, '[)') ELSE o.during @> tstzrange({t1}, {t2}, '[)') END)"
            ));
    }
    let order_sql = match order {
        SearchOrder::Distance => "distance_m, f.id",
        SearchOrder::Relevance => "rank DESC, f.id",
        SearchOrder::Name => "f.name, f.id",
    };
    if let Some(c) = cursor {
        let id = b.param(Bind::Uuid(c.id));
        wh.push(match order {
            SearchOrder::Distance => {
                let d = b.param(Bind::Float(c.distance.unwrap_or(0.0)));
                format!("({distance}, f.id) > ({d}, {id})")
            }
            SearchOrder::Relevance => {
                let r = b.param(Bind::Float(c.rank));
                format!("({rank} < {r} OR ({rank} = {r} AND f.id > {id}))")
            }
            SearchOrder::Name => {
                let n = b.param(Bind::Text(c.name));
                format!("(f.name, f.id) > ({n}, {id})")
            }
        });
    }
    b.sql = match (candidates, &point_tm) {
        (Some(n), Some(tm)) => {
            let lim = b.param(Bind::BigInt(n));
            format!(
                "SELECT f.id, {distance} AS distance_m, f.location_tm <-> {tm} AS tm_distance, f.activities FROM facilities f WHERE {} \
                 ORDER BY f.location_tm <-> {tm} LIMIT {lim}",
                wh.join(" AND ")
            )
        }
        _ => {
            let lim = b.param(Bind::BigInt(limit + 1));
            format!(
                "SELECT f.id, {distance} AS distance_m, {rank} AS rank, f.name FROM facilities f WHERE {} ORDER BY {order_sql} LIMIT {lim}",
                wh.join(" AND ")
            )
        }
    };
    Ok(Statement { sql: b.sql, binds: b.binds })
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Double)]
    distance_m: f64,
    #[diesel(sql_type = Double)]
    tm_distance: f64,
    #[diesel(sql_type = Array<Text>)]
    activities: Vec<String>,
}

/// Nearest first: walks the SWEREF 99 TM index (KNN) for candidates, orders them by their exact
/// spheroid distance, and widens the walk until no facility it has not seen can be nearer than
/// the last hit (or lie within the radius at all). Usually the first walk suffices.
async fn nearest(conn: &mut db::PooledConn, s: &FacilitySearch, checked: Checked, text: Option<&TextQuery>) -> Result<Vec<Row>> {
    let (radius, k) = (checked.1, checked.2 + 1);
    let mut n = first_candidates(k);
    loop {
        let q = build(s, checked.clone(), text, Some(n))?.query("");
        let candidates: Vec<Candidate> = q.load(conn).await?;
        let exhausted = (candidates.len() as i64) < n;
        // Facilities not fetched are at least this far away on the spheroid.
        let unseen = candidates.last().map_or(f64::INFINITY, |c| c.tm_distance / TM_SCALE_MAX);
        let has_activities = |c: &Candidate| {
            s.activities.is_empty()
                || if s.all_activities {
                    s.activities.iter().all(|a| c.activities.contains(a))
                } else {
                    s.activities.iter().any(|a| c.activities.contains(a))
                }
        };
        let mut hits: Vec<&Candidate> = candidates.iter().filter(|c| c.distance_m <= radius && has_activities(c)).collect();
        hits.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
        hits.truncate(k as usize);
        let complete = exhausted || unseen > radius || (hits.len() as i64 == k && hits[hits.len() - 1].distance_m < unseen);
        if complete {
            return Ok(hits
                .into_iter()
                .map(|c| Row { id: c.id, distance_m: Some(c.distance_m), rank: 0.0, name: String::new() })
                .collect());
        }
        n *= 4;
    }
}

/// What [`crate::Registry::search_statements`] returns.
#[derive(Debug, Clone)]
pub struct SearchStatements {
    /// The word lookup of a text query.
    pub words: Option<Statement>,
    /// The search.
    pub search: Statement,
    /// Loading the hits: facility rows and their units, sent together (pipelined); `$1` is the
    /// ids (`uuid[]`).
    pub load: [String; 2],
}

/// The word lookup: for each query word (`$1`, `text[]`), up to eight words of names that
/// start with it (the word itself, and the compounds it begins), and, when no name has the word,
/// its three closest words by trigram similarity (typo tolerance).
const WORD_LOOKUP: &str = "SELECT x.ord::int AS ord, s.word FROM unnest($1::text[]) WITH ORDINALITY AS x(w, ord) \
     CROSS JOIN LATERAL ((SELECT word FROM search_words WHERE word >= x.w AND word < x.w || chr(1114111) \
             ORDER BY length(word), word LIMIT 8) \
         UNION (SELECT word FROM search_words WHERE word % x.w \
             AND NOT EXISTS (SELECT 1 FROM search_words e WHERE e.word = x.w) ORDER BY word <-> x.w LIMIT 3)) s";

/// A text query: the caller's words plus, for each word that no name contains, the closest
/// words of names and localities (trigram similarity over `search_words`), searched with
/// Swedish full text.
pub(crate) struct TextQuery {
    /// The query as typed (trimmed).
    pub(crate) q: String,
    /// Per word: the word and its alternatives; empty when the query uses web-search syntax.
    words: Vec<Vec<String>>,
}

impl TextQuery {
    /// Looks up the alternatives of the query's words.
    pub(crate) async fn prepare(conn: &mut db::PooledConn, q: &str) -> Result<TextQuery> {
        #[derive(QueryableByName)]
        struct Alt {
            #[diesel(sql_type = Integer)]
            ord: i32,
            #[diesel(sql_type = Text)]
            word: String,
        }
        let q = q.trim().to_string();
        // Quotes and exclusions are web-search syntax: then the query is taken as written.
        let syntax = q.contains('"') || q.split_whitespace().any(|w| w.starts_with('-') || w.eq_ignore_ascii_case("or"));
        let mut words: Vec<Vec<String>> = Vec::new();
        if !syntax {
            for w in q.to_lowercase().split(|c: char| !c.is_alphanumeric()) {
                let n = w.chars().count();
                if (2..=100).contains(&n) && !words.iter().any(|x| x[0] == w) && words.len() < 8 {
                    words.push(vec![w.to_string()]);
                }
            }
        }
        if !words.is_empty() {
            let list: Vec<String> = words.iter().map(|w| w[0].clone()).collect();
            let alts: Vec<Alt> = diesel::sql_query(WORD_LOOKUP).bind::<Array<Text>, _>(list).load(conn).await?;
            for a in alts {
                if let Some(w) = words.get_mut(a.ord as usize - 1)
                    && !w.contains(&a.word)
                {
                    w.push(a.word);
                }
            }
        }
        Ok(TextQuery { q, words })
    }

    /// The word lookup this query ran, if any.
    pub(crate) fn lookup(&self) -> Option<Statement> {
        (!self.words.is_empty()).then(|| Statement {
            sql: WORD_LOOKUP.to_string(),
            binds: vec![Bind::Texts(self.words.iter().map(|w| w[0].clone()).collect())],
        })
    }

    /// The tsquery expression: the query as web search when it uses that syntax; otherwise
    /// every word, each as itself or one of its alternatives (all exact terms, which the GIN
    /// index intersects fast, unlike prefix terms).
    fn sql(&self, b: &mut Builder) -> String {
        let (sql, values) = self.sql_with(b.binds.len() + 1);
        for v in values {
            b.param(Bind::Text(v));
        }
        sql
    }

    /// The same expression with numbered text parameters from `first` on, for queries built by
    /// hand; returns the SQL and the values in order.
    pub(crate) fn sql_with(&self, first: usize) -> (String, Vec<String>) {
        if self.words.is_empty() {
            return (format!("websearch_to_tsquery('swedish', ${first})"), vec![self.q.clone()]);
        }
        let (mut values, mut all) = (Vec::new(), Vec::new());
        for alts in &self.words {
            let mut any = Vec::new();
            for a in alts {
                values.push(a.clone());
                any.push(format!("plainto_tsquery('swedish', ${})", first + values.len() - 1));
            }
            all.push(format!("({})", any.join(" || ")));
        }
        (format!("({})", all.join(" && ")), values)
    }
}

/// An association search; every part optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AssociationSearch {
    /// Name text: Swedish full text and typo tolerant.
    pub q: Option<String>,
    /// Organisation number (`NNNNNN-NNNN` or ten digits).
    pub org_number: Option<String>,
    /// Municipality codes (any).
    pub municipalities: Vec<String>,
    /// County codes (any).
    pub counties: Vec<String>,
    /// Activity codes (any).
    pub activities: Vec<String>,
    /// Registration status; statuses other than approved need a role that may see them.
    pub status: Option<RegistrationStatus>,
    /// Hits per page (default 20, at most 100).
    pub page_size: i32,
    /// Token from the previous page.
    pub page_token: String,
}

/// The keyset of the last association of a page: rank, name and id.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct AssociationCursor(pub(crate) f64, pub(crate) String, pub(crate) Uuid);

/// A query with its binds, and one deferred bind.
type BindFn = Box<dyn FnOnce(Query) -> Query + Send>;

/// One hit of an association search: id, rank and name (the keyset).
#[derive(QueryableByName)]
pub(crate) struct AssociationRow {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: Uuid,
    #[diesel(sql_type = Double)]
    pub(crate) rank: f64,
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
}

/// The hits of a checked association search: up to `size + 1` rows (so the caller knows
/// whether more follow), ordered by relevance with a text query `q`, else by name; `org` is the
/// normalised organisation number and `visibility` the registrations the caller may see.
pub(crate) async fn associations(
    conn: &mut db::PooledConn,
    s: &AssociationSearch,
    q: Option<&str>,
    org: Option<&str>,
    visibility: &Visibility,
    cursor: Option<AssociationCursor>,
    size: i64,
) -> Result<Vec<AssociationRow>> {
    let mut sql_where = vec!["a.deleted_at IS NULL".to_string()];
    let mut text_binds: Vec<(usize, String)> = Vec::new();
    let mut next = 0usize;
    let mut p_text = |val: String, v: &mut Vec<(usize, String)>| {
        next += 1;
        v.push((next, val));
        format!("${next}")
    };
    let rank = match q {
        Some(q) => {
            let text = TextQuery::prepare(conn, q).await?;
            // The text comes first, so its parameters are $1, $2, …
            let (tsq, values) = text.sql_with(1);
            for v in values {
                p_text(v, &mut text_binds);
            }
            let ph = p_text(q.to_string(), &mut text_binds);
            sql_where.push(format!("a.search_tsv @@ {tsq}"));
            format!("(ts_rank(a.search_tsv, {tsq}) + similarity(a.name, {ph}))::float8")
        }
        None => "0::float8".to_string(),
    };
    if let Some(o) = org {
        let ph = p_text(o.to_string(), &mut text_binds);
        sql_where.push(format!("a.org_number = {ph}"));
    }
    if let Some(st) = s.status {
        let ph = p_text(st.as_str().to_string(), &mut text_binds);
        sql_where.push(format!("a.registration_status = {ph}"));
    }
    if let Visibility::ApprovedOr(munis) = visibility {
        // Municipality codes of keys are four digits (checked when the key was made).
        let list = munis.iter().filter(|m| m.chars().all(|c| c.is_ascii_digit())).map(|m| format!("'{m}'")).collect::<Vec<_>>().join(",");
        sql_where.push(if munis.is_empty() {
            "a.registration_status = 'approved'".to_string()
        } else {
            format!("(a.registration_status = 'approved' OR a.registered_in && ARRAY[{list}]::text[])")
        });
    }
    // An association is in every municipality it is registered in: for a caller who may see
    // a municipality's unapproved registrations, any registration there; otherwise an approved one.
    let mut array_binds: Vec<(usize, Vec<String>)> = Vec::new();
    let (seen_all, own): (Vec<String>, Vec<String>) = match visibility {
        Visibility::All => (s.municipalities.clone(), vec![]),
        Visibility::ApprovedOr(munis) => (vec![], s.municipalities.iter().filter(|m| munis.contains(m)).cloned().collect()),
    };
    if !s.municipalities.is_empty() {
        next += 1;
        array_binds.push((next, s.municipalities.clone()));
        let approved = format!("a.approved_in && ${next}");
        let any = if !seen_all.is_empty() || !own.is_empty() {
            next += 1;
            array_binds.push((next, if seen_all.is_empty() { own } else { seen_all }));
            format!(" OR a.registered_in && ${next}")
        } else {
            String::new()
        };
        sql_where.push(format!("({approved}{any})"));
    }
    if !s.counties.is_empty() {
        next += 1;
        array_binds.push((next, s.counties.clone()));
        let column = if matches!(visibility, Visibility::All) { "a.registered_in" } else { "a.approved_in" };
        sql_where.push(format!("EXISTS (SELECT 1 FROM unnest({column}) m WHERE left(m, 2) = ANY(${next}))"));
    }
    if !s.activities.is_empty() {
        next += 1;
        array_binds.push((next, s.activities.clone()));
        sql_where.push(format!("a.activities && ${next}"));
    }
    let by_rank = q.is_some();
    let mut cursor_binds: Vec<(usize, f64, String, Uuid)> = Vec::new();
    if let Some(AssociationCursor(r, n, id)) = cursor {
        let (pr, pn, pi) = (next + 1, next + 2, next + 3);
        cursor_binds.push((pr, r, n, id));
        sql_where.push(if by_rank {
            format!("({rank} < ${pr} OR ({rank} = ${pr} AND a.id > ${pi}))")
        } else {
            format!("(a.name, a.id) > (${pn}, ${pi})")
        });
    }
    let order = if by_rank { "rank DESC, a.id" } else { "a.name, a.id" };
    let sql = format!(
        "SELECT a.id, {rank} AS rank, a.name FROM associations a WHERE {} ORDER BY {order} LIMIT {}",
        sql_where.join(" AND "),
        size + 1
    );
    // Binds in placeholder order.
    let mut all: Vec<(usize, BindFn)> = Vec::new();
    for (i, t) in text_binds {
        all.push((i, Box::new(move |q| q.bind::<Text, _>(t))));
    }
    for (i, a) in array_binds {
        all.push((i, Box::new(move |q| q.bind::<Array<Text>, _>(a))));
    }
    for (i, r, n, id) in cursor_binds {
        all.push((i, Box::new(move |q| q.bind::<Double, _>(r))));
        all.push((i + 1, Box::new(move |q| q.bind::<Text, _>(n))));
        all.push((i + 2, Box::new(move |q| q.bind::<diesel::sql_types::Uuid, _>(id))));
    }
    all.sort_by_key(|(i, _)| *i);
    let mut query = diesel::sql_query(sql).into_boxed();
    for (_, b) in all {
        query = b(query);
    }
    Ok(query.load(conn).await?)
}

/// The hits of a checked search: `limit + 1` rows (so the caller knows whether more follow).
pub(crate) async fn run(conn: &mut db::PooledConn, s: &FacilitySearch, checked: Checked, text: Option<&TextQuery>) -> Result<Vec<Row>> {
    if checked.0 == SearchOrder::Distance {
        nearest(conn, s, checked, text).await
    } else {
        Ok(build(s, checked, text, None)?.query("").load(conn).await?)
    }
}

/// The statement a checked search sends first (for nearest first, its first KNN walk).
pub(crate) fn first_statement(s: &FacilitySearch, checked: Checked, text: Option<&TextQuery>) -> Result<Statement> {
    let candidates = (checked.0 == SearchOrder::Distance).then(|| first_candidates(checked.2 + 1));
    build(s, checked, text, candidates)
}

/// The query plan (EXPLAIN) of a statement.
pub(crate) async fn explain(conn: &mut db::PooledConn, statement: Statement) -> Result<String> {
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let plan: Vec<Plan> = statement.query("EXPLAIN ").load(conn).await?;
    Ok(plan.into_iter().map(|p| p.line).collect::<Vec<_>>().join("\n"))
}

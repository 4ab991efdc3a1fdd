//! Rows of `municipalities` and `counties` (filled by the seed migration).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{counties, municipalities};
use crate::codes::Municipality;

/// Municipalities ordered by code, optionally only those of one county or the one with `code`.
pub async fn list(conn: &mut AsyncPgConnection, county_code: Option<&str>, code: Option<&str>) -> QueryResult<Vec<Municipality>> {
    let mut q = municipalities::table
        .inner_join(counties::table)
        .select((municipalities::code, municipalities::name, counties::code, counties::name))
        .order(municipalities::code)
        .into_boxed();
    if let Some(c) = county_code {
        q = q.filter(counties::code.eq(c.to_string()));
    }
    if let Some(c) = code {
        q = q.filter(municipalities::code.eq(c.to_string()));
    }
    let rows: Vec<(String, String, String, String)> = q.load(conn).await?;
    Ok(rows.into_iter().map(|(code, name, county_code, county_name)| Municipality { code, name, county_code, county_name }).collect())
}

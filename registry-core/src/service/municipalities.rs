//! Listing municipalities (read from the database, which the seed migration filled).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Registry;
use crate::auth::{self, Action, Principal};
use crate::codes::Municipality;
use crate::db::schema::{counties, municipalities};
use crate::error::{Error, Result};
use crate::validate::Violations;

impl Registry {
    /// All 290 municipalities ordered by code, optionally only those of one county (län).
    pub async fn list_municipalities(&self, p: &Principal, county_code: Option<&str>) -> Result<Vec<Municipality>> {
        auth::authorize(p, Action::ReadPublic)?;
        if let Some(c) = county_code
            && (c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_digit()))
        {
            return Err(Error::invalid("countyCode", "format", "must be a two-digit county (län) code, e.g. 18"));
        }
        self.query_municipalities(county_code, None).await
    }

    /// One municipality by its four-digit code.
    pub async fn get_municipality(&self, p: &Principal, code: &str) -> Result<Municipality> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut v = Violations::default();
        crate::codes::check_municipality(&mut v, "code", code);
        if v.0.iter().any(|x| x.rule == "format") {
            v.finish()?;
        }
        self.query_municipalities(None, Some(code.trim())).await?.pop().ok_or_else(|| Error::not_found("municipality", code.trim()))
    }

    async fn query_municipalities(&self, county_code: Option<&str>, code: Option<&str>) -> Result<Vec<Municipality>> {
        let mut conn = self.conn().await?;
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
        let rows: Vec<(String, String, String, String)> = q.load(&mut conn).await?;
        Ok(rows.into_iter().map(|(code, name, county_code, county_name)| Municipality { code, name, county_code, county_name }).collect())
    }
}

//! Listing municipalities (read from the database, which the seed migration filled).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Registry;
use crate::auth::{self, Action, Principal};
use crate::codes::Municipality;
use crate::db::schema::{counties, municipalities};
use crate::error::{Error, Result};

impl Registry {
    /// All 290 municipalities ordered by code, optionally only those of one county.
    pub async fn list_municipalities(&self, p: &Principal, county_code: Option<&str>) -> Result<Vec<Municipality>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let mut q = municipalities::table
            .inner_join(counties::table)
            .select((municipalities::code, municipalities::name, counties::code, counties::name))
            .order(municipalities::code)
            .into_boxed();
        if let Some(c) = county_code {
            q = q.filter(counties::code.eq(c.to_string()));
        }
        let rows: Vec<(String, String, String, String)> = q.load(&mut conn).await?;
        Ok(rows.into_iter().map(|(code, name, county_code, county_name)| Municipality { code, name, county_code, county_name }).collect())
    }

    /// One municipality by its four-digit code.
    pub async fn get_municipality(&self, p: &Principal, code: &str) -> Result<Municipality> {
        let mut v = crate::validate::Violations::default();
        let code = crate::codes::check_municipality(&mut v, "code", code);
        if v.0.iter().any(|x| x.rule == "format") {
            v.finish()?;
        }
        self.list_municipalities(p, None).await?.into_iter().find(|m| m.code == code).ok_or_else(|| Error::not_found("municipality", code))
    }
}

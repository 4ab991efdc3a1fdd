//! Listing municipalities (read from the database, which the seed migration filled).

use super::Registry;
use crate::auth::{self, Action, Principal};
use crate::codes::Municipality;
use crate::db::municipalities as store;
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
        Ok(store::list(&mut conn, county_code, code).await?)
    }
}

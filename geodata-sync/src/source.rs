//! The protocol clients: OGC API - Features and WFS 2.0 GetFeature, behind one
//! [`FeatureSource`] that pages through a query and returns its features in WGS84.

use std::collections::HashSet;

use reqwest::Url;
use serde_json::Value;

use crate::config::{AxisOrder, Format, Protocol, Service};
use crate::crs::SourceCrs;
use crate::feature::{Coordinates, Feature, Page, parse_geojson};
use crate::gml::parse_gml;
use crate::http::{Client, FetchError};

/// A bounding box: two corners in the axis order of its CRS (CRS84: minLon, minLat, maxLon,
/// maxLat; EPSG:3006: minN, minE, maxN, maxE), as OGC API - Features `bbox` + `bbox-crs` take it.
#[derive(Debug, Clone, Copy)]
pub struct Bbox {
    /// The corners.
    pub corners: [f64; 4],
    /// Their CRS.
    pub crs: SourceCrs,
}

/// A query: an optional bounding box and property filters.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Bounding box.
    pub bbox: Option<Bbox>,
    /// Property equality filters.
    pub filters: Vec<(String, String)>,
}

/// A collection as the landing page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// Collection id.
    pub id: String,
    /// Title.
    pub title: String,
    /// CRSs it offers (OGC API - Features part 2), if listed.
    pub crs: Vec<String>,
}

/// One service's features, over either protocol.
pub struct FeatureSource {
    /// The HTTP client (rate limit, retries, counters).
    pub client: Client,
    protocol: Protocol,
    base: Url,
    collection: String,
    crs: SourceCrs,
    axis: AxisOrder,
    page_size: u32,
    format: Format,
}

impl FeatureSource {
    /// A source for a configured service.
    pub fn new<P>(service: &Service<P>, client: Client) -> Result<FeatureSource, FetchError> {
        let mut base = Url::parse(&service.url).map_err(|e| FetchError::Config(format!("url '{}': {e}", service.url)))?;
        if service.protocol == Protocol::Ogcapi && !base.path().ends_with('/') {
            // Relative paths (`collections/…`) resolve below the landing page.
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(FeatureSource {
            client,
            protocol: service.protocol,
            base,
            collection: service.collection.clone(),
            crs: SourceCrs::parse(&service.crs).map_err(FetchError::Config)?,
            axis: service.geojson_axis_order,
            page_size: service.page_size,
            format: service.format,
        })
    }

    /// OGC API - Features: the landing page.
    pub async fn landing_page(&self) -> Result<Value, FetchError> {
        self.json(&self.base.join("?f=json").expect("a static relative URL")).await
    }

    /// OGC API - Features: the collections.
    pub async fn collections(&self) -> Result<Vec<Collection>, FetchError> {
        let url = self.base.join("collections?f=json").expect("a static relative URL");
        let doc = self.json(&url).await?;
        let list = doc
            .get("collections")
            .and_then(Value::as_array)
            .ok_or_else(|| FetchError::Malformed { url: url.to_string(), message: "the answer has no `collections` array".into() })?;
        Ok(list
            .iter()
            .filter_map(|c| {
                Some(Collection {
                    id: c.get("id")?.as_str()?.to_string(),
                    title: c.get("title").and_then(Value::as_str).unwrap_or("").to_string(),
                    crs: c
                        .get("crs")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                        .unwrap_or_default(),
                })
            })
            .collect())
    }

    async fn json(&self, url: &Url) -> Result<Value, FetchError> {
        let body = self.client.get(url, "application/json").await?;
        serde_json::from_slice(&body.bytes)
            .map_err(|e| FetchError::Malformed { url: url.to_string(), message: format!("the answer is not JSON: {e}") })
    }

    /// The URL of the first page of `query`.
    pub fn first_url(&self, query: &Query) -> Url {
        match self.protocol {
            Protocol::Ogcapi => {
                let mut url = self.base.join(&format!("collections/{}/items", self.collection)).expect("a collection path");
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("f", "json").append_pair("limit", &self.page_size.to_string());
                    if !self.crs.crs84 {
                        q.append_pair("crs", &self.crs.uri());
                    }
                    if let Some(Bbox { corners: b, crs }) = query.bbox {
                        q.append_pair("bbox", &format!("{},{},{},{}", b[0], b[1], b[2], b[3]));
                        if !crs.crs84 {
                            q.append_pair("bbox-crs", &crs.uri());
                        }
                    }
                    for (k, v) in &query.filters {
                        q.append_pair(k, v);
                    }
                }
                url
            }
            Protocol::Wfs => self.wfs_url(query, 0),
        }
    }

    fn wfs_url(&self, query: &Query, start: u64) -> Url {
        let mut url = self.base.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("SERVICE", "WFS")
                .append_pair("VERSION", "2.0.0")
                .append_pair("REQUEST", "GetFeature")
                .append_pair("TYPENAMES", &self.collection)
                .append_pair("SRSNAME", &self.crs.urn())
                .append_pair("COUNT", &self.page_size.to_string())
                .append_pair("STARTINDEX", &start.to_string())
                .append_pair(
                    "OUTPUTFORMAT",
                    match self.format {
                        Format::Geojson => "application/json",
                        Format::Gml => "application/gml+xml; version=3.2",
                    },
                );
            // BBOX and FILTER exclude each other in WFS 2.0 KVP: with both, the box goes into the filter.
            match (query.bbox, query.filters.is_empty()) {
                (Some(Bbox { corners: b, crs }), true) => {
                    q.append_pair("BBOX", &format!("{},{},{},{},{}", b[0], b[1], b[2], b[3], crs.urn()));
                }
                (bbox, false) => {
                    q.append_pair("FILTER", &fes_filter(&query.filters, bbox));
                }
                (None, true) => {}
            }
        }
        url
    }

    /// Fetches every feature of `query`, page by page, calling `progress` with the number of
    /// features so far. Guards against `next` links that loop and against endless paging.
    pub async fn fetch_all(&self, query: &Query, mut progress: impl FnMut(usize)) -> Result<Vec<Feature>, FetchError> {
        let mut url = self.first_url(query);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut pages = 0u32;
        loop {
            if !seen.insert(url.to_string()) {
                return Err(FetchError::Paging {
                    url: url.to_string(),
                    message: "the next link points to a page already read (endless paging)".into(),
                });
            }
            pages += 1;
            if pages > self.client.max_pages() {
                return Err(FetchError::Paging {
                    url: url.to_string(),
                    message: format!("more than {} pages (client.max_pages); is the next link endless?", self.client.max_pages()),
                });
            }
            let page = self.page(&url).await?;
            let n = page.features.len();
            out.extend(page.features);
            progress(out.len());
            let next = match self.protocol {
                Protocol::Ogcapi => page.next,
                Protocol::Wfs => match page.next {
                    Some(next) => Some(next),
                    // Without a `next` attribute: the next start index while pages come full.
                    None if n as u64 >= u64::from(self.page_size) && page.number_matched.is_none_or(|m| (out.len() as u64) < m) => {
                        Some(self.wfs_url(query, out.len() as u64))
                    }
                    None => None,
                },
            };
            match next {
                Some(next) if n > 0 => url = next,
                Some(next) if page.number_matched.is_some_and(|m| (out.len() as u64) < m) => {
                    return Err(FetchError::Paging {
                        url: next.to_string(),
                        message: format!("an empty page before all {} features were read", page.number_matched.unwrap_or(0)),
                    });
                }
                _ => return Ok(out),
            }
        }
    }

    /// Fetches and reads one page.
    pub async fn page(&self, url: &Url) -> Result<Page, FetchError> {
        let (accept, gml) = match (self.protocol, self.format) {
            (Protocol::Wfs, Format::Gml) => ("application/gml+xml; version=3.2, text/xml;q=0.8", true),
            _ => ("application/geo+json, application/json;q=0.9", false),
        };
        let body = self.client.get(url, accept).await?;
        if gml {
            return parse_gml(&body.bytes, url, self.crs);
        }
        // The answer must be in the CRS asked for: coordinates in another CRS move a hall 500 km.
        if let Some(header) = &body.content_crs {
            let named = header.trim().trim_start_matches('<').trim_end_matches('>');
            let got =
                SourceCrs::parse(named).map_err(|e| FetchError::Crs { url: url.to_string(), message: format!("Content-Crs: {e}") })?;
            if !got.same(&self.crs) {
                return Err(FetchError::Crs {
                    url: url.to_string(),
                    message: format!("the answer is in {} (Content-Crs), not the {} asked for", named, self.crs.uri()),
                });
            }
        } else if self.protocol == Protocol::Ogcapi && !self.crs.crs84 {
            return Err(FetchError::Crs {
                url: url.to_string(),
                message: format!("the answer does not say its CRS (no Content-Crs header) although {} was asked for", self.crs.uri()),
            });
        }
        let xy = self.crs.crs84 || self.axis == AxisOrder::Xy;
        parse_geojson(&body.bytes, url, Coordinates { crs: self.crs, xy })
    }
}

/// A FES 2.0 filter of property equalities and an optional bounding box (AND).
fn fes_filter(filters: &[(String, String)], bbox: Option<Bbox>) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut parts: Vec<String> = filters
        .iter()
        .map(|(k, v)| {
            format!(
                "<fes:PropertyIsEqualTo><fes:ValueReference>{}</fes:ValueReference><fes:Literal>{}</fes:Literal></fes:PropertyIsEqualTo>",
                esc(k),
                esc(v)
            )
        })
        .collect();
    if let Some(Bbox { corners: b, crs }) = bbox {
        parts.push(format!(
            "<fes:BBOX><gml:Envelope xmlns:gml=\"http://www.opengis.net/gml/3.2\" srsName=\"{}\"><gml:lowerCorner>{} {}</gml:lowerCorner><gml:upperCorner>{} {}</gml:upperCorner></gml:Envelope></fes:BBOX>",
            crs.urn(),
            b[0],
            b[1],
            b[2],
            b[3]
        ));
    }
    let body = if parts.len() == 1 { parts[0].clone() } else { format!("<fes:And>{}</fes:And>", parts.join("")) };
    format!("<fes:Filter xmlns:fes=\"http://www.opengis.net/fes/2.0\">{body}</fes:Filter>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn source(protocol: &str, format: &str) -> FeatureSource {
        let c = Config::from_toml(
            &format!("[addresses]\nprotocol = \"{protocol}\"\nformat = \"{format}\"\nurl = \"http://127.0.0.1:9/ogc\"\npage_size = 2\n"),
            "t",
        )
        .unwrap();
        FeatureSource::new(&c.addresses, Client::new(&c.client, "x-api-key", None).unwrap()).unwrap()
    }

    #[test]
    fn item_urls_carry_crs_limit_and_filters() {
        let q = Query { bbox: None, filters: vec![("kommunkod".into(), "1480".into())] };
        let url = source("ogcapi", "geojson").first_url(&q);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/ogc/collections/adress/items?f=json&limit=2&crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FEPSG%2F0%2F3006&kommunkod=1480"
        );
        let url = source("wfs", "gml").first_url(&q);
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        let get = |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.clone()).unwrap();
        assert_eq!(get("REQUEST"), "GetFeature");
        assert_eq!(get("SRSNAME"), "urn:ogc:def:crs:EPSG::3006");
        assert_eq!(get("COUNT"), "2");
        assert_eq!(get("STARTINDEX"), "0");
        assert_eq!(get("OUTPUTFORMAT"), "application/gml+xml; version=3.2");
        assert!(get("FILTER").contains("<fes:ValueReference>kommunkod</fes:ValueReference><fes:Literal>1480</fes:Literal>"));

        // A box: OGC API with bbox-crs; WFS as BBOX alone, or inside the filter with properties.
        let tm = SourceCrs::parse("EPSG:3006").unwrap();
        let bbox = Some(Bbox { corners: [6_550_000.0, 500_000.0, 6_560_000.0, 510_000.0], crs: tm });
        let url = source("ogcapi", "geojson").first_url(&Query { bbox, filters: vec![] });
        assert!(
            url.as_str()
                .ends_with("&bbox=6550000%2C500000%2C6560000%2C510000&bbox-crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FEPSG%2F0%2F3006"),
            "{url}"
        );
        let url = source("wfs", "gml").first_url(&Query { bbox, filters: vec![] });
        assert!(url.query_pairs().any(|(k, v)| k == "BBOX" && v == "6550000,500000,6560000,510000,urn:ogc:def:crs:EPSG::3006"), "{url}");
        let url = source("wfs", "gml").first_url(&Query { bbox, filters: q.filters.clone() });
        let filter = url.query_pairs().find(|(k, _)| k == "FILTER").unwrap().1.into_owned();
        assert!(filter.contains("<fes:And>") && filter.contains("<gml:lowerCorner>6550000 500000</gml:lowerCorner>"), "{filter}");
        assert!(!url.query_pairs().any(|(k, _)| k == "BBOX"), "not both BBOX and FILTER");
    }
}

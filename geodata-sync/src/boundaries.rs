//! Municipality boundaries from the boundaries service into the registry, and the quality
//! checks that use them.

use registry_core::Registry;
use registry_core::service::geodata::{BoundaryInput, DuplicateRow, OutsideRow};

use crate::feature::Geometry;
use crate::source::{FeatureSource, Query};
use crate::sync::{SyncError, principal};

/// What a boundaries load did.
#[derive(Debug, Clone, Default)]
pub struct BoundaryReport {
    /// Municipalities loaded.
    pub loaded: usize,
    /// Official municipalities the service had no boundary for.
    pub missing: Vec<String>,
}

/// Why a boundaries load failed.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    /// The service failed.
    #[error(transparent)]
    Fetch(#[from] crate::http::FetchError),
    /// A feature cannot be a boundary.
    #[error("{0}")]
    Feature(String),
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] registry_core::Error),
}

/// Fetches every boundary and loads them in one transaction (all or nothing).
pub async fn load(reg: &Registry, source: &FeatureSource, code_property: &str, quiet: bool) -> Result<BoundaryReport, BoundaryError> {
    let features = source
        .fetch_all(&Query::default(), |n| {
            if !quiet {
                eprint!("\rfetched {n} boundary features");
            }
        })
        .await?;
    if !quiet {
        eprintln!();
    }
    let mut inputs = Vec::with_capacity(features.len());
    for f in &features {
        let code =
            f.text(code_property).ok_or_else(|| BoundaryError::Feature(format!("feature {} has no '{code_property}' property", f.id)))?;
        // Codes written as numbers lose their leading zero (0114 → 114).
        let code = if code.len() < 4 && code.chars().all(|c| c.is_ascii_digit()) { format!("{code:0>4}") } else { code };
        if !matches!(f.geometry, Geometry::Polygons(_)) {
            return Err(BoundaryError::Feature(format!("feature {} (municipality {code}) is not a polygon", f.id)));
        }
        inputs.push(BoundaryInput { municipality_code: code, source_feature_id: f.id.clone(), geometry: f.geometry.to_geojson() });
    }
    let source_name = source.first_url(&Query::default()).to_string();
    let loaded = reg.load_boundaries(&principal(), &source_name, &inputs).await?;
    let missing = registry_core::codes::municipalities()
        .iter()
        .filter(|m| !inputs.iter().any(|i| i.municipality_code == m.code))
        .map(|m| m.code.clone())
        .collect();
    Ok(BoundaryReport { loaded, missing })
}

/// The quality check's findings.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Municipalities with a boundary.
    pub boundaries: i64,
    /// Facilities outside their own municipality.
    pub outside: Vec<OutsideRow>,
    /// Probable duplicates across municipalities.
    pub duplicates: Vec<DuplicateRow>,
}

/// Runs both checks.
pub async fn check(reg: &Registry, tolerance_m: f64, duplicate_within_m: f64) -> Result<CheckReport, SyncError> {
    let p = principal();
    Ok(CheckReport {
        boundaries: reg.boundary_count(&p).await?,
        outside: reg.facilities_outside_municipality(&p, tolerance_m).await?,
        duplicates: reg.probable_duplicates(&p, duplicate_within_m).await?,
    })
}

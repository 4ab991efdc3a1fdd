//! The geodata-sync benchmark: a fixture of facilities and their address points, then the
//! sync against a local OGC API - Features server, compared with paging through the same
//! features with no processing, in the same run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use geodata_sync::config::Config;
use geodata_sync::source::Query;
use geodata_sync::sync::{self, SyncOptions};
use serde_json::json;
use tokio_postgres::NoTls;

use crate::world::{self, Rng};

/// Arguments of `registry-bench geodata-fixture`.
#[derive(Debug, clap::Args)]
pub struct FixtureArgs {
    /// A migrated registry database to add the facilities to.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Facilities to create, spread over the municipalities by population.
    #[arg(long, default_value_t = 100_000)]
    pub facilities: u32,
    /// Directory for `adress.geojson` (one address point per facility, plus 20 % others).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Creates the facilities (60 % without a location, 20 % 100–300 m off, 20 % within 10 m)
/// and writes their address points as GeoJSON.
pub async fn fixture(a: &FixtureArgs) -> Result<()> {
    let started = Instant::now();
    let munis = world::municipalities()?;
    let weights: Vec<u32> = munis.iter().map(|m| m.population).collect();
    let mut rng = Rng::new(a.seed);
    let (client, conn) = tokio_postgres::connect(&a.database_url, NoTls).await.context("connecting to the database")?;
    tokio::spawn(conn);
    let mut points = Vec::with_capacity(a.facilities as usize * 6 / 5);
    let mut numbers: BTreeMap<usize, u32> = BTreeMap::new();
    let chunk = 10_000usize;
    let mut rows: Vec<Row> = Vec::with_capacity(chunk);
    let offset = |lat: f64, lon: f64, north: f64, east: f64| (lat + north / 111_320.0, lon + east / (111_320.0 * lat.to_radians().cos()));
    for i in 0..a.facilities {
        let mi = rng.weighted(&weights);
        let m = &munis[mi];
        let n = numbers.entry(mi).or_insert(0);
        *n += 1;
        let number = *n;
        let postal = format!("{}", 10_000 + mi * 300 + (number as usize % 300));
        // Scattered around the main town, on land (and so inside Sweden's extent, with room
        // for the 300 m offsets below).
        let mut at = (m.lat, m.lon);
        for _ in 0..20 {
            let (lat, lon) = offset(m.lat, m.lon, rng.normal() * 4000.0, rng.normal() * 4000.0);
            if world::on_land(lon, lat) && (55.1..69.0).contains(&lat) && (11.0..24.1).contains(&lon) {
                at = (lat, lon);
                break;
            }
        }
        let (lat, lon) = at;
        let point = |id: String, number: u32, lat: f64, lon: f64| {
            json!({"type": "Feature", "id": id, "geometry": {"type": "Point", "coordinates": [lon, lat]},
                   "properties": {"kommunkod": m.code, "adressomrade": "Benchgatan", "adressplatsnummer": number.to_string(),
                                  "bokstavstillagg": "", "postnummer": postal, "postort": m.name}})
        };
        points.push(point(format!("a.{i}"), number * 2, lat, lon));
        if rng.chance(0.2) {
            points.push(point(format!("x.{i}"), number * 2 + 1, lat + 0.001, lon));
        }
        let r = rng.f64();
        let (north, east) = (rng.normal(), rng.normal());
        let norm = (north * north + east * east).sqrt().max(1e-9);
        let location = if r < 0.6 {
            None
        } else if r < 0.8 {
            let d = 100.0 + rng.f64() * 200.0;
            Some(offset(lat, lon, north / norm * d, east / norm * d))
        } else {
            let d = rng.f64() * 10.0;
            Some(offset(lat, lon, north / norm * d, east / norm * d))
        };
        rows.push((
            uuid::Uuid::now_v7(),
            m.code.clone(),
            format!("Benchhall {i}"),
            format!("Benchgatan {}", number * 2),
            postal.clone(),
            m.name.clone(),
            location,
        ));
        if rows.len() == chunk || i + 1 == a.facilities {
            insert(&client, &rows).await?;
            rows.clear();
        }
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let path = a.out.join("adress.geojson");
    std::fs::write(&path, serde_json::to_vec(&json!({"type": "FeatureCollection", "features": points}))?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "fixture: {} facilities in {} municipalities, {} address points in {}, {:.1} s",
        a.facilities,
        numbers.len(),
        points.len(),
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

type Row = (uuid::Uuid, String, String, String, String, String, Option<(f64, f64)>);

async fn insert(client: &tokio_postgres::Client, rows: &[Row]) -> Result<()> {
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.0).collect();
    let codes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let streets: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
    let postals: Vec<&str> = rows.iter().map(|r| r.4.as_str()).collect();
    let towns: Vec<&str> = rows.iter().map(|r| r.5.as_str()).collect();
    let lats: Vec<Option<f64>> = rows.iter().map(|r| r.6.map(|p| p.0)).collect();
    let lons: Vec<Option<f64>> = rows.iter().map(|r| r.6.map(|p| p.1)).collect();
    client
        .execute(
            "INSERT INTO facilities (id, municipality_code, name, category, ownership, street, postal_code, locality, location)
             SELECT id, code, name, 'sports_hall', 'municipal', street, postal, town,
                    CASE WHEN lat IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography END
               FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[])
                    AS t(id, code, name, street, postal, town, lat, lon)",
            &[&ids, &codes, &names, &streets, &postals, &towns, &lats, &lons],
        )
        .await
        .context("inserting facilities")?;
    Ok(())
}

/// Arguments of `registry-bench geodata`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The registry database holding the fixture.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// The OGC API - Features landing page serving `adress`.
    #[arg(long)]
    pub url: String,
    /// Features per page.
    #[arg(long, default_value_t = 1000)]
    pub page_size: u32,
}

/// Pages through every municipality's address points with no processing, then runs the
/// sync twice (the second changes nothing), printing times and rates.
pub async fn sync_bench(a: &SyncArgs) -> Result<()> {
    let toml = format!(
        "[addresses]\nurl = \"{}\"\ncollection = \"adress\"\ncrs = \"EPSG:3006\"\ngeojson_axis_order = \"authority\"\npage_size = {}\n\
         [client]\nrequests_per_second = 100000\nmax_concurrency = 4\ntimeout_seconds = 120\n",
        a.url, a.page_size
    );
    let config = Config::from_toml(&toml, "bench")?;
    let reg = registry_core::Registry::connect(&a.database_url, 6)?;
    let (client, conn) = tokio_postgres::connect(&a.database_url, NoTls).await.context("connecting to the database")?;
    tokio::spawn(conn);
    let codes: Vec<String> = client
        .query("SELECT DISTINCT municipality_code FROM facilities WHERE deleted_at IS NULL ORDER BY 1", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let facilities: i64 = client.query_one("SELECT count(*) FROM facilities WHERE deleted_at IS NULL", &[]).await?.get(0);

    // 1. The floor: the same queries (per municipality, 4 at a time), features read, nothing else.
    let source = Arc::new(geodata_sync::open_source(&config.addresses, &config.client)?);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut pending = codes.clone();
    let mut features = 0usize;
    let spawn = |set: &mut tokio::task::JoinSet<_>, code: String| {
        let s = source.clone();
        set.spawn(
            async move { s.fetch_all(&Query { bbox: None, filters: vec![("kommunkod".into(), code)] }, |_| {}).await.map(|f| f.len()) },
        );
    };
    for _ in 0..4 {
        if let Some(c) = pending.pop() {
            spawn(&mut set, c);
        }
    }
    while let Some(r) = set.join_next().await {
        features += r??;
        if let Some(c) = pending.pop() {
            spawn(&mut set, c);
        }
    }
    let raw = started.elapsed().as_secs_f64();
    let requests = source.client.stats.requests.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "raw paging: {features} address points of {} municipalities in {requests} requests, {raw:.1} s ({:.0} features/s)",
        codes.len(),
        features as f64 / raw
    );

    // 2. The sync.
    let opts = SyncOptions { municipality: None, dry_run: false, threshold_m: config.sync.move_threshold_m, quiet: true };
    let mut times = Vec::new();
    for pass in ["first sync", "second sync (changes nothing)"] {
        let source = Arc::new(geodata_sync::open_source(&config.addresses, &config.client)?);
        let started = Instant::now();
        let (summary, _) = sync::run(&reg, source, &config.addresses.properties, "kommunkod", &opts).await?;
        let secs = started.elapsed().as_secs_f64();
        println!("{pass}: {facilities} facilities in {secs:.1} s ({:.0} facilities/s); {}", facilities as f64 / secs, summary.render());
        println!(
            "  where the time goes: fetching and reading {} address points {:.1} s (summed over 4 parallel fetches), matching {:.2} s, registry writes and checkpoints {:.1} s",
            summary.points, summary.fetch_seconds, summary.match_seconds, summary.write_seconds
        );
        times.push(secs);
    }
    println!("sync / raw paging: first {:.2}x, second {:.2}x", times[0] / raw, times[1] / raw);
    Ok(())
}

//! The transforms against PROJ's `cs2cs` (Debian `proj-bin`, installed by
//! `scripts/install-deps.sh`): 10,000 random points spanning Sweden, both directions, SWEREF 99
//! TM and every local zone; RT 90 against PROJ's default datum shift; the command-line filter
//! end to end; its errors for bad input.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(program: &str, args: &[&str], input: &str) -> (bool, String, String) {
    let mut child =
        Command::new(program).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); PROJ's cs2cs comes with Debian's proj-bin, which scripts/install-deps.sh installs")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn pairs(text: &str) -> Vec<(f64, f64)> {
    text.lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|x| x.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect()
}

struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Error in metres between two geographic positions (degrees), or two grid positions.
fn metres(geographic: bool, a: (f64, f64), b: (f64, f64)) -> f64 {
    if geographic {
        let dn = (a.0 - b.0) * 111_320.0;
        let de = (a.1 - b.1) * 111_320.0 * a.0.to_radians().cos();
        dn.hypot(de)
    } else {
        (a.0 - b.0).hypot(a.1 - b.1)
    }
}

#[test]
fn agrees_with_proj_within_a_millimetre() {
    let ours = env!("CARGO_BIN_EXE_geodata-sync");
    let mut rng = Rng(42);
    let mut zones: Vec<(u32, f64)> = vec![(3006, 15.0)];
    zones.extend([(3007, 12.0), (3008, 13.5), (3009, 15.0), (3010, 16.5), (3011, 18.0), (3012, 14.25)]);
    zones.extend([(3013, 15.75), (3014, 17.25), (3015, 18.75), (3016, 20.25), (3017, 21.75), (3018, 23.25)]);
    let mut worst = 0.0f64;
    for (epsg, lon0) in zones {
        // SWEREF 99 TM over all of Sweden's extent; a local zone over its own band and more.
        let (n, half_width) = if epsg == 3006 { (10_000, None) } else { (1_000, Some(2.5)) };
        let mut input = String::new();
        for _ in 0..n {
            let lat = 55.2 + rng.unit() * 13.9;
            let lon = match half_width {
                None => 10.95 + rng.unit() * 13.2,
                Some(w) => lon0 - w + rng.unit() * 2.0 * w,
            };
            input.push_str(&format!("{lat:.9} {lon:.9}\n"));
        }
        let crs = format!("EPSG:{epsg}");
        let (ok, mine, err) = run(ours, &["transform", "--from", "EPSG:4326", "--to", &crs], &input);
        assert!(ok, "{err}");
        let (ok, proj, err) = run("cs2cs", &["-f", "%.6f", "EPSG:4326", &crs], &input);
        assert!(ok, "{err}");
        for (i, (a, b)) in pairs(&mine).iter().zip(pairs(&proj)).enumerate() {
            let e = metres(false, *a, b);
            assert!(e <= 0.001, "{crs} point {i}: ours {a:?}, PROJ {b:?}, {e} m apart");
            worst = worst.max(e);
        }
        // And back: grid to geographic, from PROJ's grid coordinates.
        let (ok, back, err) = run(ours, &["transform", "--from", &crs, "--to", "EPSG:4326"], &proj);
        assert!(ok, "{err}");
        let (ok, proj_back, err) = run("cs2cs", &["-f", "%.10f", &crs, "EPSG:4326"], &proj);
        assert!(ok, "{err}");
        for (i, (a, b)) in pairs(&back).iter().zip(pairs(&proj_back)).enumerate() {
            let e = metres(true, *a, b);
            assert!(e <= 0.001, "{crs} inverse point {i}: ours {a:?}, PROJ {b:?}, {e} m apart");
            worst = worst.max(e);
        }
    }
    eprintln!("largest difference from PROJ: {:.3} mm", worst * 1000.0);
}

/// RT 90 2.5 gon V to WGS84 and to SWEREF 99 TM agrees with PROJ's default transformation
/// (the same method: Bessel 1841 projection and a seven-parameter Helmert shift) within 0.1 m.
#[test]
fn rt90_agrees_with_projs_default_transformation() {
    let ours = env!("CARGO_BIN_EXE_geodata-sync");
    let mut rng = Rng(7);
    let mut geo = String::new();
    for _ in 0..3_000 {
        geo.push_str(&format!("{:.9} {:.9}\n", 55.3 + rng.unit() * 13.7, 11.2 + rng.unit() * 12.8));
    }
    // RT 90 grid points spread over Sweden (made by PROJ from WGS84 ones).
    let (ok, rt90, err) = run("cs2cs", &["-f", "%.4f", "EPSG:4326", "EPSG:3021"], &geo);
    assert!(ok, "{err}");
    let rt90: String = pairs(&rt90).iter().map(|(n, e)| format!("{n:.4} {e:.4}\n")).collect();
    let mut worst = 0.0f64;
    for (to, geographic) in [("EPSG:4326", true), ("EPSG:3006", false)] {
        let (ok, mine, err) = run(ours, &["transform", "--from", "EPSG:3021", "--to", to], &rt90);
        assert!(ok, "{err}");
        let (ok, proj, err) = run("cs2cs", &["-f", "%.10f", "EPSG:3021", to], &rt90);
        assert!(ok, "{err}");
        let (mine, proj) = (pairs(&mine), pairs(&proj));
        assert_eq!(mine.len(), 3_000);
        for (i, (a, b)) in mine.iter().zip(&proj).enumerate() {
            let e = metres(geographic, *a, *b);
            assert!(e <= 0.1, "RT 90 to {to}, point {i}: ours {a:?}, PROJ {b:?}, {e} m apart");
            worst = worst.max(e);
        }
    }
    eprintln!("RT 90: largest difference from PROJ: {:.3} mm", worst * 1000.0);
}

#[test]
fn the_filter_names_the_bad_line() {
    let ours = env!("CARGO_BIN_EXE_geodata-sync");
    let (ok, out, _) =
        run(ours, &["transform", "--from", "EPSG:3006", "--to", "EPSG:4326"], "6580824.5756 674647.8821 kungsträdgården\n\n");
    assert!(ok);
    assert_eq!(out, "59.330000000 18.069999999 kungsträdgården\n\n");
    for (input, says) in [
        ("6580824 674647\n6580824 east\n", "line 2: easting \"east\" is not a number"),
        ("6580824\n", "line 1: expected two numbers (northing easting for EPSG:3006 (SWEREF 99 TM))"),
        ("NaN 1\n", "line 1: coordinates must be finite"),
    ] {
        let (ok, _, err) = run(ours, &["transform", "--from", "EPSG:3006", "--to", "EPSG:4326"], input);
        assert!(!ok && err.contains(says), "{input:?}: {err}");
    }
    let (ok, _, err) = run(ours, &["transform", "--from", "EPSG:4326", "--to", "EPSG:3006"], "95.0 18.07\n");
    assert!(!ok && err.contains("line 1: latitude 95 or longitude 18.07 is out of range"), "{err}");
    let (ok, _, err) = run(ours, &["transform", "--from", "EPSG:2400", "--to", "EPSG:4326"], "");
    assert!(!ok && err.contains("--from: EPSG:2400 is not supported"), "{err}");
    let (ok, _, err) = run(ours, &["transform", "--from", "EPSG:4326", "--to", "EPSG:3021"], "");
    assert!(!ok && err.contains("--to: EPSG:3021 (RT 90) is supported as a source only"), "{err}");
}

/// `--xy` puts easting/longitude first on both sides, as `cs2cs -r -s` does.
#[test]
fn xy_order_matches_cs2cs_reversed_axes() {
    let ours = env!("CARGO_BIN_EXE_geodata-sync");
    let input = "18.07 59.33\n12.5 56.1\n23.9 65.8\n";
    let (ok, out, err) = run(ours, &["transform", "--xy", "--from", "EPSG:4326", "--to", "EPSG:3006"], input);
    assert!(ok, "{err}");
    let (ok, proj, err) = run("cs2cs", &["-r", "-s", "-f", "%.4f", "EPSG:4326", "EPSG:3006"], input);
    assert!(ok, "{err}");
    let ours = pairs(&out);
    let theirs = pairs(&proj);
    assert_eq!(ours.len(), 3);
    for (a, b) in ours.iter().zip(&theirs) {
        assert!(metres(false, *a, *b) <= 0.001, "{a:?} vs {b:?}");
        assert!(a.0 < a.1, "easting first: {a:?}");
    }
}

//! The vendor.v1 clients of the directory's vendors, built once and kept: a client is rebuilt
//! only when what reaches the vendor changes, its entry in the directory (a new version) or
//! its credential (the API key's variable, the client certificate's files), so no request
//! reads the environment or the credential files. The files are looked at again at most every
//! `recheck`, which is how a rotated certificate is picked up without a restart.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use registry_core::model::{VendorAuth, VendorInput};
use uuid::Uuid;

use crate::grpc::{Connection, GrpcVendor};

/// Where the registry's credentials for vendors are: the API key in the environment variable
/// that `credential_ref` names, or the client certificate and key in
/// `{dir}/{credential_ref}/client.{crt,key}`.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The folder of the client certificates (`REGISTRY_VENDOR_CREDENTIALS`).
    pub dir: PathBuf,
}

/// Where the Helm chart mounts the client certificates.
pub const DEFAULT_CREDENTIALS_DIR: &str = "/etc/registry/vendors";

impl Default for Credentials {
    fn default() -> Self {
        Credentials { dir: PathBuf::from(DEFAULT_CREDENTIALS_DIR) }
    }
}

impl Credentials {
    /// How the registry reaches a vendor: endpoint, CA, and the credential found where
    /// `credential_ref` says.
    pub fn connection(&self, v: &VendorInput) -> Result<Connection, String> {
        let mut c = Connection { endpoint: v.endpoint.trim().to_string(), ca_pem: v.ca_pem.clone(), ..Default::default() };
        match (v.auth, v.credential_ref.as_deref()) {
            (VendorAuth::ApiKey, Some(var)) => {
                c.api_key = Some(std::env::var(var).map_err(|_| format!("the API key variable {var} is not set"))?);
            }
            (VendorAuth::Mtls, Some(name)) => {
                let dir = self.dir.join(name);
                let read = |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()));
                c.client_identity = Some((read("client.crt")?, read("client.key")?));
            }
            _ => {}
        }
        Ok(c)
    }
}

/// A digest of everything in a connection, to notice a change without keeping the secrets
/// twice (not a cryptographic hash: it only has to tell two versions apart).
fn fingerprint(c: &Connection) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&c.endpoint, &c.ca_pem, &c.client_identity, &c.api_key, &c.server_name).hash(&mut h);
    h.finish()
}

struct Entry {
    version: i64,
    fingerprint: u64,
    checked: Instant,
    client: GrpcVendor,
}

/// The clients of the vendors, by vendor id.
pub struct Clients {
    credentials: Credentials,
    recheck: Duration,
    entries: Mutex<HashMap<Uuid, Entry>>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No credentials: only where they are and how many clients are kept.
        let kept = self.entries.lock().map(|e| e.len()).unwrap_or_default();
        f.debug_struct("Clients").field("credentials", &self.credentials).field("recheck", &self.recheck).field("kept", &kept).finish()
    }
}

/// How often a vendor's credential files are looked at again by default.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(30);

impl Clients {
    /// No clients yet; credentials from `credentials`, looked at again every `recheck`.
    pub fn new(credentials: Credentials, recheck: Duration) -> Clients {
        Clients { credentials, recheck, entries: Mutex::new(HashMap::new()) }
    }

    /// Where the credentials are.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The client of vendor `id` at directory version `version`, and the fingerprint of its
    /// connection (it changes whenever the client is rebuilt for a changed credential).
    pub fn get(&self, id: Uuid, version: i64, input: &VendorInput) -> Result<(GrpcVendor, u64), String> {
        {
            let entries = self.entries.lock().expect("never poisoned");
            if let Some(e) = entries.get(&id)
                && e.version == version
                && e.checked.elapsed() < self.recheck
            {
                return Ok((e.client.clone(), e.fingerprint));
            }
        }
        // Read outside the lock: the files may be slow, other vendors need not wait.
        let c = self.credentials.connection(input)?;
        let fp = fingerprint(&c);
        let mut entries = self.entries.lock().expect("never poisoned");
        if let Some(e) = entries.get_mut(&id)
            && e.version == version
            && e.fingerprint == fp
        {
            e.checked = Instant::now();
            return Ok((e.client.clone(), fp));
        }
        let client = GrpcVendor::connect_lazy(&c).map_err(|e| e.to_string())?;
        tracing::info!(vendor = %id, version, "vendor client built");
        entries.insert(id, Entry { version, fingerprint: fp, checked: Instant::now(), client: client.clone() });
        Ok((client, fp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry_core::model::VendorProtocol;

    fn input(auth: VendorAuth, credential_ref: Option<&str>, endpoint: &str) -> VendorInput {
        VendorInput {
            name: "Bokningsbolaget".into(),
            endpoint: endpoint.into(),
            protocol: VendorProtocol::Grpc,
            auth,
            credential_ref: credential_ref.map(str::to_string),
            ca_pem: None,
            max_concurrency: None,
            requests_per_second: None,
            municipality_codes: vec!["0180".into()],
            test_units: vec![],
        }
    }

    // Building a client needs a runtime (its connection is started lazily on it).
    #[tokio::test]
    async fn a_client_is_kept_until_the_vendor_or_its_credential_changes() {
        let clients = Clients::new(Credentials::default(), Duration::from_secs(3600));
        let id = Uuid::now_v7();
        let v = input(VendorAuth::None, None, "http://127.0.0.1:9");
        let (_, first) = clients.get(id, 1, &v).unwrap();
        // Within the recheck interval the entry is used as it is, even for another input: only
        // a new version of the directory's entry makes it look again.
        let moved = input(VendorAuth::None, None, "http://127.0.0.1:10");
        assert_eq!(clients.get(id, 1, &moved).unwrap().1, first, "kept");
        assert_ne!(clients.get(id, 2, &moved).unwrap().1, first, "a new version with another endpoint: rebuilt");
        // A credential that cannot be found is the vendor's problem, named.
        let missing = input(VendorAuth::ApiKey, Some("REGISTRY_TEST_NO_SUCH_VARIABLE"), "https://127.0.0.1:9");
        let Err(why) = clients.get(id, 3, &missing) else { panic!("a missing API key variable builds no client") };
        assert!(why.contains("REGISTRY_TEST_NO_SUCH_VARIABLE"), "{why}");
    }

    #[test]
    fn a_rotated_client_certificate_changes_the_fingerprint() {
        let dir = std::env::temp_dir().join(format!("registry-credentials-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(dir.join("kalmar")).unwrap();
        let write = |crt: &str| {
            std::fs::write(dir.join("kalmar/client.crt"), crt).unwrap();
            std::fs::write(dir.join("kalmar/client.key"), "key").unwrap();
        };
        let credentials = Credentials { dir: dir.clone() };
        let v = input(VendorAuth::Mtls, Some("kalmar"), "https://127.0.0.1:9");
        write("first certificate");
        let before = fingerprint(&credentials.connection(&v).unwrap());
        assert_eq!(fingerprint(&credentials.connection(&v).unwrap()), before, "the same files, the same fingerprint");
        write("second certificate");
        assert_ne!(fingerprint(&credentials.connection(&v).unwrap()), before, "rotated");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

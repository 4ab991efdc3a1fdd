//! Signed webhooks: every booking state change, from the outbox, to each configured receiver
//! (lock and finance systems). At least once, in order: a receiver gets event N+1 only after
//! it accepted event N, so a booking's events arrive in the order they happened. A failed
//! delivery is retried with exponential backoff; what was delivered is recorded in the
//! database, so a restart loses nothing.
//!
//! Each POST carries the event as JSON and `X-Signature-256: sha256=<hex>`, the HMAC-SHA256 of
//! the body under the receiver's secret, plus `X-Event-Id` (the outbox sequence number, for
//! de-duplication) and `X-Event-Type` (e.g. `booking.confirmed`).

use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Int4, Jsonb, Text};
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};

use crate::db::Pool;
use crate::error::Result;

/// A receiver: its name, URL and secret.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Stable name (deliveries are recorded under it).
    pub name: String,
    /// Where events are POSTed.
    pub url: String,
    /// The HMAC key.
    pub secret: String,
}

impl Receiver {
    /// Parses `name=url,name=url`, all signed with `secret`.
    pub fn parse_all(s: &str, secret: &str) -> std::result::Result<Vec<Receiver>, String> {
        let mut out = Vec::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, url) = pair.split_once('=').ok_or_else(|| format!("'{pair}' is not name=url"))?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!("the URL of '{name}' is not http(s)"));
            }
            if secret.len() < 16 {
                return Err("the webhook secret is shorter than 16 characters".into());
            }
            out.push(Receiver { name: name.into(), url: url.into(), secret: secret.into() });
        }
        Ok(out)
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`, as lowercase hex.
pub fn sign(key: &[u8], msg: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    let outer = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    event: String,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
}

async fn pending(pool: &Pool, receiver: &str, limit: i64) -> Result<Vec<Pending>> {
    let mut conn = pool.get().await?;
    Ok(diesel::sql_query(
        "SELECT o.seq, o.event, o.payload FROM outbox o
          WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.receiver = $1 AND d.seq = o.seq)
          ORDER BY o.seq LIMIT $2",
    )
    .bind::<Text, _>(receiver)
    .bind::<BigInt, _>(limit)
    .load(&mut conn)
    .await?)
}

async fn delivered(pool: &Pool, receiver: &str, seq: i64, attempts: i32) -> Result<()> {
    let mut conn = pool.get().await?;
    diesel::sql_query("INSERT INTO webhook_deliveries (receiver, seq, attempts) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind::<Text, _>(receiver)
        .bind::<BigInt, _>(seq)
        .bind::<Int4, _>(attempts)
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// How deliveries are paced.
#[derive(Debug, Clone)]
pub struct Pacing {
    /// How often the outbox is read when there is nothing to send.
    pub poll: Duration,
    /// The first retry's delay; doubled per failure up to `max_backoff`.
    pub first_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing { poll: Duration::from_secs(1), first_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(300) }
    }
}

/// Delivers the outbox to `receiver` until the task is dropped.
pub async fn deliver(pool: Pool, receiver: Receiver, pacing: Pacing) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    loop {
        let batch = match pending(&pool, &receiver.name, 100).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(receiver = %receiver.name, error = %e, "webhooks: cannot read the outbox");
                tokio::time::sleep(pacing.poll).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::time::sleep(pacing.poll).await;
            continue;
        }
        for p in batch {
            let body = serde_json::json!({"id": p.seq, "type": p.event, "data": p.payload}).to_string();
            let signature = format!("sha256={}", sign(receiver.secret.as_bytes(), body.as_bytes()));
            let mut attempts = 0;
            let mut backoff = pacing.first_backoff;
            loop {
                attempts += 1;
                let sent = http
                    .post(&receiver.url)
                    .header("content-type", "application/json")
                    .header("x-signature-256", &signature)
                    .header("x-event-id", p.seq.to_string())
                    .header("x-event-type", &p.event)
                    .body(body.clone())
                    .send()
                    .await;
                let why = match sent {
                    Ok(r) if r.status().is_success() => break,
                    Ok(r) => format!("HTTP {}", r.status()),
                    Err(e) => e.to_string(),
                };
                tracing::warn!(receiver = %receiver.name, seq = p.seq, attempts, %why, "webhooks: delivery failed; retrying");
                // Full jitter keeps many backends from retrying in step.
                let mut b = [0u8; 2];
                let _ = getrandom::fill(&mut b);
                let jitter = f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX);
                tokio::time::sleep(backoff.mul_f64(0.5 + jitter / 2.0)).await;
                backoff = (backoff * 2).min(pacing.max_backoff);
            }
            if let Err(e) = delivered(&pool, &receiver.name, p.seq, attempts).await {
                // Sent but not recorded: it is sent again later (at least once).
                tracing::warn!(receiver = %receiver.name, seq = p.seq, error = %e, "webhooks: delivery not recorded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2.
    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Case 6: a key longer than the block.
        assert_eq!(
            sign(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}

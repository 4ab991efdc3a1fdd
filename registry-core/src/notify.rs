//! Notices: what the registry tells people and associations (issue 27, part 4), through
//! channels. A notice is written to the `notices` outbox in the transaction of the change it
//! tells of ([`enqueue`]), and delivered at least once by [`deliver_due`], which the server
//! runs now and then: a failed delivery is retried with exponential backoff, nothing is lost
//! across a restart, and a retry carries the same Message-ID (the notice's id) so that the
//! receiver sees one message. E-mail over SMTP is the first channel; Mina meddelanden (the
//! national digital mailbox) is the next one, behind the same [`Channel`] trait
//! (docs/notifications.md).

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::Pool;
use crate::db::notices as store;
use crate::error::Result;

/// What a notice tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A municipality decided an association's registration (approved, rejected, asked for completion).
    RegistrationDecided,
}

impl Kind {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RegistrationDecided => "registration_decided",
        }
    }

    /// The kind of a stored code.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "registration_decided" => Some(Kind::RegistrationDecided),
            _ => None,
        }
    }
}

/// A notice ready for a channel: whom, the subject and the text (Swedish, then English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The notice's id; the Message-ID's local part.
    pub id: Uuid,
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Why a delivery failed: `permanent` failures (a refused recipient) are not retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    /// What went wrong (no personal data: never the recipient).
    pub reason: String,
    /// Whether trying again cannot help.
    pub permanent: bool,
}

/// A way to reach people: e-mail (SMTP) now, Mina meddelanden next.
pub trait Channel: Send + Sync {
    /// Delivers one message; an error says whether to try again.
    fn deliver(&self, message: &Message) -> impl std::future::Future<Output = std::result::Result<(), DeliveryError>> + Send;
}

/// How deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Wait after the first failure; doubled after each next one.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts before a notice is given up (recorded as failed, never sent).
    pub max_attempts: i32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::seconds(30), max: Duration::hours(1), max_attempts: 48 }
    }
}

impl Backoff {
    /// The wait after `attempts` failed attempts.
    pub fn after(&self, attempts: i32) -> Duration {
        let factor = 1i64 << attempts.clamp(1, 30).saturating_sub(1);
        let wait = self.first.num_milliseconds().saturating_mul(factor);
        Duration::milliseconds(wait.min(self.max.num_milliseconds()))
    }
}

/// Writes a notice to the outbox in the caller's transaction; it goes out once that commits.
pub async fn enqueue(conn: &mut AsyncPgConnection, kind: Kind, to: &str, data: serde_json::Value, now: DateTime<Utc>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    store::insert(conn, id, kind.as_str(), to, &data, now).await?;
    Ok(id)
}

/// The subject and text of a notice from its stored fields, Swedish first, then English.
pub fn render(kind: Kind, data: &serde_json::Value) -> (String, String) {
    let field = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    match kind {
        Kind::RegistrationDecided => {
            let (association, municipality, message) = (field("association"), field("municipality"), field("message"));
            let (sv, en) = match field("decision").as_str() {
                "approved" => (
                    format!("{municipality} har godkänt registreringen av {association}."),
                    format!("{municipality} has approved the registration of {association}."),
                ),
                "rejected" => (
                    format!("{municipality} har avslagit registreringen av {association}."),
                    format!("{municipality} has rejected the registration of {association}."),
                ),
                _ => (
                    format!("{municipality} ber {association} komplettera sin registrering."),
                    format!("{municipality} asks {association} to complete its registration."),
                ),
            };
            let quoted = |label: &str| if message.is_empty() { String::new() } else { format!("\n\n{label}:\n{message}") };
            let subject = format!("Föreningsregistrering / Association registration: {association}");
            let body = format!(
                "{sv}{}\n\nLogga in och se ärendet under Mina föreningar.\n\n---\n\n{en}{}\n\nSign in and see it under My associations.\n",
                quoted("Meddelande"),
                quoted("Message")
            );
            (subject, body)
        }
    }
}

/// Delivers the notices that are due, at most `limit`, through `channel`; returns how many
/// went out. Each is claimed for `lease` first (so that two servers never send one notice at
/// once), then marked sent (its recipient and fields cleared), or failed with its next attempt.
pub async fn deliver_due(pool: &Pool, channel: &impl Channel, backoff: &Backoff, now: DateTime<Utc>, limit: i64) -> Result<usize> {
    let lease = Duration::minutes(5);
    let claimed = store::claim_due(&mut *pool.get().await?, now, now + lease, limit).await?;
    let mut sent = 0;
    for n in claimed {
        let Some(kind) = Kind::parse(&n.kind) else { continue };
        let (subject, body) = render(kind, &n.data);
        let message = Message { id: n.id, to: n.recipient.clone(), subject, body };
        let outcome = channel.deliver(&message).await;
        let mut conn = pool.get().await?;
        match outcome {
            Ok(()) => {
                store::mark_sent(&mut conn, n.id, now).await?;
                sent += 1;
            }
            Err(e) => {
                let attempts = n.attempts + 1;
                let give_up = e.permanent || attempts >= backoff.max_attempts;
                let next = if give_up { None } else { Some(now + backoff.after(attempts)) };
                tracing::warn!(notice = %n.id, attempts, permanent = e.permanent, reason = %e.reason, "a notice was not delivered");
                store::mark_failed(&mut conn, n.id, attempts, next, &e.reason).await?;
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let b = Backoff { first: Duration::seconds(10), max: Duration::minutes(1), max_attempts: 5 };
        let waits: Vec<i64> = (1..=5).map(|a| b.after(a).num_seconds()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
    }

    #[test]
    fn decisions_read_in_swedish_and_english_with_the_message() {
        let data = serde_json::json!({
            "association": "Kumla IBK", "municipality": "Kumla", "decision": "needs_completion", "message": "Skicka stadgarna"
        });
        let (subject, body) = render(Kind::RegistrationDecided, &data);
        assert!(subject.contains("Kumla IBK"));
        assert!(body.starts_with("Kumla ber Kumla IBK komplettera"));
        assert!(body.contains("Meddelande:\nSkicka stadgarna") && body.contains("Message:\nSkicka stadgarna"));
        assert!(body.contains("asks Kumla IBK to complete"));
        let (_, approved) =
            render(Kind::RegistrationDecided, &serde_json::json!({"association": "A", "municipality": "M", "decision": "approved"}));
        assert!(approved.contains("har godkänt") && !approved.contains("Meddelande"));
    }
}

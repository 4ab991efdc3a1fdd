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
    /// A step of a booking made through the registry: made (confirmed or request received),
    /// decided (approved or rejected), completion asked, cancelled, moved.
    BookingUpdate,
    /// A reminder before a booking's start (its owner can turn reminders off).
    BookingReminder,
    /// A step of an association's grant application: completion asked, approved, rejected.
    GrantUpdate,
}

impl Kind {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RegistrationDecided => "registration_decided",
            Kind::BookingUpdate => "booking_update",
            Kind::BookingReminder => "booking_reminder",
            Kind::GrantUpdate => "grant_update",
        }
    }

    /// The kind of a stored code.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "registration_decided" => Some(Kind::RegistrationDecided),
            "booking_update" => Some(Kind::BookingUpdate),
            "booking_reminder" => Some(Kind::BookingReminder),
            "grant_update" => Some(Kind::GrantUpdate),
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
        Kind::GrantUpdate => {
            let (association, programme, municipality, message) =
                (field("association"), field("programme"), field("municipality"), field("message"));
            let amount = data.get("amountMinor").and_then(|v| v.as_i64()).unwrap_or(0);
            let kronor = format!("{},{:02} kr", amount / 100, amount % 100);
            let (sv, en) = match field("event").as_str() {
                "approved" => (
                    format!("{municipality} har beviljat {association} {kronor} i {programme}."),
                    format!("{municipality} has granted {association} SEK {kronor} in {programme}."),
                ),
                "rejected" => (
                    format!("{municipality} har avslagit {association}s ansökan i {programme}."),
                    format!("{municipality} has rejected the application of {association} in {programme}."),
                ),
                _ => (
                    format!("{municipality} ber {association} komplettera sin ansökan i {programme}."),
                    format!("{municipality} asks {association} to complete its application in {programme}."),
                ),
            };
            let quoted = |label: &str| if message.is_empty() { String::new() } else { format!("\n\n{label}:\n{message}") };
            let subject = format!("Föreningsbidrag / Grant: {programme}");
            let body = format!(
                "{sv}{}\n\nLogga in och se ärendet under Föreningsbidrag.\n\n---\n\n{en}{}\n\nSign in and see it under Grants.\n",
                quoted("Motivering"),
                quoted("Reasons")
            );
            (subject, body)
        }
        Kind::BookingUpdate | Kind::BookingReminder => {
            let (unit, facility, message) = (field("unit"), field("facility"), field("message"));
            let when = data
                .get("start")
                .and_then(|v| v.as_str())
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono_tz::Europe::Stockholm).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let what = format!("{unit}, {facility}, {when}");
            let (sv, en) = match (kind, field("event").as_str()) {
                (Kind::BookingReminder, _) => (format!("Påminnelse: du har bokat {what}."), format!("Reminder: you have booked {what}.")),
                (_, "confirmed") => (format!("Din bokning är bekräftad: {what}."), format!("Your booking is confirmed: {what}.")),
                (_, "request_received") => (
                    format!("Din bokningsförfrågan har tagits emot: {what}. Kommunens handläggare beslutar om den."),
                    format!("Your booking request has been received: {what}. The municipality's case officer decides on it."),
                ),
                (_, "approved") => {
                    (format!("Din bokningsförfrågan är beviljad: {what}."), format!("Your booking request is approved: {what}."))
                }
                (_, "rejected") => {
                    (format!("Din bokningsförfrågan är avslagen: {what}."), format!("Your booking request is rejected: {what}."))
                }
                (_, "completion_asked") => (
                    format!("Handläggaren ber dig komplettera din bokningsförfrågan: {what}."),
                    format!("The case officer asks you to complete your booking request: {what}."),
                ),
                (_, "moved") => (format!("Din bokning är flyttad till {what}."), format!("Your booking is moved to {what}.")),
                _ => (format!("Din bokning är avbokad: {what}."), format!("Your booking is cancelled: {what}.")),
            };
            let quoted = |label: &str| if message.is_empty() { String::new() } else { format!("\n\n{label}:\n{message}") };
            let subject = format!("Bokning / Booking: {what}");
            let off = if kind == Kind::BookingReminder {
                ("\nDu kan stänga av påminnelser för bokningen där.", "\nYou can turn reminders off for the booking there.")
            } else {
                ("", "")
            };
            let body = format!(
                "{sv}{}\n\nLogga in och se bokningen under Mina bokningar.{}\n\n---\n\n{en}{}\n\nSign in and see the booking under My bookings.{}\n",
                quoted("Meddelande"),
                off.0,
                quoted("Message"),
                off.1
            );
            (subject, body)
        }
    }
}

/// Deliveries in flight at once: a mail server takes several connections from one client, and
/// each message waits on the network more than on either end.
pub const PARALLEL: usize = 8;

/// Delivers the notices that are due, at most `limit`, through `channel`, [`PARALLEL`] at a
/// time; returns how many went out. Each is claimed for `lease` first (so that two servers never
/// send one notice at once), then marked sent (its recipient and fields cleared), or failed
/// with its next attempt.
pub async fn deliver_due(pool: &Pool, channel: &impl Channel, backoff: &Backoff, now: DateTime<Utc>, limit: i64) -> Result<usize> {
    use futures_util::StreamExt;
    let lease = Duration::minutes(5);
    let claimed = store::claim_due(&mut *pool.get().await?, now, now + lease, limit).await?;
    let messages = claimed.into_iter().filter_map(|n| {
        let kind = Kind::parse(&n.kind)?;
        let (subject, body) = render(kind, &n.data);
        Some((n.id, n.attempts, Message { id: n.id, to: n.recipient.clone(), subject, body }))
    });
    let outcomes: Vec<_> = futures_util::stream::iter(messages)
        .map(|(id, attempts, message)| async move { (id, attempts, channel.deliver(&message).await) })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut sent = 0;
    let mut conn = pool.get().await?;
    for (id, attempts, outcome) in outcomes {
        match outcome {
            Ok(()) => {
                store::mark_sent(&mut conn, id, now).await?;
                sent += 1;
            }
            Err(e) => {
                let attempts = attempts + 1;
                let give_up = e.permanent || attempts >= backoff.max_attempts;
                let next = if give_up { None } else { Some(now + backoff.after(attempts)) };
                tracing::warn!(notice = %id, attempts, permanent = e.permanent, reason = %e.reason, "a notice was not delivered");
                store::mark_failed(&mut conn, id, attempts, next, &e.reason).await?;
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

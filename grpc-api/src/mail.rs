//! The e-mail channel of notices ([`registry_core::notify`]): SMTP with STARTTLS or implicit
//! TLS through lettre (rustls), and the worker that delivers the outbox.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use registry_core::Registry;
use registry_core::notify::{self, Backoff, Channel, DeliveryError, Message};

/// Where and how notices are e-mailed.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtps://host:465` (TLS), `smtp://host:587?tls=required` (STARTTLS), with
    /// `user:password@` if the server asks; plain `smtp://` only to a loopback host.
    pub smtp_url: String,
    /// The sender, e.g. `Föreningsregistret <noreply@registry.example.se>`.
    pub from: String,
    /// How failed deliveries are retried.
    pub backoff: Backoff,
    /// How often the outbox is looked at.
    pub interval: Duration,
}

/// SMTP as a notice channel.
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl SmtpChannel {
    /// A channel for `config`, refusing an unencrypted connection to anything but loopback.
    /// Connections are pooled and reused; call it inside a Tokio runtime, which runs the pool.
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(&config.smtp_url).map_err(|e| anyhow::anyhow!("--smtp-url is not a URL: {e}"))?;
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.to_string());
        let loopback = url
            .host_str()
            .is_some_and(|h| h == "localhost" || h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback()));
        match (url.scheme(), tls.as_deref()) {
            ("smtps", _) | ("smtp", Some("required")) => {}
            ("smtp", _) if loopback => {}
            ("smtp", _) => anyhow::bail!(
                "--smtp-url must encrypt: use smtps://… (TLS) or smtp://…?tls=required (STARTTLS); plain SMTP only to loopback"
            ),
            (other, _) => anyhow::bail!("--smtp-url must be smtps:// or smtp://, not {other}://"),
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from: Mailbox = config.from.parse().map_err(|e| anyhow::anyhow!("--mail-from is not an address: {e}"))?;
        let domain = from.email.domain().to_string();
        Ok(SmtpChannel { transport, from, domain })
    }
}

impl Channel for SmtpChannel {
    async fn deliver(&self, m: &Message) -> Result<(), DeliveryError> {
        let to: Mailbox =
            m.to.parse().map_err(|_| DeliveryError { reason: "the recipient's address is not valid".into(), permanent: true })?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&m.subject)
            // The notice's id: a retry after an unknown outcome is the same message.
            .message_id(Some(format!("<{}@{}>", m.id, self.domain)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| DeliveryError { reason: format!("the message could not be built: {e}"), permanent: true })?;
        self.transport.send(email).await.map(|_| ()).map_err(|e| DeliveryError {
            // lettre's text can quote the server's reply, which may name the recipient: only the class.
            reason: match e.status() {
                Some(code) => format!("the SMTP server answered {code}"),
                None if e.is_timeout() => "the SMTP server did not answer in time".into(),
                None => "the SMTP server could not be reached".into(),
            },
            permanent: e.is_permanent(),
        })
    }
}

/// Delivers due notices every `interval` until the task is aborted.
pub async fn deliver_on_schedule(registry: Registry, channel: SmtpChannel, config: MailConfig) {
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match notify::deliver_due(registry.pool(), &channel, &config.backoff, registry.now(), 100).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sent = n, "notices e-mailed"),
            Err(e) => tracing::warn!(error = %e, "the notice outbox could not be read; trying again"),
        }
    }
}

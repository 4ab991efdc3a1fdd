//! Payout: staff prepare a payment order of approved applications; a second person attests it
//! (never the one who prepared it, and a signed-in person, so that a name stands behind every
//! payment); the attested order's payments enter the ledger and its ISO 20022 `pain.001` file
//! is fetched for the bank. A prepared order may be cancelled, which frees its applications.

use std::collections::BTreeSet;

use diesel_async::AsyncConnection;
use registry_core::Error;
use registry_core::auth::{self, Action, Principal};
use registry_core::changelog::{self, Operation};
use registry_core::validate::Violations;
use uuid::Uuid;

use crate::db::{self, OrderRow, PaymentRow};
use crate::model::*;
use crate::service::{Grants, bad, conflict, not_found, who};

type Result<T> = std::result::Result<T, Error>;

/// The most payments in one order.
pub const MAX_PAYMENTS: usize = 10_000;

fn order_of(r: &OrderRow, payments: Vec<Payment>) -> Result<PaymentOrder> {
    Ok(PaymentOrder {
        id: r.id,
        municipality_code: r.municipality_code.clone(),
        status: r.status.clone(),
        execution_date: r.execution_date,
        debtor: serde_json::from_value(r.debtor.clone()).map_err(bad("payment order"))?,
        message_id: r.message_id.clone(),
        total_minor: r.total_minor,
        payments,
        prepared_by: r.prepared_by.clone(),
        prepared_at: r.prepared_at,
        attested_by: r.attested_by.clone(),
        attested_at: r.attested_at,
        file_sha256: r.file_sha256.clone(),
        version: r.version,
    })
}

async fn payments(conn: &mut diesel_async::AsyncPgConnection, order: Uuid) -> Result<Vec<Payment>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use registry_core::db::schema::associations;
    let rows = db::payments_of(conn, order).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.association_id).collect();
    let names: std::collections::BTreeMap<Uuid, String> = associations::table
        .filter(associations::id.eq_any(ids))
        .select((associations::id, associations::name))
        .load(conn)
        .await?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|r| {
            Ok(Payment {
                application_id: r.application_id,
                programme_id: r.programme_id,
                association_id: r.association_id,
                association_name: names.get(&r.association_id).cloned().unwrap_or_default(),
                amount_minor: r.amount_minor,
                account: serde_json::from_value(r.account).map_err(bad("payment"))?,
                end_to_end_id: r.end_to_end_id,
                remittance: r.remittance,
                paid_on: r.paid_on,
            })
        })
        .collect()
}

/// The payment file of an order.
fn file_of(order: &PaymentOrder, org_numbers: &std::collections::BTreeMap<Uuid, String>) -> crate::pain001::PaymentFile {
    crate::pain001::PaymentFile {
        message_id: order.message_id.clone(),
        created_at: order.attested_at.unwrap_or(order.prepared_at),
        initiator_name: order.debtor.name.clone(),
        initiator_org_number: order.debtor.org_number.clone(),
        debtor_name: order.debtor.name.clone(),
        debtor_account: order.debtor.account.clone(),
        debtor_bic: order.debtor.bic.clone(),
        execution_date: order.execution_date,
        payments: order
            .payments
            .iter()
            .map(|p| crate::pain001::Payment {
                end_to_end_id: p.end_to_end_id.clone(),
                amount_minor: p.amount_minor,
                creditor_name: p.association_name.clone(),
                creditor_org_number: org_numbers.get(&p.association_id).cloned(),
                account: p.account.clone(),
                remittance: p.remittance.clone(),
            })
            .collect(),
    }
}

impl Grants {
    /// Prepares a payment order of approved, unpaid applications of the municipality (staff).
    pub async fn prepare_order(&self, p: &Principal, input: &PaymentOrderInput) -> Result<PaymentOrder> {
        auth::require_key(p, "preparing a payment order")?;
        auth::authorize(p, Action::ManageGrants(&input.municipality_code))?;
        let mut v = Violations::default();
        v.required_text("debtor.name", &input.debtor.name, 70);
        let org_number = registry_core::orgnr::check(&mut v, "debtor.orgNumber", &input.debtor.org_number);
        let debtor_account = input.debtor.account.validate(&mut v, "debtor.account");
        if input.application_ids.is_empty() || input.application_ids.len() > MAX_PAYMENTS {
            v.add("applicationIds", "count", format!("name 1 to {MAX_PAYMENTS} approved applications"));
        }
        if input.application_ids.iter().collect::<BTreeSet<_>>().len() != input.application_ids.len() {
            v.add("applicationIds", "duplicate", "each application once");
        }
        let today = self.registry.now().with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
        if input.execution_date < today || input.execution_date > today + chrono::Duration::days(365) {
            v.add("executionDate", "out_of_range", "from today to a year ahead");
        }
        v.finish()?;
        let (actor, by, now, input) = (p.id.clone(), who(p), self.registry.now(), input.clone());
        let (org_number, debtor_account) = (org_number.clone(), debtor_account.clone());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut v = Violations::default();
            let mut rows = Vec::new();
            for (i, id) in input.application_ids.iter().enumerate() {
                let f = format!("applicationIds[{i}]");
                let Some(app) = db::application(conn, *id, true).await? else {
                    v.add(f, "not_found", format!("application {id} was not found"));
                    continue;
                };
                let Some(programme) = db::programme(conn, app.programme_id, false).await? else { continue };
                if programme.municipality_code != input.municipality_code {
                    v.add(f, "other_municipality", format!("application {id} is not of municipality {}", input.municipality_code));
                    continue;
                }
                if app.status != "approved" {
                    v.add(f, "not_approved", format!("application {id} is {}", app.status.replace('_', " ")));
                    continue;
                }
                if db::payment_states(conn, &[*id]).await?.iter().any(|s| s.2 != "cancelled") {
                    v.add(f, "already_ordered", format!("application {id} is already in a payment order"));
                    continue;
                }
                let Some(account) = app.payee.clone() else {
                    v.add(f, "no_account", format!("application {id} has no account to pay to"));
                    continue;
                };
                let decision: Decision = serde_json::from_value(app.decision.clone().unwrap_or_default()).map_err(bad("application"))?;
                let remittance: String =
                    latin(&format!("{}, beslut {}", programme.name, decision.input.reference)).chars().take(crate::pain001::REMITTANCE_MAX).collect();
                rows.push(PaymentRow {
                    id: Uuid::now_v7(),
                    order_id: Uuid::nil(),
                    application_id: *id,
                    programme_id: app.programme_id,
                    association_id: app.association_id,
                    amount_minor: decision.input.amount_minor,
                    account,
                    end_to_end_id: crate::service::short_id("G", 35),
                    remittance,
                    paid_on: None,
                });
            }
            v.finish()?;
            let order = OrderRow {
                id: Uuid::now_v7(),
                municipality_code: input.municipality_code.clone(),
                status: "prepared".into(),
                execution_date: input.execution_date,
                debtor: serde_json::to_value(Debtor { account: debtor_account, org_number, ..input.debtor.clone() }).expect("JSON"),
                message_id: crate::service::short_id("GRANTS-", 31),
                total_minor: rows.iter().map(|r| r.amount_minor).sum(),
                payments: rows.len() as i32,
                prepared_by: by,
                prepared_at: now,
                attested_by: None,
                attested_at: None,
                file_sha256: None,
                version: 1,
                updated_at: now,
            };
            for r in &mut rows {
                r.order_id = order.id;
            }
            db::insert_order(conn, &order, &rows).await?;
            let out = order_of(&order, payments(conn, order.id).await?)?;
            // Everything the payment file needs is checked now, so that attestation never meets
            // a name the bank cannot carry (each problem names the payment, in the order given).
            let orgs = org_numbers(conn, &out).await?;
            crate::pain001::check(&file_of(&out, &orgs))?;
            let logged = serde_json::json!({"municipalityCode": out.municipality_code, "status": out.status, "totalMinor": out.total_minor, "payments": rows.len(), "preparedBy": out.prepared_by});
            changelog::append(conn, "grant_payment_order", order.id, Operation::Create, &actor, None, Some(&logged)).await?;
            Ok(out)
        })
        .await
    }

    /// Attests a prepared order (a signed-in person of the municipality's staff, not the one who
    /// prepared it): its payments enter the ledger as paid on the execution date, and its
    /// payment file is fixed (its SHA-256 kept).
    pub async fn attest_order(&self, p: &Principal, id: Uuid, expected_version: Option<i64>) -> Result<PaymentOrder> {
        auth::require_key(p, "attesting a payment order")?;
        let current = self.get_order(p, id).await?;
        auth::authorize(p, Action::ManageGrants(&current.municipality_code))?;
        if p.person.is_none() {
            return Err(Error::Forbidden("a payment order is attested by a signed-in person (Swedish eID), not a key".into()));
        }
        let (actor, by, now) = (p.id.clone(), who(p), self.registry.now());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::order(conn, id, true).await?.ok_or_else(|| not_found("payment order", id))?;
            if let Some(e) = expected_version
                && e != row.version
            {
                return Err(Error::PreconditionFailed { entity: "payment order", id: id.to_string(), expected: e, actual: row.version });
            }
            if row.status != "prepared" {
                return Err(conflict("not_prepared", format!("the payment order is {}", row.status)));
            }
            if row.execution_date < now.with_timezone(&chrono_tz::Europe::Stockholm).date_naive() {
                return Err(conflict("execution_date_passed", "the order's execution date has passed: cancel it and prepare a new one"));
            }
            // Separation of duties: the preparer's own attestation is refused, whoever they act as.
            let prepared_by_actor = row.prepared_by == by || changelog_actor(conn, id).await?.as_deref() == Some(actor.as_str());
            if prepared_by_actor {
                return Err(Error::Forbidden("you prepared this payment order; a second person attests it".into()));
            }
            row.status = "attested".into();
            row.attested_by = Some(by);
            row.attested_at = Some(now);
            row.version += 1;
            row.updated_at = now;
            db::mark_paid(conn, id, row.execution_date).await?;
            let order = order_of(&row, payments(conn, id).await?)?;
            let orgs = org_numbers(conn, &order).await?;
            let xml = crate::pain001::write(&file_of(&order, &orgs)).map_err(|e| Error::Internal(format!("the payment file: {e}")))?;
            row.file_sha256 = Some(crate::attachments::sha256_hex(xml.as_bytes()));
            db::update_order(conn, &row).await?;
            let logged = serde_json::json!({"municipalityCode": row.municipality_code, "status": row.status, "attestedBy": row.attested_by, "fileSha256": row.file_sha256});
            changelog::append(conn, "grant_payment_order", id, Operation::Update, &actor, Some(&serde_json::json!({"municipalityCode": row.municipality_code, "status": "prepared"})), Some(&logged))
                .await?;
            order_of(&row, order.payments)
        })
        .await
    }

    /// Cancels a prepared order (staff): its applications may be ordered again.
    pub async fn cancel_order(&self, p: &Principal, id: Uuid) -> Result<PaymentOrder> {
        auth::require_key(p, "cancelling a payment order")?;
        let current = self.get_order(p, id).await?;
        auth::authorize(p, Action::ManageGrants(&current.municipality_code))?;
        let (actor, now) = (p.id.clone(), self.registry.now());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::order(conn, id, true).await?.ok_or_else(|| not_found("payment order", id))?;
            if row.status != "prepared" {
                return Err(conflict("not_prepared", format!("the payment order is {}; an attested order is paid", row.status)));
            }
            let kept = payments(conn, id).await?;
            db::delete_payments(conn, id).await?;
            row.status = "cancelled".into();
            row.version += 1;
            row.updated_at = now;
            db::update_order(conn, &row).await?;
            let logged = serde_json::json!({"municipalityCode": row.municipality_code, "status": row.status});
            changelog::append(
                conn,
                "grant_payment_order",
                id,
                Operation::Update,
                &actor,
                Some(&serde_json::json!({"municipalityCode": row.municipality_code, "status": "prepared"})),
                Some(&logged),
            )
            .await?;
            order_of(&row, kept)
        })
        .await
    }

    /// One order (staff of its municipality).
    pub async fn get_order(&self, p: &Principal, id: Uuid) -> Result<PaymentOrder> {
        let mut conn = self.conn().await?;
        let row = db::order(&mut conn, id, false).await?.ok_or_else(|| not_found("payment order", id))?;
        auth::authorize(p, Action::ManageGrants(&row.municipality_code))?;
        order_of(&row, payments(&mut conn, id).await?)
    }

    /// A municipality's orders, newest first (staff).
    pub async fn list_orders(&self, p: &Principal, municipality: &str) -> Result<Vec<PaymentOrder>> {
        auth::authorize(p, Action::ManageGrants(municipality))?;
        let mut conn = self.conn().await?;
        let mut out = Vec::new();
        for r in db::orders(&mut conn, municipality).await? {
            let pays = payments(&mut conn, r.id).await?;
            out.push(order_of(&r, pays)?);
        }
        Ok(out)
    }

    /// An attested order's payment file (ISO 20022 `pain.001.001.03`), the same bytes every
    /// time (its SHA-256 is the one kept at attestation): (file name, XML). Staff only; each
    /// fetch is in the audit log.
    pub async fn payment_file(&self, p: &Principal, id: Uuid) -> Result<(String, String)> {
        auth::require_key(p, "fetching a payment file")?;
        let order = self.get_order(p, id).await?;
        if order.status != "attested" {
            return Err(conflict("not_attested", "the payment file is made once the order is attested by a second person"));
        }
        let mut conn = self.conn().await?;
        let orgs = org_numbers(&mut conn, &order).await?;
        let xml = crate::pain001::write(&file_of(&order, &orgs)).map_err(|e| Error::Internal(format!("the payment file: {e}")))?;
        if order.file_sha256.as_deref() != Some(crate::attachments::sha256_hex(xml.as_bytes()).as_str()) {
            return Err(Error::Internal("the payment file differs from the one attested; it is not handed out".into()));
        }
        registry_core::db::changes::audit(
            &mut conn,
            &p.id,
            "fetch_payment_file",
            None,
            serde_json::json!({"order": id, "payments": order.payments.len()}),
        )
        .await?;
        Ok((format!("{}.xml", order.message_id), xml))
    }
}

/// Our own texts in the payment file's character set (names are never changed: they are
/// checked and refused instead).
fn latin(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if crate::pain001::is_latin_char(c) => out.push(c),
            '§' => out.push_str("par."),
            '–' | '—' => out.push('-'),
            '‘' | '’' => out.push('\''),
            '“' | '”' => out.push('"'),
            _ => out.push('?'),
        }
    }
    out
}

/// Who prepared an order, as the change log has it (the stable audit id of the principal).
async fn changelog_actor(conn: &mut diesel_async::AsyncPgConnection, order: Uuid) -> Result<Option<String>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use registry_core::db::schema::change_log;
    Ok(change_log::table
        .filter(change_log::entity.eq("grant_payment_order"))
        .filter(change_log::entity_id.eq(order))
        .filter(change_log::operation.eq("create"))
        .select(change_log::actor)
        .first::<String>(conn)
        .await
        .optional()?)
}

/// The organisation numbers of an order's associations.
async fn org_numbers(conn: &mut diesel_async::AsyncPgConnection, order: &PaymentOrder) -> Result<std::collections::BTreeMap<Uuid, String>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use registry_core::db::schema::associations;
    let ids: Vec<Uuid> = order.payments.iter().map(|p| p.association_id).collect();
    Ok(associations::table
        .filter(associations::id.eq_any(ids))
        .select((associations::id, associations::org_number))
        .load(conn)
        .await?
        .into_iter()
        .collect())
}

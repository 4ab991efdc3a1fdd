//! The use cases of grants. Each: authorize → validate → one transaction (with a change-log row
//! for audit, and a notice where the association is told). Both front ends call these and
//! nothing else.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use registry_core::auth::{self, Action, Principal};
use registry_core::changelog::{self, Operation};
use registry_core::db::PooledConn;
use registry_core::validate::Violations;
use registry_core::{Error, Registry};
use uuid::Uuid;

use crate::db::{self, ApplicationRow, AttachmentRow, ProgrammeRow};
use crate::model::*;

type Result<T> = std::result::Result<T, Error>;

/// One step of a use case inside its transaction (a boxed future, so that it is `Send`).
pub(crate) type Step<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>;

/// The largest attachment, bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// The most attachments an application may have.
pub const MAX_ATTACHMENTS: usize = 20;
/// The largest attendance list, bytes (about 1.5 million rows).
pub const MAX_ATTENDANCE_BYTES: usize = 100 * 1024 * 1024;

/// Grants over the registry. Cheap to clone.
#[derive(Clone)]
pub struct Grants {
    pub(crate) registry: Registry,
}

pub(crate) fn not_found(entity: &'static str, id: Uuid) -> Error {
    Error::NotFound { entity, id: id.to_string() }
}

pub(crate) fn bad(what: &'static str) -> impl Fn(serde_json::Error) -> Error {
    move |e| Error::Internal(format!("a stored {what}: {e}"))
}

pub(crate) fn conflict(rule: &'static str, message: impl Into<String>) -> Error {
    Error::Conflict { field: None, rule, message: message.into() }
}

/// Who did it, as a decision or an order records it: a signed-in person's name, or the key.
pub(crate) fn who(p: &Principal) -> String {
    p.person.as_ref().map_or_else(|| p.id.clone(), |x| x.name.clone())
}

fn programme_of(r: &ProgrammeRow, decided: i64, paid: i64) -> Result<Programme> {
    let kind = ProgrammeKind::parse(&r.kind).ok_or_else(|| Error::Internal(format!("programme kind {}", r.kind)))?;
    let rules = &r.rules;
    let pick = |k: &str| rules.get(k).cloned().filter(|v| !v.is_null());
    let input = ProgrammeInput {
        municipality_code: r.municipality_code.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        kind,
        activity: pick("activity").map(serde_json::from_value).transpose().map_err(bad("programme"))?,
        basic: pick("basic").map(serde_json::from_value).transpose().map_err(bad("programme"))?,
        application: pick("application").map(serde_json::from_value).transpose().map_err(bad("programme"))?,
        period_from: r.period_from,
        period_to: r.period_to,
        applications_open: r.applications_open,
        applications_close: r.applications_close,
        budget_minor: r.budget_minor,
    };
    Ok(Programme {
        id: r.id,
        input,
        decided_minor: decided,
        paid_minor: paid,
        remaining_minor: r.budget_minor - decided,
        version: r.version,
        updated_at: r.updated_at,
    })
}

/// Checks a programme, adding every problem to `v`.
fn check_programme(v: &mut Violations, p: &ProgrammeInput) {
    registry_core::codes::check_municipality(v, "municipalityCode", &p.municipality_code);
    v.required_text("name", &p.name, 200);
    v.optional_multiline("description", &p.description, 5000);
    if p.period_to < p.period_from {
        v.add("periodTo", "order", "must not be before periodFrom");
    } else if p.period_to > p.period_from + chrono::Duration::days(372) {
        v.add("periodTo", "out_of_range", "a period is at most a year");
    }
    if p.applications_close <= p.applications_open {
        v.add("applicationsClose", "order", "must be after applicationsOpen");
    }
    if !(0..=100_000_000_000).contains(&p.budget_minor) {
        v.add("budgetMinor", "out_of_range", "must be 0 to 1,000,000,000 kronor (in öre)");
    }
    let given = [("activity", p.activity.is_some()), ("basic", p.basic.is_some()), ("application", p.application.is_some())];
    for (k, is) in given {
        if is && k != p.kind.as_str() {
            v.add(k, "not_applicable", format!("a programme of kind {} has no {k} rules", p.kind.as_str()));
        }
    }
    match p.kind {
        ProgrammeKind::Activity => {
            if let Some(r) = &p.activity {
                r.check(v, "activity");
            }
        }
        ProgrammeKind::Basic => match &p.basic {
            None => v.add("basic", "required", "a basic grant needs its rules: the year and the amount per member per age band"),
            Some(b) => {
                if !(2000..=2100).contains(&b.year) {
                    v.add("basic.year", "out_of_range", "must be 2000 to 2100");
                }
                if b.amounts.is_empty() {
                    v.add("basic.amounts", "count", "give the amount for at least one age band");
                }
                let mut seen = BTreeSet::new();
                for (i, a) in b.amounts.iter().enumerate() {
                    if !seen.insert(a.age_band.as_str()) {
                        v.add(format!("basic.amounts[{i}].ageBand"), "duplicate", "each age band once");
                    }
                    if !(0..=10_000_000).contains(&a.amount_minor) {
                        v.add(format!("basic.amounts[{i}].amountMinor"), "out_of_range", "must be 0 to 100,000 kronor per member (in öre)");
                    }
                }
                if b.max_amount_minor.is_some_and(|m| m <= 0) {
                    v.add("basic.maxAmountMinor", "out_of_range", "must be more than 0");
                }
            }
        },
        ProgrammeKind::Application => {
            if let Some(a) = &p.application {
                if a.max_amount_minor.is_some_and(|m| m <= 0) {
                    v.add("application.maxAmountMinor", "out_of_range", "must be more than 0");
                }
                if a.min_attachments > 20 {
                    v.add("application.minAttachments", "out_of_range", "must be 0 to 20");
                }
            }
        }
    }
}

fn rules_json(p: &ProgrammeInput) -> serde_json::Value {
    let activity = match p.kind {
        ProgrammeKind::Activity => Some(p.activity.clone().unwrap_or_default()),
        _ => None,
    };
    let application = match p.kind {
        ProgrammeKind::Application => Some(p.application.clone().unwrap_or_default()),
        _ => None,
    };
    serde_json::json!({"activity": activity, "basic": p.basic, "application": application})
}

impl Grants {
    /// Grants over the registry's database.
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }

    pub(crate) async fn conn(&self) -> Result<PooledConn> {
        Ok(self.registry.pool().get().await?)
    }

    // ---- programmes ----

    /// Sets up a programme (staff of its municipality).
    pub async fn create_programme(&self, p: &Principal, input: &ProgrammeInput) -> Result<Programme> {
        auth::require_key(p, "setting up a grant programme")?;
        auth::authorize(p, Action::ManageGrants(&input.municipality_code))?;
        let mut v = Violations::default();
        check_programme(&mut v, input);
        v.finish()?;
        let now = self.registry.now();
        let row = ProgrammeRow {
            id: Uuid::now_v7(),
            municipality_code: input.municipality_code.clone(),
            name: input.name.trim().to_string(),
            description: input.description.trim().to_string(),
            kind: input.kind.as_str().into(),
            rules: rules_json(input),
            period_from: input.period_from,
            period_to: input.period_to,
            applications_open: input.applications_open,
            applications_close: input.applications_close,
            budget_minor: input.budget_minor,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let programme = programme_of(&row, 0, 0)?;
        let (actor, logged) = (p.id.clone(), programme.clone());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            db::insert_programme(conn, &row).await?;
            changelog::append(conn, "grant_programme", row.id, Operation::Create, &actor, None, Some(&logged)).await?;
            Ok::<_, Error>(())
        })
        .await?;
        Ok(programme)
    }

    /// Changes a programme (staff), if it is still at `expected_version`. Its kind and
    /// municipality stay.
    pub async fn update_programme(
        &self,
        p: &Principal,
        id: Uuid,
        input: &ProgrammeInput,
        expected_version: Option<i64>,
    ) -> Result<Programme> {
        auth::require_key(p, "changing a grant programme")?;
        let current = self.get_programme(p, id).await?;
        auth::authorize(p, Action::ManageGrants(&current.input.municipality_code))?;
        let mut v = Violations::default();
        if input.municipality_code != current.input.municipality_code {
            v.add("municipalityCode", "immutable", "a programme stays in its municipality");
        }
        if input.kind != current.input.kind {
            v.add("kind", "immutable", "a programme keeps its kind; set up a new one");
        }
        check_programme(&mut v, input);
        v.finish()?;
        let (actor, now, input) = (p.id.clone(), self.registry.now(), input.clone());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::programme(conn, id, true).await?.ok_or_else(|| not_found("grant programme", id))?;
            if let Some(e) = expected_version
                && e != row.version
            {
                return Err(Error::PreconditionFailed { entity: "grant programme", id: id.to_string(), expected: e, actual: row.version });
            }
            let before = programme_of(&row, 0, 0)?;
            row.name = input.name.trim().to_string();
            row.description = input.description.trim().to_string();
            row.rules = rules_json(&input);
            row.period_from = input.period_from;
            row.period_to = input.period_to;
            row.applications_open = input.applications_open;
            row.applications_close = input.applications_close;
            row.budget_minor = input.budget_minor;
            row.version += 1;
            row.updated_at = now;
            db::update_programme(conn, &row).await?;
            let used = db::budget_use(conn, &[id]).await?;
            let (decided, paid) = used.first().map_or((0, 0), |u| (u.1, u.2));
            let after = programme_of(&row, decided, paid)?;
            changelog::append(conn, "grant_programme", id, Operation::Update, &actor, Some(&before), Some(&after)).await?;
            Ok(after)
        })
        .await
    }

    /// One programme with its budget's use: open to everyone.
    pub async fn get_programme(&self, p: &Principal, id: Uuid) -> Result<Programme> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let row = db::programme(&mut conn, id, false).await?.ok_or_else(|| not_found("grant programme", id))?;
        let used = db::budget_use(&mut conn, &[id]).await?;
        let (decided, paid) = used.first().map_or((0, 0), |u| (u.1, u.2));
        programme_of(&row, decided, paid)
    }

    /// Programmes, newest period first, of one municipality or all: open to everyone.
    pub async fn list_programmes(&self, p: &Principal, municipality: Option<&str>) -> Result<Vec<Programme>> {
        auth::authorize(p, Action::ReadPublic)?;
        let mut conn = self.conn().await?;
        let rows = db::programmes(&mut conn, municipality).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let used: BTreeMap<Uuid, (i64, i64)> = db::budget_use(&mut conn, &ids).await?.into_iter().map(|(i, d, p)| (i, (d, p))).collect();
        rows.iter()
            .map(|r| {
                let (d, paid) = used.get(&r.id).copied().unwrap_or((0, 0));
                programme_of(r, d, paid)
            })
            .collect()
    }

    // ---- applications ----

    /// Whether `p` represents `association` (read in `conn`).
    pub(crate) async fn represents(conn: &mut AsyncPgConnection, p: &Principal, association: Uuid) -> Result<bool> {
        Ok(match &p.person {
            Some(person) => registry_core::db::associations::represents(conn, association, &person.person_ref).await?,
            None => false,
        })
    }

    /// The application as `p` may see it: staff of the programme's municipality (once sent: a
    /// draft is the association's own, as in the inbox and the handling), or a representative
    /// of its association (anyone else: not found).
    pub(crate) async fn readable(
        &self,
        conn: &mut AsyncPgConnection,
        p: &Principal,
        id: Uuid,
    ) -> Result<(ApplicationRow, ProgrammeRow, bool)> {
        let row = db::application(conn, id, false).await?.ok_or_else(|| not_found("grant application", id))?;
        let programme =
            db::programme(conn, row.programme_id, false).await?.ok_or_else(|| not_found("grant programme", row.programme_id))?;
        if row.status != "draft" && auth::allowed(p, Action::ManageGrants(&programme.municipality_code)) {
            return Ok((row, programme, true));
        }
        if Self::represents(conn, p, row.association_id).await? {
            return Ok((row, programme, false));
        }
        Err(not_found("grant application", id))
    }

    /// Builds an application for a reader (`staff` see the assessment).
    pub(crate) async fn application_of(conn: &mut AsyncPgConnection, r: &ApplicationRow, staff: bool) -> Result<Application> {
        let name: String = {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use registry_core::db::schema::associations;
            associations::table.find(r.association_id).select(associations::name).first(conn).await?
        };
        let attachments = db::attachments(conn, r.id)
            .await?
            .into_iter()
            .map(|a| Attachment {
                id: a.id,
                file_name: a.file_name,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256,
                created_at: a.created_at,
            })
            .collect();
        let attendance_lists = db::attendance_lists(conn, r.id)
            .await?
            .into_iter()
            .map(|l| AttendanceList {
                id: l.id,
                file_name: l.file_name,
                rows: l.rows_total,
                occasions: l.occasions,
                occasions_counted: l.occasions_counted,
                participant_occasions: l.participant_occasions,
                amount_minor: l.amount_minor,
                report: l.report,
                created_at: l.created_at,
            })
            .collect();
        let payment = db::payment_states(conn, &[r.id])
            .await?
            .into_iter()
            .find(|x| x.2 != "cancelled")
            .map(|(_, order_id, status, amount_minor, paid_on)| PaymentState { order_id, status, amount_minor, paid_on });
        Ok(Application {
            id: r.id,
            programme_id: r.programme_id,
            input: ApplicationInput {
                association_id: r.association_id,
                title: r.title.clone(),
                description: r.description.clone(),
                requested_minor: r.requested_minor,
                payee: r.payee.clone().map(serde_json::from_value).transpose().map_err(bad("application"))?,
            },
            association_name: name,
            status: r.status.clone(),
            computed_minor: r.computed_minor,
            computation: r.computation.clone(),
            completion_message: r.completion_message.clone(),
            attachments,
            attendance_lists,
            assessment: if staff {
                r.assessment.clone().map(serde_json::from_value).transpose().map_err(bad("application"))?
            } else {
                None
            },
            decision: r.decision.clone().map(serde_json::from_value).transpose().map_err(bad("application"))?,
            payment,
            created_at: r.created_at,
            submitted_at: r.submitted_at,
            version: r.version,
        })
    }

    /// Checks what a representative writes; the account in its normalised form.
    fn check_input(v: &mut Violations, input: &ApplicationInput) -> Option<serde_json::Value> {
        v.optional_text("title", &input.title, 200);
        v.optional_multiline("description", &input.description, 10_000);
        if input.requested_minor.is_some_and(|m| !(1..=100_000_000_000).contains(&m)) {
            v.add("requestedMinor", "out_of_range", "must be more than 0 and at most 1,000,000,000 kronor (in öre)");
        }
        input.payee.as_ref().map(|a| serde_json::to_value(a.validate(v, "payee")).expect("JSON"))
    }

    /// Starts an application as a draft (a representative of the association, while the
    /// programme takes applications; the association approved in its municipality).
    pub async fn create_application(&self, p: &Principal, programme_id: Uuid, input: &ApplicationInput) -> Result<Application> {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let programme = self.get_programme(p, programme_id).await?;
        let now = self.registry.now();
        open_for_applications(&programme, now)?;
        let mut v = Violations::default();
        let payee = Self::check_input(&mut v, input);
        v.finish()?;
        let (principal, actor, input, municipality) = (p.clone(), p.id.clone(), input.clone(), programme.input.municipality_code.clone());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            registry_core::service::approved_representation(conn, &principal, input.association_id, &municipality).await?;
            let row = ApplicationRow {
                id: Uuid::now_v7(),
                programme_id,
                association_id: input.association_id,
                status: "draft".into(),
                title: input.title.trim().to_string(),
                description: input.description.trim().to_string(),
                requested_minor: input.requested_minor,
                payee,
                computed_minor: 0,
                computation: serde_json::json!({}),
                completion_message: None,
                assessment: None,
                decision: None,
                created_by: actor.clone(),
                created_at: now,
                submitted_at: None,
                version: 1,
                updated_at: now,
            };
            db::insert_application(conn, &row).await?;
            let app = Self::application_of(conn, &row, false).await?;
            changelog::append(conn, "grant_application", row.id, Operation::Create, &actor, None, Some(&audit_view(&app, &municipality)))
                .await?;
            Ok(app)
        })
        .await
    }

    /// Runs `change` on an application a representative of its association may still change
    /// (a draft, or one asked to be completed), at `expected_version` if given; audited.
    pub(crate) async fn change_own<F>(&self, p: &Principal, id: Uuid, expected_version: Option<i64>, change: F) -> Result<Application>
    where
        F: for<'c> FnOnce(&'c mut AsyncPgConnection, &'c mut ApplicationRow, &'c ProgrammeRow) -> Step<'c, ()> + Send,
    {
        self.own_in(p, id, expected_version, Editable::Open, change).await
    }

    /// As [`Self::change_own`], in the states `editable` allows.
    async fn own_in<F>(&self, p: &Principal, id: Uuid, expected_version: Option<i64>, editable: Editable, change: F) -> Result<Application>
    where
        F: for<'c> FnOnce(&'c mut AsyncPgConnection, &'c mut ApplicationRow, &'c ProgrammeRow) -> Step<'c, ()> + Send,
    {
        auth::authorize(p, Action::Represent(p.person.is_some()))?;
        let (principal, actor, now) = (p.clone(), p.id.clone(), self.registry.now());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::application(conn, id, true).await?.ok_or_else(|| not_found("grant application", id))?;
            if !Self::represents(conn, &principal, row.association_id).await? {
                return Err(not_found("grant application", id));
            }
            if let Some(e) = expected_version
                && e != row.version
            {
                return Err(Error::PreconditionFailed {
                    entity: "grant application",
                    id: id.to_string(),
                    expected: e,
                    actual: row.version,
                });
            }
            match editable {
                Editable::Open if !matches!(row.status.as_str(), "draft" | "completion_requested") => {
                    return Err(conflict(
                        "application_sent",
                        format!(
                            "the application is {}; only a draft or one asked to be completed is changed",
                            row.status.replace('_', " ")
                        ),
                    ));
                }
                Editable::Undecided if !matches!(row.status.as_str(), "draft" | "submitted" | "completion_requested") => {
                    return Err(conflict("application_decided", format!("the application is {}; it is not withdrawn", row.status)));
                }
                _ => {}
            }
            let programme =
                db::programme(conn, row.programme_id, false).await?.ok_or_else(|| not_found("grant programme", row.programme_id))?;
            let before = Self::application_of(conn, &row, false).await?;
            change(conn, &mut row, &programme).await?;
            row.version += 1;
            row.updated_at = now;
            db::update_application(conn, &row).await?;
            let after = Self::application_of(conn, &row, false).await?;
            let m = &programme.municipality_code;
            changelog::append(
                conn,
                "grant_application",
                id,
                Operation::Update,
                &actor,
                Some(&audit_view(&before, m)),
                Some(&audit_view(&after, m)),
            )
            .await?;
            Ok(after)
        })
        .await
    }

    /// Changes a draft (or an application asked to be completed): its texts, amount and account.
    pub async fn update_application(
        &self,
        p: &Principal,
        id: Uuid,
        input: &ApplicationInput,
        expected_version: Option<i64>,
    ) -> Result<Application> {
        let mut v = Violations::default();
        let payee = Self::check_input(&mut v, input);
        v.finish()?;
        let input = input.clone();
        self.change_own(p, id, expected_version, move |_conn, row, _programme| {
            Box::pin(async move {
                if input.association_id != row.association_id {
                    return Err(Error::invalid("associationId", "immutable", "an application stays with its association"));
                }
                row.title = input.title.trim().to_string();
                row.description = input.description.trim().to_string();
                row.requested_minor = input.requested_minor;
                row.payee = payee;
                Ok(())
            })
        })
        .await
    }

    /// Sends an application (its representative): everything the programme needs must be
    /// there; a basic grant is computed from the member statistics now.
    pub async fn submit(&self, p: &Principal, id: Uuid, expected_version: Option<i64>) -> Result<Application> {
        let now = self.registry.now();
        self.change_own(p, id, expected_version, move |conn, row, programme| {
            Box::pin(async move {
                let prog = programme_of(programme, 0, 0)?;
                // A completion may be sent after the period; a first sending must be within it.
                if row.status == "draft" {
                    open_for_applications(&prog, now)?;
                }
                let mut v = Violations::default();
                if row.payee.is_none() {
                    v.add("payee", "required", "give the association's bankgiro, plusgiro or IBAN for the payout");
                }
                match prog.input.kind {
                    ProgrammeKind::Application => {
                        let rules = prog.input.application.clone().unwrap_or_default();
                        if row.title.trim().is_empty() {
                            v.add("title", "required", "give the application a title");
                        }
                        if row.description.trim().is_empty() {
                            v.add("description", "required", "say what the grant is for");
                        }
                        match row.requested_minor {
                            None => v.add("requestedMinor", "required", "give the amount asked for (in öre)"),
                            Some(m) if rules.max_amount_minor.is_some_and(|max| m > max) => v.add(
                                "requestedMinor",
                                "over_maximum",
                                format!("the programme grants at most {} kronor", rules.max_amount_minor.unwrap_or(0) / 100),
                            ),
                            Some(_) => {}
                        }
                        let n = db::attachments(conn, row.id).await?.len();
                        if n < usize::from(rules.min_attachments) {
                            v.add("attachments", "count", format!("the programme asks for at least {} attachments", rules.min_attachments));
                        }
                    }
                    ProgrammeKind::Activity => {
                        if db::attendance_lists(conn, row.id).await?.is_empty() {
                            v.add("attendanceLists", "required", "upload at least one attendance list");
                        }
                    }
                    ProgrammeKind::Basic => {
                        let rules = prog.input.basic.clone().ok_or_else(|| Error::Internal("a basic programme without rules".into()))?;
                        match basic_grant(conn, row.association_id, &rules).await? {
                            Ok((amount, computation)) => {
                                row.computed_minor = amount;
                                row.computation = computation;
                            }
                            Err((rule, message)) => v.add("memberStatistics", rule, message),
                        }
                    }
                }
                v.finish()?;
                row.status = "submitted".into();
                row.submitted_at = Some(now);
                row.completion_message = None;
                Ok(())
            })
        })
        .await
    }

    /// Withdraws an application not yet decided (its representative).
    pub async fn withdraw(&self, p: &Principal, id: Uuid) -> Result<Application> {
        self.own_in(p, id, None, Editable::Undecided, move |_, row, _| {
            Box::pin(async move {
                row.status = "withdrawn".into();
                Ok(())
            })
        })
        .await
    }

    /// One application: staff of its municipality (with the assessment) or a representative of
    /// its association; anyone else: not found.
    pub async fn get_application(&self, p: &Principal, id: Uuid) -> Result<Application> {
        let mut conn = self.conn().await?;
        let (row, _, staff) = self.readable(&mut conn, p, id).await?;
        Self::application_of(&mut conn, &row, staff).await
    }

    /// Applications: staff see their municipality's (of one programme, or all; drafts are the
    /// associations' own and left out), a representative their associations' own.
    pub async fn list_applications(
        &self,
        p: &Principal,
        programme: Option<Uuid>,
        municipality: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<Application>> {
        let mut conn = self.conn().await?;
        let municipality = match (programme, municipality) {
            (Some(id), _) => {
                Some(db::programme(&mut conn, id, false).await?.ok_or_else(|| not_found("grant programme", id))?.municipality_code)
            }
            (None, m) => m.map(str::to_string),
        };
        let staff = municipality.as_deref().is_some_and(|m| auth::allowed(p, Action::ManageGrants(m)));
        let rows = if staff {
            db::applications(&mut conn, programme, municipality.as_deref(), None, status)
                .await?
                .into_iter()
                .filter(|r| r.status != "draft")
                .collect()
        } else {
            let Some(person) = &p.person else {
                let m = municipality.unwrap_or_default();
                return Err(auth::authorize(p, Action::ManageGrants(&m)).err().unwrap_or_else(|| {
                    Error::Forbidden("only the municipality's staff and the associations' representatives may".into())
                }));
            };
            let mine = registry_core::db::associations::represented_by(&mut conn, &person.person_ref).await?;
            db::applications(&mut conn, programme, municipality.as_deref(), Some(&mine), status).await?
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(Self::application_of(&mut conn, r, staff).await?);
        }
        Ok(out)
    }

    // ---- attachments ----

    /// Adds an attachment to a draft (or an application asked to be completed): at most
    /// [`MAX_ATTACHMENT_BYTES`], [`MAX_ATTACHMENTS`] per application, of a type recognised from
    /// its content (PDF, PNG, JPEG, plain text or CSV, and the office formats).
    pub async fn add_attachment(&self, p: &Principal, id: Uuid, file_name: &str, content: Vec<u8>) -> Result<Attachment> {
        let mut v = Violations::default();
        let name = v.required_text("fileName", file_name, 200);
        if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
            v.add("fileName", "format", "a file name without slashes or control characters");
        }
        if content.is_empty() {
            v.add("content", "required", "the file is empty");
        } else if content.len() > MAX_ATTACHMENT_BYTES {
            v.add("content", "too_large", format!("at most {} MB", MAX_ATTACHMENT_BYTES / 1024 / 1024));
        }
        let kind = crate::attachments::sniff(&content);
        if kind.is_none() && !content.is_empty() {
            v.add(
                "content",
                "unsupported_type",
                "attach a PDF, an image (PNG or JPEG), a text or CSV file, or an office document (docx, xlsx, odt, ods)",
            );
        }
        v.finish()?;
        let content_type = kind.unwrap_or("application/octet-stream").to_string();
        let sha256 = crate::attachments::sha256_hex(&content);
        let (uploader, now) = (p.id.clone(), self.registry.now());
        let attachment_id = Uuid::now_v7();
        let app = self
            .change_own(p, id, None, move |conn, row, _| {
                Box::pin(async move {
                    if db::attachments(conn, row.id).await?.len() >= MAX_ATTACHMENTS {
                        return Err(Error::invalid(
                            "content",
                            "count",
                            format!("an application has at most {MAX_ATTACHMENTS} attachments"),
                        ));
                    }
                    let a = AttachmentRow {
                        id: attachment_id,
                        application_id: row.id,
                        file_name: name,
                        content_type,
                        size_bytes: content.len() as i32,
                        sha256,
                        uploaded_by: uploader,
                        created_at: now,
                    };
                    db::insert_attachment(conn, &a, &content).await?;
                    Ok(())
                })
            })
            .await?;
        app.attachments.into_iter().find(|a| a.id == attachment_id).ok_or_else(|| Error::Internal("the attachment was not stored".into()))
    }

    /// Removes an attachment from a draft (or an application asked to be completed).
    pub async fn delete_attachment(&self, p: &Principal, id: Uuid, attachment: Uuid) -> Result<Application> {
        self.change_own(p, id, None, move |conn, row, _| {
            Box::pin(async move {
                let a = db::attachment(conn, attachment).await?.filter(|a| a.application_id == row.id);
                if a.is_none() {
                    return Err(not_found("attachment", attachment));
                }
                db::delete_attachment(conn, attachment).await?;
                Ok(())
            })
        })
        .await
    }

    /// An attachment's content, for staff of the municipality and the association's
    /// representatives only; each read is in the audit log.
    pub async fn attachment(&self, p: &Principal, id: Uuid, attachment: Uuid) -> Result<(Attachment, Vec<u8>)> {
        let mut conn = self.conn().await?;
        let (row, _, _) = self.readable(&mut conn, p, id).await?;
        let a = db::attachment(&mut conn, attachment)
            .await?
            .filter(|a| a.application_id == row.id)
            .ok_or_else(|| not_found("attachment", attachment))?;
        let content = db::attachment_content(&mut conn, attachment).await?.ok_or_else(|| not_found("attachment", attachment))?;
        registry_core::db::changes::audit(
            &mut conn,
            &p.id,
            "read_grant_attachment",
            Some(("grant_application", row.id)),
            serde_json::json!({"attachment": attachment}),
        )
        .await?;
        Ok((
            Attachment {
                id: a.id,
                file_name: a.file_name,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256,
                created_at: a.created_at,
            },
            content,
        ))
    }

    // ---- handling ----

    /// Runs `change` on an application of a municipality `p` handles grants for, at
    /// `expected_version` if given; audited, with a notice to the association when `notice`
    /// says what to tell.
    async fn handle<F>(&self, p: &Principal, id: Uuid, expected_version: Option<i64>, change: F) -> Result<Application>
    where
        F: for<'c> FnOnce(&'c mut AsyncPgConnection, &'c mut ApplicationRow, &'c ProgrammeRow) -> Step<'c, Option<serde_json::Value>>
            + Send,
    {
        auth::require_key(p, "handling a grant application")?;
        let (principal, actor, now) = (p.clone(), p.id.clone(), self.registry.now());
        let mut conn = self.conn().await?;
        conn.transaction(async move |conn| {
            let mut row = db::application(conn, id, true).await?.ok_or_else(|| not_found("grant application", id))?;
            let programme =
                db::programme(conn, row.programme_id, false).await?.ok_or_else(|| not_found("grant programme", row.programme_id))?;
            auth::authorize(&principal, Action::ManageGrants(&programme.municipality_code))?;
            if row.status == "draft" {
                return Err(not_found("grant application", id));
            }
            if let Some(e) = expected_version
                && e != row.version
            {
                return Err(Error::PreconditionFailed {
                    entity: "grant application",
                    id: id.to_string(),
                    expected: e,
                    actual: row.version,
                });
            }
            let before = Self::application_of(conn, &row, true).await?;
            let notice = change(conn, &mut row, &programme).await?;
            row.version += 1;
            row.updated_at = now;
            db::update_application(conn, &row).await?;
            let after = Self::application_of(conn, &row, true).await?;
            let m = &programme.municipality_code;
            changelog::append(
                conn,
                "grant_application",
                id,
                Operation::Update,
                &actor,
                Some(&audit_view(&before, m)),
                Some(&audit_view(&after, m)),
            )
            .await?;
            if let Some(mut data) = notice {
                let association = registry_core::db::associations::load(conn, row.association_id, false).await?;
                if let Some(email) = association.as_ref().and_then(|a| a.contact.email.clone()) {
                    data["association"] = serde_json::json!(after.association_name);
                    data["programme"] = serde_json::json!(programme.name);
                    data["municipality"] = serde_json::json!(registry_core::codes::municipality(m).map_or(m.clone(), |x| x.name.clone()));
                    registry_core::notify::enqueue(conn, registry_core::notify::Kind::GrantUpdate, &email, data, now).await?;
                }
            }
            Ok(after)
        })
        .await
    }

    /// Asks the association to complete its application, saying what is missing (staff).
    pub async fn request_completion(&self, p: &Principal, id: Uuid, message: &str, expected_version: Option<i64>) -> Result<Application> {
        let mut v = Violations::default();
        let message = v.required_multiline("message", message, 2000);
        v.finish()?;
        self.handle(p, id, expected_version, move |_, row, _| {
            Box::pin(async move {
                if row.status != "submitted" {
                    return Err(conflict(
                        "not_submitted",
                        format!("the application is {}; completion is asked of a sent one", row.status.replace('_', " ")),
                    ));
                }
                row.status = "completion_requested".into();
                row.completion_message = Some(message.clone());
                Ok(Some(serde_json::json!({"event": "completion_requested", "message": message})))
            })
        })
        .await
    }

    /// Records the case officer's assessment and proposed amount (staff; before the decision).
    pub async fn assess(
        &self,
        p: &Principal,
        id: Uuid,
        text: &str,
        proposed_minor: i64,
        expected_version: Option<i64>,
    ) -> Result<Application> {
        let mut v = Violations::default();
        let text = v.required_multiline("text", text, 10_000);
        if !(0..=100_000_000_000).contains(&proposed_minor) {
            v.add("proposedMinor", "out_of_range", "must be 0 to 1,000,000,000 kronor (in öre)");
        }
        v.finish()?;
        let (by, now) = (who(p), self.registry.now());
        self.handle(p, id, expected_version, move |_, row, _| {
            Box::pin(async move {
                if !matches!(row.status.as_str(), "submitted" | "completion_requested") {
                    return Err(conflict("application_decided", format!("the application is {}", row.status.replace('_', " "))));
                }
                row.assessment =
                    Some(serde_json::to_value(Assessment { text, proposed_minor, assessed_by: by, assessed_at: now }).expect("JSON"));
                Ok(None)
            })
        })
        .await
    }

    /// Decides an application (staff): approved with an amount, or rejected with reasons; by
    /// delegation or in committee, with the reference; the association is told.
    pub async fn decide(&self, p: &Principal, id: Uuid, input: &DecisionInput, expected_version: Option<i64>) -> Result<Application> {
        let mut v = Violations::default();
        let reference = v.required_text("reference", &input.reference, 200);
        let reasons = v.optional_multiline("reasons", &input.reasons, 5000);
        match input.outcome {
            Outcome::Approved if !(1..=100_000_000_000).contains(&input.amount_minor) => {
                v.add("amountMinor", "out_of_range", "an approved grant is more than 0 and at most 1,000,000,000 kronor (in öre)")
            }
            Outcome::Rejected if input.amount_minor != 0 => {
                v.add("amountMinor", "not_applicable", "a rejection grants nothing: leave it out or 0")
            }
            Outcome::Rejected if reasons.trim().is_empty() => v.add("reasons", "required", "say why the application is rejected"),
            _ => {}
        }
        v.finish()?;
        let decision = Decision {
            input: DecisionInput { reference, reasons: reasons.clone(), ..input.clone() },
            decided_by: who(p),
            decided_at: self.registry.now(),
        };
        self.handle(p, id, expected_version, move |_, row, programme| {
            Box::pin(async move {
                if row.status != "submitted" {
                    return Err(conflict(
                        "not_submitted",
                        format!(
                            "the application is {}; a sent application (not one waiting for completion) is decided",
                            row.status.replace('_', " ")
                        ),
                    ));
                }
                if programme.kind == "application"
                    && decision.input.outcome == Outcome::Approved
                    && row.requested_minor.is_some_and(|r| decision.input.amount_minor > r)
                {
                    return Err(Error::invalid("amountMinor", "over_requested", "more than the association asked for"));
                }
                row.status = match decision.input.outcome {
                    Outcome::Approved => "approved",
                    Outcome::Rejected => "rejected",
                }
                .into();
                row.decision = Some(serde_json::to_value(&decision).expect("JSON"));
                Ok(Some(
                    serde_json::json!({"event": row.status, "amountMinor": decision.input.amount_minor, "message": decision.input.reasons}),
                ))
            })
        })
        .await
    }
}

/// Which states of an application its representative may act in.
#[derive(Debug, Clone, Copy)]
enum Editable {
    /// A draft, or one asked to be completed: changed, sent, attachments and lists.
    Open,
    /// Not yet decided: withdrawn.
    Undecided,
}

/// Whether a programme takes (first) applications now.
fn open_for_applications(p: &Programme, now: chrono::DateTime<Utc>) -> Result<()> {
    if now < p.input.applications_open || now >= p.input.applications_close {
        return Err(Error::Conflict {
            field: Some("programmeId".into()),
            rule: "outside_application_period",
            message: format!(
                "applications to '{}' are taken from {} to {}",
                p.input.name,
                p.input.applications_open.format("%Y-%m-%d %H:%M UTC"),
                p.input.applications_close.format("%Y-%m-%d %H:%M UTC")
            ),
        });
    }
    Ok(())
}

/// What the change log keeps of an application: the municipality (for its audit trail), the
/// state and amounts; never the account's number or the texts' personal details beyond what
/// was sent.
fn audit_view(a: &Application, municipality: &str) -> serde_json::Value {
    serde_json::json!({
        "municipalityCode": municipality,
        "programmeId": a.programme_id,
        "associationId": a.input.association_id,
        "status": a.status,
        "title": a.input.title,
        "requestedMinor": a.input.requested_minor,
        "computedMinor": a.computed_minor,
        "assessment": a.assessment,
        "decision": a.decision,
        "attachments": a.attachments.iter().map(|x| x.id).collect::<Vec<_>>(),
        "attendanceLists": a.attendance_lists.iter().map(|x| x.id).collect::<Vec<_>>(),
        "version": a.version,
    })
}

/// A basic grant from the association's member statistics of the rules' year: `Ok((öre, how))`
/// or the rule it breaks.
async fn basic_grant(
    conn: &mut AsyncPgConnection,
    association: Uuid,
    rules: &BasicRules,
) -> Result<std::result::Result<(i64, serde_json::Value), (&'static str, String)>> {
    let Some(a) = registry_core::db::associations::load(conn, association, false).await? else {
        return Ok(Err(("not_found", "the association was not found".into())));
    };
    let Some(stats) = a.member_statistics_by_year.iter().flatten().find(|s| s.year == rules.year) else {
        return Ok(Err(("required", format!("report the association's member statistics for {} first", rules.year))));
    };
    let mut members = 0u64;
    let mut amount = 0i64;
    let mut bands = Vec::new();
    for b in &rules.amounts {
        let n: u64 = stats.counts.iter().filter(|c| c.age_band == b.age_band).map(|c| u64::from(c.count)).sum();
        members += n;
        amount += n as i64 * b.amount_minor;
        bands.push(serde_json::json!({"ageBand": b.age_band, "members": n, "amountMinor": n as i64 * b.amount_minor}));
    }
    if members < u64::from(rules.min_members) {
        return Ok(Err((
            "too_few_members",
            format!("{members} members in the bands counted; the programme asks for at least {}", rules.min_members),
        )));
    }
    let capped = rules.max_amount_minor.map_or(amount, |m| amount.min(m));
    Ok(Ok((capped, serde_json::json!({"year": rules.year, "bands": bands, "members": members, "beforeCapMinor": amount}))))
}

/// A fresh unique id of at most `max` characters for payment files: `prefix` and the end of a
/// UUIDv7 (its random part).
pub(crate) fn short_id(prefix: &str, max: usize) -> String {
    let u = Uuid::now_v7().simple().to_string();
    let keep = max.saturating_sub(prefix.len()).min(32);
    format!("{prefix}{}", &u[32 - keep..])
}

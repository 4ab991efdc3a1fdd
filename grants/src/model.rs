//! The domain: programmes and their rules, applications, attachments, attendance lists,
//! assessments and decisions, payment orders and payments, as clients send and see them (JSON
//! field names are lowerCamelCase, as everywhere).

use chrono::{DateTime, NaiveDate, Utc};
use registry_core::model::association::AgeBand;
use uuid::Uuid;

use crate::account::Account;
use crate::rules::ActivityRules;

/// What a programme grants by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantProgrammeKind))]
pub enum ProgrammeKind {
    /// Activity grant (aktivitetsstöd): per participant-occasion, from attendance lists.
    Activity,
    /// Basic grant (grundbidrag): per member in an age band, from the year's member statistics.
    Basic,
    /// Decided case by case: projects, events, facility running costs.
    Application,
}

impl ProgrammeKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activity => "activity",
            Self::Basic => "basic",
            Self::Application => "application",
        }
    }

    /// From the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "activity" => Self::Activity,
            "basic" => Self::Basic,
            "application" => Self::Application,
            _ => return None,
        })
    }
}

/// A basic grant's amount per member in one age band.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandAmount {
    /// The member statistics. age band (`AGE_BAND_7_TO_12`, …).
    pub age_band: AgeBand,
    /// Öre per member.
    pub amount_minor: i64,
}

/// The rules of a basic grant (grundbidrag).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasicRules {
    /// The member statistics' year it is computed from.
    pub year: i32,
    /// Öre per member, per age band (bands not listed give nothing).
    pub amounts: Vec<BandAmount>,
    /// Members (in the bands listed) an association needs at least (default 0).
    #[serde(default)]
    pub min_members: u32,
    /// The most one association gets, öre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount_minor: Option<i64>,
}

/// The rules of an application grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationRules {
    /// The most one application may ask for, öre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount_minor: Option<i64>,
    /// Attachments required (e.g. a budget and a project plan); default none.
    #[serde(default)]
    pub min_attachments: u8,
}

/// A programme as written by staff.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantProgrammeInput))]
pub struct ProgrammeInput {
    /// The municipality (kommunkod).
    pub municipality_code: String,
    /// Name, e.g. `Aktivitetsstöd hösten 2027`.
    pub name: String,
    /// What it is for, who may apply, how it is decided (published).
    #[serde(default)]
    pub description: String,
    /// What it grants by.
    pub kind: ProgrammeKind,
    /// `activity`: the rules (default: the national LOK model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityRules>,
    /// `basic`: the rules (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicRules>,
    /// `application`: the rules (default: no cap, no attachments required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<ApplicationRules>,
    /// The activity period a grant is for: first date.
    pub period_from: NaiveDate,
    /// Last date (at most a year after the first).
    pub period_to: NaiveDate,
    /// When applications open.
    pub applications_open: DateTime<Utc>,
    /// When applications close.
    pub applications_close: DateTime<Utc>,
    /// The budget, öre.
    pub budget_minor: i64,
}

/// A programme, with how much of its budget is decided and paid.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantProgramme))]
pub struct Programme {
    /// Id.
    pub id: Uuid,
    /// As written.
    #[serde(flatten)]
    pub input: ProgrammeInput,
    /// Approved in decisions, öre.
    pub decided_minor: i64,
    /// Paid (in attested payment orders), öre.
    pub paid_minor: i64,
    /// Budget not yet decided, öre (negative: over budget).
    pub remaining_minor: i64,
    /// Version.
    pub version: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An application as an association's representative writes it (a draft until sent).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantApplicationInput))]
pub struct ApplicationInput {
    /// The association applying.
    pub association_id: Uuid,
    /// A short title (required for application grants).
    #[serde(default)]
    pub title: String,
    /// What the money is for (required for application grants).
    #[serde(default)]
    pub description: String,
    /// The amount asked for, öre (application grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_minor: Option<i64>,
    /// The association's account for the payout (required to send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee: Option<Account>,
}

/// An attachment (its content is downloaded on its own).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantAttachment))]
pub struct Attachment {
    /// Id.
    pub id: Uuid,
    /// File name as uploaded.
    pub file_name: String,
    /// Its type, as recognised from its content.
    pub content_type: String,
    /// Bytes.
    pub size_bytes: i32,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An attendance list's summary (the per-row report is in [`AttendanceReport`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttendanceList {
    /// Id.
    pub id: Uuid,
    /// File name as uploaded.
    pub file_name: String,
    /// Rows read.
    pub rows: i32,
    /// Occasions (sammankomster) in it.
    pub occasions: i32,
    /// Occasions that count.
    pub occasions_counted: i32,
    /// Participant-occasions that count.
    pub participant_occasions: i32,
    /// What it gives, öre.
    pub amount_minor: i64,
    /// What counted and why not: counts per reason and the first rows not counted (line and
    /// reason; never a personal identity number).
    pub report: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The case officer's assessment (handläggning).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantAssessment))]
pub struct Assessment {
    /// The officer's assessment.
    pub text: String,
    /// The amount proposed, öre.
    pub proposed_minor: i64,
    /// Who assessed it.
    pub assessed_by: String,
    /// When.
    pub assessed_at: DateTime<Utc>,
}

/// On what authority a decision is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantAuthority))]
pub enum Authority {
    /// By an officer under the committee's delegation (delegationsbeslut).
    Delegation,
    /// By the committee (nämnden) itself, after preparation (beredning).
    Committee,
}

/// What is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantOutcome))]
pub enum Outcome {
    /// Granted (beviljat), with an amount.
    Approved,
    /// Rejected (avslag), with reasons.
    Rejected,
}

/// A decision as staff record it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantDecisionInput))]
pub struct DecisionInput {
    /// Approved or rejected.
    pub outcome: Outcome,
    /// Öre granted (approved: more than 0; rejected: 0 or left out).
    #[serde(default)]
    pub amount_minor: i64,
    /// The reasons (required when rejected; shown to the association).
    #[serde(default)]
    pub reasons: String,
    /// On what authority.
    pub authority: Authority,
    /// The delegation's point or the committee's minutes, e.g. `Delegationsordning 4.2` or
    /// `Kultur- och fritidsnämnden 2027-03-14 § 12`.
    pub reference: String,
}

/// A decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantDecision))]
pub struct Decision {
    /// As recorded.
    #[serde(flatten)]
    pub input: DecisionInput,
    /// Who decided (the officer, or who recorded the committee's decision).
    pub decided_by: String,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// An application, with its attachments, attendance lists, assessment, decision and payment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantApplication))]
pub struct Application {
    /// Id.
    pub id: Uuid,
    /// The programme.
    pub programme_id: Uuid,
    /// As written.
    #[serde(flatten)]
    pub input: ApplicationInput,
    /// The association's name.
    pub association_name: String,
    /// `draft`, `submitted`, `completion_requested`, `withdrawn`, `approved` or `rejected`.
    pub status: String,
    /// What the programme's rules give, öre (activity and basic grants).
    pub computed_minor: i64,
    /// How it was computed.
    pub computation: serde_json::Value,
    /// What the municipality asked to be completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_message: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Attendance lists (activity grants).
    pub attendance_lists: Vec<AttendanceList>,
    /// The assessment (staff only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    /// The decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The payment, once ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentState>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    /// Version.
    pub version: i64,
}

/// Where an application's payment is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantPaymentState))]
pub struct PaymentState {
    /// The payment order.
    pub order_id: Uuid,
    /// `prepared` (waiting for attestation) or `attested` (paid on `paidOn`).
    pub status: String,
    /// Öre.
    pub amount_minor: i64,
    /// The execution date, once attested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_on: Option<NaiveDate>,
}

/// The paying municipality, as a payment order names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantDebtor))]
pub struct Debtor {
    /// Name, e.g. `Malmö stad`.
    pub name: String,
    /// The municipality's organisation number.
    pub org_number: String,
    /// The account paid from.
    pub account: Account,
    /// The bank's BIC, if the bank asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
}

/// A payment order as staff prepare it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantPaymentOrderInput))]
pub struct PaymentOrderInput {
    /// The municipality.
    pub municipality_code: String,
    /// The approved applications to pay (each at most once).
    pub application_ids: Vec<Uuid>,
    /// When the bank pays.
    pub execution_date: NaiveDate,
    /// Who pays from which account.
    pub debtor: Debtor,
}

/// One payment of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantPayment))]
pub struct Payment {
    /// The application.
    pub application_id: Uuid,
    /// The programme.
    pub programme_id: Uuid,
    /// The association.
    pub association_id: Uuid,
    /// Its name.
    pub association_name: String,
    /// Öre.
    pub amount_minor: i64,
    /// To which account.
    pub account: Account,
    /// The payment's end-to-end id in the file.
    pub end_to_end_id: String,
    /// The text on the association's statement.
    pub remittance: String,
    /// Paid on, once attested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_on: Option<NaiveDate>,
}

/// A payment order (utbetalningsorder).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GrantPaymentOrder))]
pub struct PaymentOrder {
    /// Id.
    pub id: Uuid,
    /// The municipality.
    pub municipality_code: String,
    /// `prepared`, `attested` (the file may be fetched; the payments are in the ledger) or
    /// `cancelled`.
    pub status: String,
    /// When the bank pays.
    pub execution_date: NaiveDate,
    /// Who pays.
    pub debtor: Debtor,
    /// The file's message id.
    pub message_id: String,
    /// Öre in all.
    pub total_minor: i64,
    /// Its payments.
    pub payments: Vec<Payment>,
    /// Who prepared it.
    pub prepared_by: String,
    /// When.
    pub prepared_at: DateTime<Utc>,
    /// Who attested it (never the one who prepared it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attested_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attested_at: Option<DateTime<Utc>>,
    /// SHA-256 of the payment file, once attested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// Version.
    pub version: i64,
}

/// A decided grant as open data: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicDecision {
    /// The application.
    pub application_id: Uuid,
    /// The municipality.
    pub municipality_code: String,
    /// The programme.
    pub programme_id: Uuid,
    /// Its name.
    pub programme: String,
    /// Its kind.
    pub kind: ProgrammeKind,
    /// The association.
    pub association_id: Uuid,
    /// Its name.
    pub association_name: String,
    /// Its organisation number.
    pub org_number: String,
    /// Approved or rejected.
    pub outcome: Outcome,
    /// Öre granted.
    pub amount_minor: i64,
    /// On what authority, and the reference.
    pub authority: Authority,
    /// The delegation's point or the committee's minutes.
    pub reference: String,
    /// When.
    pub decided_on: NaiveDate,
}

/// Figures of one municipality's grants (for national bodies).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MunicipalityGrantFigures {
    /// The municipality.
    pub municipality_code: String,
    /// Programmes whose period starts in the year.
    pub programmes: i64,
    /// Applications sent.
    pub applications: i64,
    /// Approved.
    pub approved: i64,
    /// Rejected.
    pub rejected: i64,
    /// Associations granted.
    pub associations: i64,
    /// Öre approved.
    pub decided_minor: i64,
    /// Öre paid.
    pub paid_minor: i64,
    /// Öre budgeted.
    pub budget_minor: i64,
}

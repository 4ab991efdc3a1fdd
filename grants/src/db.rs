//! Storage of programmes, applications, attachments, attendance lists, payment orders and
//! payments (migration `000020_grants`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

diesel::table! {
    grant_programmes (id) {
        id -> Uuid,
        municipality_code -> Text,
        name -> Text,
        description -> Text,
        kind -> Text,
        rules -> Jsonb,
        period_from -> Date,
        period_to -> Date,
        applications_open -> Timestamptz,
        applications_close -> Timestamptz,
        budget_minor -> Int8,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    grant_applications (id) {
        id -> Uuid,
        programme_id -> Uuid,
        association_id -> Uuid,
        status -> Text,
        title -> Text,
        description -> Text,
        requested_minor -> Nullable<Int8>,
        payee -> Nullable<Jsonb>,
        computed_minor -> Int8,
        computation -> Jsonb,
        completion_message -> Nullable<Text>,
        assessment -> Nullable<Jsonb>,
        decision -> Nullable<Jsonb>,
        created_by -> Text,
        created_at -> Timestamptz,
        submitted_at -> Nullable<Timestamptz>,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    grant_attachments (id) {
        id -> Uuid,
        application_id -> Uuid,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> Int4,
        sha256 -> Text,
        uploaded_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    grant_attachment_contents (attachment_id) {
        attachment_id -> Uuid,
        content -> Bytea,
    }
}

diesel::table! {
    grant_attendance_lists (id) {
        id -> Uuid,
        application_id -> Uuid,
        file_name -> Text,
        rows_total -> Int4,
        occasions -> Int4,
        occasions_counted -> Int4,
        participant_occasions -> Int4,
        amount_minor -> Int8,
        report -> Jsonb,
        uploaded_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    grant_occasions (list_id, occasion_key) {
        list_id -> Uuid,
        programme_id -> Uuid,
        association_id -> Uuid,
        occasion_key -> Text,
        date -> Date,
        start_minute -> Int2,
        end_minute -> Int2,
        group_name -> Text,
        counted -> Bool,
        reason -> Nullable<Text>,
        participants -> Int4,
        leaders -> Int4,
        amount_minor -> Int8,
    }
}

diesel::table! {
    grant_payment_orders (id) {
        id -> Uuid,
        municipality_code -> Text,
        status -> Text,
        execution_date -> Date,
        debtor -> Jsonb,
        message_id -> Text,
        total_minor -> Int8,
        payments -> Int4,
        prepared_by -> Text,
        prepared_at -> Timestamptz,
        attested_by -> Nullable<Text>,
        attested_at -> Nullable<Timestamptz>,
        file_sha256 -> Nullable<Text>,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    grant_payments (id) {
        id -> Uuid,
        order_id -> Uuid,
        application_id -> Uuid,
        programme_id -> Uuid,
        association_id -> Uuid,
        amount_minor -> Int8,
        account -> Jsonb,
        end_to_end_id -> Text,
        remittance -> Text,
        paid_on -> Nullable<Date>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(grant_programmes, grant_applications, grant_payments, grant_payment_orders);

/// A stored programme.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = grant_programmes)]
pub struct ProgrammeRow {
    pub id: Uuid,
    pub municipality_code: String,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub rules: Value,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub applications_open: DateTime<Utc>,
    pub applications_close: DateTime<Utc>,
    pub budget_minor: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored application.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = grant_applications, treat_none_as_null = true)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub association_id: Uuid,
    pub status: String,
    pub title: String,
    pub description: String,
    pub requested_minor: Option<i64>,
    pub payee: Option<Value>,
    pub computed_minor: i64,
    pub computation: Value,
    pub completion_message: Option<String>,
    pub assessment: Option<Value>,
    pub decision: Option<Value>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// A stored attachment's metadata.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grant_attachments)]
pub struct AttachmentRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

/// A stored attendance list.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grant_attendance_lists)]
pub struct AttendanceRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub file_name: String,
    pub rows_total: i32,
    pub occasions: i32,
    pub occasions_counted: i32,
    pub participant_occasions: i32,
    pub amount_minor: i64,
    pub report: Value,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

/// A stored occasion of an attendance list.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grant_occasions)]
pub struct OccasionRow {
    pub list_id: Uuid,
    pub programme_id: Uuid,
    pub association_id: Uuid,
    pub occasion_key: String,
    pub date: NaiveDate,
    pub start_minute: i16,
    pub end_minute: i16,
    pub group_name: String,
    pub counted: bool,
    pub reason: Option<String>,
    pub participants: i32,
    pub leaders: i32,
    pub amount_minor: i64,
}

/// A stored payment order.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = grant_payment_orders, treat_none_as_null = true)]
pub struct OrderRow {
    pub id: Uuid,
    pub municipality_code: String,
    pub status: String,
    pub execution_date: NaiveDate,
    pub debtor: Value,
    pub message_id: String,
    pub total_minor: i64,
    pub payments: i32,
    pub prepared_by: String,
    pub prepared_at: DateTime<Utc>,
    pub attested_by: Option<String>,
    pub attested_at: Option<DateTime<Utc>>,
    pub file_sha256: Option<String>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// A stored payment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grant_payments)]
pub struct PaymentRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub application_id: Uuid,
    pub programme_id: Uuid,
    pub association_id: Uuid,
    pub amount_minor: i64,
    pub account: Value,
    pub end_to_end_id: String,
    pub remittance: String,
    pub paid_on: Option<NaiveDate>,
}

/// One programme, locked for update when `lock`.
pub async fn programme(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<ProgrammeRow>> {
    let q = grant_programmes::table.find(id).select(ProgrammeRow::as_select());
    if lock { q.for_update().first(conn).await.optional() } else { q.first(conn).await.optional() }
}

/// Programmes, newest period first, of one municipality or all.
pub async fn programmes(conn: &mut AsyncPgConnection, municipality: Option<&str>) -> QueryResult<Vec<ProgrammeRow>> {
    let mut q = grant_programmes::table
        .select(ProgrammeRow::as_select())
        .order((grant_programmes::period_from.desc(), grant_programmes::id))
        .limit(500)
        .into_boxed();
    if let Some(m) = municipality {
        q = q.filter(grant_programmes::municipality_code.eq(m.to_string()));
    }
    q.load(conn).await
}

/// Stores a new programme.
pub async fn insert_programme(conn: &mut AsyncPgConnection, r: &ProgrammeRow) -> QueryResult<()> {
    diesel::insert_into(grant_programmes::table).values(r).execute(conn).await.map(|_| ())
}

/// Stores a programme's new state.
pub async fn update_programme(conn: &mut AsyncPgConnection, r: &ProgrammeRow) -> QueryResult<()> {
    diesel::update(grant_programmes::table.find(r.id)).set(r).execute(conn).await.map(|_| ())
}

/// Per programme: öre approved and öre paid.
pub async fn budget_use(conn: &mut AsyncPgConnection, programmes: &[Uuid]) -> QueryResult<Vec<(Uuid, i64, i64)>> {
    use diesel::sql_types::{Array, Int8, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct Use {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Int8)]
        decided: i64,
        #[diesel(sql_type = Int8)]
        paid: i64,
    }
    let rows: Vec<Use> = diesel::sql_query(
        "SELECT p.id, \
           coalesce((SELECT sum((a.decision ->> 'amountMinor')::bigint) FROM grant_applications a \
                     WHERE a.programme_id = p.id AND a.status = 'approved'), 0)::bigint AS decided, \
           coalesce((SELECT sum(y.amount_minor) FROM grant_payments y WHERE y.programme_id = p.id AND y.paid_on IS NOT NULL), 0)::bigint AS paid \
         FROM grant_programmes p WHERE p.id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(programmes)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|u| (u.id, u.decided, u.paid)).collect())
}

/// One application, locked for update when `lock`.
pub async fn application(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<ApplicationRow>> {
    let q = grant_applications::table.find(id).select(ApplicationRow::as_select());
    if lock { q.for_update().first(conn).await.optional() } else { q.first(conn).await.optional() }
}

/// Applications of a programme (or all of a municipality's), oldest first, optionally of some
/// associations only and in some states only.
pub async fn applications(
    conn: &mut AsyncPgConnection,
    programme: Option<Uuid>,
    municipality: Option<&str>,
    of: Option<&[Uuid]>,
    status: Option<&str>,
) -> QueryResult<Vec<ApplicationRow>> {
    let mut q = grant_applications::table
        .inner_join(grant_programmes::table.on(grant_programmes::id.eq(grant_applications::programme_id)))
        .select(ApplicationRow::as_select())
        .order((grant_applications::created_at, grant_applications::id))
        .limit(5000)
        .into_boxed();
    if let Some(p) = programme {
        q = q.filter(grant_applications::programme_id.eq(p));
    }
    if let Some(m) = municipality {
        q = q.filter(grant_programmes::municipality_code.eq(m.to_string()));
    }
    if let Some(of) = of {
        q = q.filter(grant_applications::association_id.eq_any(of.to_vec()));
    }
    if let Some(s) = status {
        q = q.filter(grant_applications::status.eq(s.to_string()));
    }
    q.load(conn).await
}

/// Stores a new application.
pub async fn insert_application(conn: &mut AsyncPgConnection, r: &ApplicationRow) -> QueryResult<()> {
    diesel::insert_into(grant_applications::table).values(r).execute(conn).await.map(|_| ())
}

/// Stores an application's new state.
pub async fn update_application(conn: &mut AsyncPgConnection, r: &ApplicationRow) -> QueryResult<()> {
    diesel::update(grant_applications::table.find(r.id)).set(r).execute(conn).await.map(|_| ())
}

/// An application's attachments, oldest first.
pub async fn attachments(conn: &mut AsyncPgConnection, application: Uuid) -> QueryResult<Vec<AttachmentRow>> {
    grant_attachments::table
        .filter(grant_attachments::application_id.eq(application))
        .order((grant_attachments::created_at, grant_attachments::id))
        .select(AttachmentRow::as_select())
        .load(conn)
        .await
}

/// One attachment's metadata.
pub async fn attachment(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AttachmentRow>> {
    grant_attachments::table.find(id).select(AttachmentRow::as_select()).first(conn).await.optional()
}

/// One attachment's content.
pub async fn attachment_content(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Vec<u8>>> {
    grant_attachment_contents::table.find(id).select(grant_attachment_contents::content).first(conn).await.optional()
}

/// Stores an attachment and its content.
pub async fn insert_attachment(conn: &mut AsyncPgConnection, r: &AttachmentRow, content: &[u8]) -> QueryResult<()> {
    diesel::insert_into(grant_attachments::table).values(r).execute(conn).await?;
    diesel::insert_into(grant_attachment_contents::table)
        .values((grant_attachment_contents::attachment_id.eq(r.id), grant_attachment_contents::content.eq(content)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Removes an attachment (its content goes with it).
pub async fn delete_attachment(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(grant_attachments::table.find(id)).execute(conn).await
}

/// An application's attendance lists, oldest first.
pub async fn attendance_lists(conn: &mut AsyncPgConnection, application: Uuid) -> QueryResult<Vec<AttendanceRow>> {
    grant_attendance_lists::table
        .filter(grant_attendance_lists::application_id.eq(application))
        .order((grant_attendance_lists::created_at, grant_attendance_lists::id))
        .select(AttendanceRow::as_select())
        .load(conn)
        .await
}

/// Stores an attendance list and its occasions.
pub async fn insert_attendance(conn: &mut AsyncPgConnection, r: &AttendanceRow, occasions: &[OccasionRow]) -> QueryResult<()> {
    diesel::insert_into(grant_attendance_lists::table).values(r).execute(conn).await?;
    for chunk in occasions.chunks(2000) {
        diesel::insert_into(grant_occasions::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

/// Removes an attendance list (its occasions go with it).
pub async fn delete_attendance(conn: &mut AsyncPgConnection, id: Uuid, application: Uuid) -> QueryResult<usize> {
    diesel::delete(grant_attendance_lists::table.find(id).filter(grant_attendance_lists::application_id.eq(application)))
        .execute(conn)
        .await
}

/// The occasion keys already counted for an association in a programme.
pub async fn counted_keys(conn: &mut AsyncPgConnection, programme: Uuid, association: Uuid) -> QueryResult<Vec<String>> {
    grant_occasions::table
        .filter(grant_occasions::programme_id.eq(programme))
        .filter(grant_occasions::association_id.eq(association))
        .filter(grant_occasions::counted.eq(true))
        .select(grant_occasions::occasion_key)
        .load(conn)
        .await
}

/// One payment order, locked for update when `lock`.
pub async fn order(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> QueryResult<Option<OrderRow>> {
    let q = grant_payment_orders::table.find(id).select(OrderRow::as_select());
    if lock { q.for_update().first(conn).await.optional() } else { q.first(conn).await.optional() }
}

/// A municipality's payment orders, newest first.
pub async fn orders(conn: &mut AsyncPgConnection, municipality: &str) -> QueryResult<Vec<OrderRow>> {
    grant_payment_orders::table
        .filter(grant_payment_orders::municipality_code.eq(municipality))
        .order((grant_payment_orders::prepared_at.desc(), grant_payment_orders::id))
        .select(OrderRow::as_select())
        .limit(500)
        .load(conn)
        .await
}

/// Stores a new payment order with its payments.
pub async fn insert_order(conn: &mut AsyncPgConnection, r: &OrderRow, payments: &[PaymentRow]) -> QueryResult<()> {
    diesel::insert_into(grant_payment_orders::table).values(r).execute(conn).await?;
    for chunk in payments.chunks(2000) {
        diesel::insert_into(grant_payments::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

/// Stores an order's new state.
pub async fn update_order(conn: &mut AsyncPgConnection, r: &OrderRow) -> QueryResult<()> {
    diesel::update(grant_payment_orders::table.find(r.id)).set(r).execute(conn).await.map(|_| ())
}

/// An order's payments, in the order they were added.
pub async fn payments_of(conn: &mut AsyncPgConnection, order: Uuid) -> QueryResult<Vec<PaymentRow>> {
    grant_payments::table
        .filter(grant_payments::order_id.eq(order))
        .order(grant_payments::end_to_end_id)
        .select(PaymentRow::as_select())
        .load(conn)
        .await
}

/// Marks an order's payments paid on a date.
pub async fn mark_paid(conn: &mut AsyncPgConnection, order: Uuid, on: NaiveDate) -> QueryResult<usize> {
    diesel::update(grant_payments::table.filter(grant_payments::order_id.eq(order))).set(grant_payments::paid_on.eq(on)).execute(conn).await
}

/// Removes an order's payments (a cancelled order frees its applications).
pub async fn delete_payments(conn: &mut AsyncPgConnection, order: Uuid) -> QueryResult<usize> {
    diesel::delete(grant_payments::table.filter(grant_payments::order_id.eq(order))).execute(conn).await
}

/// The payment of each application given that has one: (application, order, order status,
/// amount, paid on).
pub async fn payment_states(
    conn: &mut AsyncPgConnection,
    applications: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid, String, i64, Option<NaiveDate>)>> {
    grant_payments::table
        .inner_join(grant_payment_orders::table.on(grant_payment_orders::id.eq(grant_payments::order_id)))
        .filter(grant_payments::application_id.eq_any(applications.to_vec()))
        .select((
            grant_payments::application_id,
            grant_payments::order_id,
            grant_payment_orders::status,
            grant_payments::amount_minor,
            grant_payments::paid_on,
        ))
        .load(conn)
        .await
}

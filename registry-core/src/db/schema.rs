//! Diesel table definitions, kept by hand in step with `migrations/`.
#![allow(missing_docs)]

diesel::table! {
    counties (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    municipalities (code) {
        code -> Text,
        name -> Text,
        county_code -> Text,
    }
}

diesel::table! {
    facility_categories (code) {
        code -> Text,
        name_sv -> Text,
        name_en -> Text,
    }
}

diesel::table! {
    activities (code) {
        code -> Text,
        name_sv -> Text,
        name_en -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use postgis_diesel::sql_types::Geography;

    facilities (id) {
        id -> Uuid,
        municipality_code -> Text,
        name -> Text,
        description -> Text,
        category -> Text,
        activities -> Array<Text>,
        location -> Nullable<Geography>,
        street -> Text,
        postal_code -> Text,
        locality -> Text,
        ownership -> Text,
        accessibility -> Array<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        website -> Nullable<Text>,
        booking_vendor_id -> Nullable<Text>,
        booking_vendor_ref -> Nullable<Text>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        location_source -> Text,
        location_locked -> Bool,
        location_feature_id -> Nullable<Text>,
        location_match -> Nullable<Text>,
        location_synced_at -> Nullable<Timestamptz>,
        location_moved_m -> Nullable<Float8>,
    }
}

diesel::table! {
    facility_units (id) {
        id -> Uuid,
        facility_id -> Uuid,
        position -> Int4,
        name -> Text,
        category -> Text,
        capacity -> Nullable<Int4>,
        area_m2 -> Nullable<Float8>,
        bookable -> Bool,
    }
}

diesel::table! {
    associations (id) {
        id -> Uuid,
        org_number -> Text,
        name -> Text,
        municipality_code -> Text,
        activities -> Array<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        website -> Nullable<Text>,
        member_statistics -> Nullable<Jsonb>,
        registration_status -> Text,
        registration_message -> Nullable<Text>,
        registration_decided_at -> Nullable<Timestamptz>,
        contact_persons -> Jsonb,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        postal_address -> Nullable<Jsonb>,
        association_type -> Nullable<Text>,
        federations -> Array<Text>,
        founded_year -> Nullable<Int4>,
        status -> Text,
        member_statistics_by_year -> Json,
        registered_in -> Array<Text>,
        approved_in -> Array<Text>,
    }
}

diesel::table! {
    association_registrations (association_id, municipality_code) {
        association_id -> Uuid,
        municipality_code -> Text,
        status -> Text,
        message -> Nullable<Text>,
        submitted_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    association_registration_events (id) {
        id -> Int8,
        association_id -> Uuid,
        municipality_code -> Text,
        at -> Timestamptz,
        kind -> Text,
        message -> Nullable<Text>,
        by_role -> Text,
    }
}

diesel::table! {
    association_representatives (id) {
        id -> Uuid,
        association_id -> Uuid,
        person_ref -> Text,
        name -> Text,
        added_at -> Timestamptz,
        added_by_role -> Text,
    }
}

diesel::table! {
    member_statistics_reports (association_id, year, version) {
        association_id -> Uuid,
        year -> Int4,
        version -> Int4,
        counts -> Jsonb,
        reported_at -> Timestamptz,
        by_role -> Text,
    }
}

diesel::table! {
    change_log (seq) {
        seq -> Int8,
        entity -> Text,
        entity_id -> Uuid,
        operation -> Text,
        actor -> Text,
        at -> Timestamptz,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor -> Text,
        action -> Text,
        entity -> Nullable<Text>,
        entity_id -> Nullable<Uuid>,
        detail -> Jsonb,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        prefix -> Text,
        secret_hash -> Text,
        role -> Text,
        municipality_code -> Nullable<Text>,
        personal_data -> Bool,
        label -> Text,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        vendor_id -> Nullable<Uuid>,
    }
}

diesel::joinable!(municipalities -> counties (county_code));
diesel::joinable!(facility_units -> facilities (facility_id));
diesel::allow_tables_to_appear_in_same_query!(counties, municipalities, facilities, facility_units, associations);
diesel::allow_tables_to_appear_in_same_query!(associations, association_registrations, association_representatives);

diesel::table! {
    opening_hours (facility_id) {
        facility_id -> Uuid,
        unit_id -> Nullable<Uuid>,
        schedule -> Jsonb,
        version -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    oidc_logins (state_hash) {
        state_hash -> Text,
        provider -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        return_to -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        token_hash -> Text,
        person_ref -> Text,
        provider -> Text,
        display_name -> Text,
        csrf_token -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    staff (person_ref) {
        person_ref -> Text,
        municipality_code -> Text,
        label -> Text,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(sessions, staff);

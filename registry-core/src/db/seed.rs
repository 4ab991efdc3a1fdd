//! The migration that seeds the code lists from the checked-in CSV files. It is written in
//! Rust (not SQL) so the CSV files stay the one source: the same files feed validation in
//! [`crate::codes`].

use diesel::connection::BoxableConnection;
use diesel::migration::{Migration, MigrationMetadata, MigrationName, MigrationVersion, Result};
use diesel::pg::Pg;

use crate::codes;

/// Version of the seed migration; sorts between the code-list tables and the registry tables.
pub const VERSION: &str = "20261124000002";

/// Seeds counties, municipalities, facility categories and activities.
pub struct SeedCodeLists;

struct Name;

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{VERSION}_seed_code_lists")
    }
}

impl MigrationName for Name {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(VERSION)
    }
}

struct Meta;
impl MigrationMetadata for Meta {}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL that inserts every code list row.
pub fn up_sql() -> String {
    let mut sql = String::new();
    let mut counties: Vec<(&str, &str)> = Vec::new();
    for m in codes::municipalities() {
        if !counties.iter().any(|(c, _)| *c == m.county_code) {
            counties.push((&m.county_code, &m.county_name));
        }
    }
    let values = |rows: Vec<String>| rows.join(",\n");
    sql += &format!(
        "INSERT INTO counties (code, name) VALUES\n{};\n",
        values(counties.iter().map(|(c, n)| format!("({}, {})", quote(c), quote(n))).collect())
    );
    sql += &format!(
        "INSERT INTO municipalities (code, name, county_code) VALUES\n{};\n",
        values(
            codes::municipalities()
                .iter()
                .map(|m| format!("({}, {}, {})", quote(&m.code), quote(&m.name), quote(&m.county_code)))
                .collect()
        )
    );
    for (table, list) in [("facility_categories", codes::categories()), ("activities", codes::activities())] {
        sql += &format!(
            "INSERT INTO {table} (code, name_sv, name_en) VALUES\n{};\n",
            values(list.iter().map(|c| format!("({}, {}, {})", quote(&c.code), quote(&c.name_sv), quote(&c.name_en))).collect())
        );
    }
    sql
}

/// Version of the second seed: the association code lists, after the migration that makes their tables.
pub const ASSOCIATION_CODES_VERSION: &str = "20261205000015";

/// Seeds association types and federations (förbund).
pub struct SeedAssociationCodes;

struct AssociationCodesName;

impl std::fmt::Display for AssociationCodesName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{ASSOCIATION_CODES_VERSION}_seed_association_codes")
    }
}

impl MigrationName for AssociationCodesName {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(ASSOCIATION_CODES_VERSION)
    }
}

/// The SQL that inserts the association code lists.
pub fn association_codes_sql() -> String {
    let mut sql = String::new();
    for (table, list) in [("association_types", codes::association_types()), ("federations", codes::federations())] {
        sql += &format!(
            "INSERT INTO {table} (code, name_sv, name_en) VALUES\n{};\n",
            list.iter()
                .map(|c| format!("({}, {}, {})", quote(&c.code), quote(&c.name_sv), quote(&c.name_en)))
                .collect::<Vec<_>>()
                .join(",\n")
        );
    }
    sql
}

impl Migration<Pg> for SeedAssociationCodes {
    fn run(&self, conn: &mut dyn BoxableConnection<Pg>) -> Result<()> {
        conn.batch_execute(&association_codes_sql())?;
        Ok(())
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<Pg>) -> Result<()> {
        // The associations' references go first: a down migration of the seed leaves no
        // association pointing at a code that no longer exists.
        conn.batch_execute(
            "UPDATE associations SET association_type = NULL, federations = '{}'; DELETE FROM federations; DELETE FROM association_types;",
        )?;
        Ok(())
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        &Meta
    }

    fn name(&self) -> &dyn MigrationName {
        &AssociationCodesName
    }
}

impl Migration<Pg> for SeedCodeLists {
    fn run(&self, conn: &mut dyn BoxableConnection<Pg>) -> Result<()> {
        conn.batch_execute(&up_sql())?;
        Ok(())
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<Pg>) -> Result<()> {
        conn.batch_execute("DELETE FROM activities; DELETE FROM facility_categories; DELETE FROM municipalities; DELETE FROM counties;")?;
        Ok(())
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        &Meta
    }

    fn name(&self) -> &dyn MigrationName {
        &Name
    }
}

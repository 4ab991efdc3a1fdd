//! Domain types of the registry and their validation. JSON field names are the proto3 JSON
//! names (lowerCamelCase), so a REST resource and its gRPC message carry the same fields.

pub mod association;
pub mod facility;
pub mod vendor;

pub use association::*;
pub use facility::*;
pub use vendor::*;

/// Public contact details of a facility or an association (not personal data: a switchboard,
/// a shared mailbox, a web page).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number, stored without separators, e.g. `+46195880000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Web page (https:// or http://).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

impl Contact {
    pub(crate) fn validated(&self, v: &mut crate::validate::Violations, field: &str) -> Contact {
        Contact {
            email: v.email(&format!("{field}.email"), self.email.as_deref()),
            phone: v.phone(&format!("{field}.phone"), self.phone.as_deref()),
            website: v.url(&format!("{field}.website"), self.website.as_deref()),
        }
    }
}

/// Declares a closed set of codes: each variant has the code stored in the database
/// (`as_str`, `parse`) and its proto enum value name, which is its JSON form (`json_name`).
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal / $json:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $json)] $variant),+ }

        // Written by hand: the derive cannot see serde renames made inside a macro.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($json),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised code.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored code.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The proto enum value name, used in JSON.
            pub fn json_name(self) -> &'static str {
                match self { $($name::$variant => $json),+ }
            }
        }
    };
}
pub(crate) use text_enum;

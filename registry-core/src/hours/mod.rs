//! Opening hours (öppettider): the model, its validation, and evaluation into concrete open
//! intervals in Europe/Stockholm, exact across daylight-saving changes and holidays.
//!
//! A schedule has named periods (recurring date ranges such as "winter season 20 Aug – 15 May")
//! with weekly rules, date exceptions, and a holiday policy. For a given date the hours come
//! from, in order: an exception for that date; the holiday policy, if the date is a public
//! holiday or an eve and the policy says something other than "normal"; the period with the
//! highest priority that covers the date (the later one on a tie); otherwise closed.

mod eval;
pub mod jsonld;
mod model;
pub mod osm;

pub use eval::*;
pub use model::*;

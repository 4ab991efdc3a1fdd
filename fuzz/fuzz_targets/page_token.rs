//! Page tokens: the opaque `pageToken` every listing and search takes back from its caller
//! (REST query parameter, gRPC field), as the core decodes them: listings and the audit trail
//! (`PageRequest::decode`), facility search (`FacilitySearch::validate`, for each order) and
//! association search (`AssociationSearch::validate_page_token`).
//!
//! The first byte picks the page size and the search's order, and whether the rest is the token
//! or the bytes the token is the hex of (so that the fuzzer reaches the JSON of search tokens
//! and the `kind:id` of listing tokens directly, not only through hex digits). Properties:
//! no decoder panics; a token is accepted or refused as a violation of `pageToken` (a 400),
//! never another error; the empty token is always the first page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_core::Error;
use registry_core::geo::LatLon;
use registry_core::search::{AssociationSearch, FacilitySearch, SearchOrder};
use registry_core::service::PageRequest;

fn only_page_token(what: &str, token: &str, r: Result<(), Error>) {
    match r {
        Ok(()) => {}
        Err(Error::Invalid(v)) if !v.is_empty() && v.iter().all(|v| v.field == "pageToken") => {}
        Err(e) => panic!("{what}: token {token:?} gave {e:?}, not a pageToken violation"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let token: String = if selector & 0x20 != 0 {
        rest.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_string(),
            Err(_) => return,
        }
    };
    let token = token.as_str();
    let page_size = [0, 1, 50, 500, 10_000][usize::from(selector & 0x7) % 5];
    for kind in ["f", "au"] {
        let page = PageRequest { page_size, page_token: token.to_string() };
        only_page_token(
            kind,
            token,
            page.decode(kind).map(|(limit, after)| {
                assert!((1..=500).contains(&limit), "limit {limit}");
                assert_eq!(after.is_none(), token.is_empty(), "{kind}: {token:?} decoded to {after:?}");
            }),
        );
    }
    // A facility search that would be valid without the token, in each order.
    let order = [None, Some(SearchOrder::Name), Some(SearchOrder::Relevance), Some(SearchOrder::Distance)][usize::from(selector >> 6)];
    let search = FacilitySearch {
        near: matches!(order, Some(SearchOrder::Distance) | None).then_some(LatLon { lat: 59.3293, lon: 18.0686 }),
        q: matches!(order, Some(SearchOrder::Relevance)).then(|| "simhall".to_string()),
        order,
        page_size: 20,
        page_token: token.to_string(),
        ..FacilitySearch::default()
    };
    only_page_token("facility search", token, search.validate());
    let search = AssociationSearch { page_size: 20, page_token: token.to_string(), ..AssociationSearch::default() };
    only_page_token("association search", token, search.validate_page_token());
});

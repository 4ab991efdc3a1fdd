//! Associations as NDJSON, written by the registry from `COPY … (FORMAT binary)` rows.
//!
//! PostgreSQL's JSON functions cost more than the rest of an export together (about 90,000
//! rows/s for `json_build_object` against 280,000 for the raw columns on the benchmark
//! machine), so for the largest export PostgreSQL sends the columns in its binary format,
//! which is cheap to produce and to read, and the registry writes the JSON on its own core.
//! The output has exactly the fields of `Association` as the REST API serialises it. The
//! columns come in the order `db/exports.rs` selects them.

use super::ExportFields;

/// PostgreSQL's binary COPY signature, flags and header extension length.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
const HEADER_LEN: usize = SIGNATURE.len() + 8;

/// Decodes binary COPY data into NDJSON lines. Data may arrive split anywhere.
#[derive(Debug)]
pub struct AssociationDecoder {
    statistics: bool,
    personal: bool,
    pending: Vec<u8>,
    header_seen: bool,
    finished: bool,
}

/// A malformed binary COPY stream (a bug or a server we do not understand).
#[derive(Debug, thiserror::Error)]
#[error("unexpected binary COPY data: {0}")]
pub struct DecodeError(&'static str);

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }

    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|b| i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// One field: `None` when incomplete, `Some(None)` for NULL.
    fn field(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            return Some(None);
        }
        self.take(len as usize).map(Some)
    }
}

fn i64_of(b: &[u8]) -> Result<i64, DecodeError> {
    b.try_into().map(i64::from_be_bytes).map_err(|_| DecodeError("an 8-byte integer"))
}

/// Writes `s` as a JSON string.
fn string(out: &mut Vec<u8>, s: &[u8]) -> Result<(), DecodeError> {
    let s = std::str::from_utf8(s).map_err(|_| DecodeError("UTF-8 text"))?;
    serde_json::to_writer(&mut *out, s).map_err(|_| DecodeError("a JSON string"))
}

fn uuid(out: &mut Vec<u8>, b: &[u8]) -> Result<(), DecodeError> {
    let id = uuid::Uuid::from_slice(b).map_err(|_| DecodeError("a 16-byte uuid"))?;
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes());
    out.push(b'"');
    Ok(())
}

/// A timestamptz (microseconds since 2000-01-01 UTC) as `"2026-11-24T10:00:00.000000Z"`.
fn timestamp(out: &mut Vec<u8>, b: &[u8]) -> Result<(), DecodeError> {
    const EPOCH_2000: i64 = 946_684_800_000_000;
    let micros = i64_of(b)?.checked_add(EPOCH_2000).ok_or(DecodeError("a timestamp in range"))?;
    let t = chrono::DateTime::from_timestamp_micros(micros).ok_or(DecodeError("a timestamp in range"))?;
    use std::io::Write;
    write!(out, "\"{}\"", t.format("%Y-%m-%dT%H:%M:%S%.6fZ")).map_err(|_| DecodeError("a timestamp"))
}

/// A one-dimensional text[] as a JSON array of strings.
fn text_array(out: &mut Vec<u8>, b: &[u8]) -> Result<(), DecodeError> {
    let mut r = Reader { data: b, at: 0 };
    let bad = DecodeError("a text[]");
    let ndim = r.i32().ok_or(DecodeError("a text[]"))?;
    r.take(8).ok_or(DecodeError("a text[]"))?; // has-nulls flag, element type
    out.push(b'[');
    if ndim == 1 {
        let n = r.i32().ok_or(DecodeError("a text[]"))?;
        r.take(4).ok_or(DecodeError("a text[]"))?; // lower bound
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            match r.field().ok_or(DecodeError("a text[] element"))? {
                Some(s) => string(out, s)?,
                None => out.extend_from_slice(b"null"),
            }
        }
    } else if ndim != 0 {
        return Err(bad);
    }
    out.push(b']');
    Ok(())
}

/// jsonb in binary: a version byte (1), then the JSON text.
fn jsonb(out: &mut Vec<u8>, b: &[u8]) -> Result<(), DecodeError> {
    match b.split_first() {
        Some((1, text)) => {
            out.extend_from_slice(text);
            Ok(())
        }
        _ => Err(DecodeError("jsonb version 1")),
    }
}

impl AssociationDecoder {
    /// A decoder for rows selected with `fields`.
    pub fn new(fields: &ExportFields) -> Self {
        AssociationDecoder {
            statistics: fields.member_statistics,
            personal: fields.contact_persons,
            pending: Vec::new(),
            header_seen: false,
            finished: false,
        }
    }

    fn columns(&self) -> usize {
        20 + 2 * usize::from(self.statistics) + usize::from(self.personal)
    }

    /// Takes the next piece of COPY data; appends a line to `out` for each complete row and
    /// returns how many.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<u64, DecodeError> {
        let mut own = std::mem::take(&mut self.pending);
        let input: &[u8] = if own.is_empty() {
            data
        } else {
            own.extend_from_slice(data);
            &own
        };
        let mut r = Reader { data: input, at: 0 };
        if !self.header_seen {
            let Some(head) = r.take(HEADER_LEN) else {
                self.pending = input.to_vec();
                return Ok(0);
            };
            if &head[..SIGNATURE.len()] != SIGNATURE || head[HEADER_LEN - 4..] != [0, 0, 0, 0] {
                return Err(DecodeError("the binary COPY header"));
            }
            self.header_seen = true;
        }
        let mut rows = 0;
        loop {
            let start = r.at;
            let line_start = out.len();
            match self.row(&mut r, out) {
                Ok(Some(true)) => rows += 1,
                Ok(Some(false)) => {
                    self.finished = true;
                    break;
                }
                Ok(None) => {
                    // Incomplete: keep the rest for the next piece.
                    out.truncate(line_start);
                    self.pending = input[start..].to_vec();
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(rows)
    }

    /// Whether the end-of-data marker has been read.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// One row: `Some(true)` written, `Some(false)` the end marker, `None` incomplete.
    fn row(&self, r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<Option<bool>, DecodeError> {
        let Some(count) = r.i16() else { return Ok(None) };
        if count == -1 {
            return Ok(Some(false));
        }
        if count as usize != self.columns() {
            return Err(DecodeError("the expected number of columns"));
        }
        let mut f: [Option<&[u8]>; 24] = [None; 24];
        for slot in f.iter_mut().take(self.columns()) {
            let Some(v) = r.field() else { return Ok(None) };
            *slot = v;
        }
        fn need(v: Option<&[u8]>) -> Result<&[u8], DecodeError> {
            v.ok_or(DecodeError("a value where NULL is not allowed"))
        }
        out.extend_from_slice(b"{\"id\":");
        uuid(out, need(f[0])?)?;
        out.extend_from_slice(b",\"orgNumber\":");
        string(out, need(f[1])?)?;
        out.extend_from_slice(b",\"name\":");
        string(out, need(f[2])?)?;
        out.extend_from_slice(b",\"municipalityCode\":");
        string(out, need(f[3])?)?;
        out.extend_from_slice(b",\"activities\":");
        text_array(out, need(f[4])?)?;
        out.extend_from_slice(b",\"contact\":{");
        let mut first = true;
        for (name, v) in [(&b"\"email\":"[..], f[5]), (b"\"phone\":", f[6]), (b"\"website\":", f[7])] {
            if let Some(v) = v {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(name);
                string(out, v)?;
            }
        }
        out.push(b'}');
        if let Some(a) = f[14] {
            out.extend_from_slice(b",\"postalAddress\":");
            jsonb(out, a)?;
        }
        if let Some(t) = f[15] {
            out.extend_from_slice(b",\"associationType\":");
            string(out, t)?;
        }
        out.extend_from_slice(b",\"federations\":");
        text_array(out, need(f[16])?)?;
        if let Some(y) = f[17] {
            let y = <[u8; 4]>::try_from(y).map_err(|_| DecodeError("an int4"))?;
            out.extend_from_slice(b",\"foundedYear\":");
            out.extend_from_slice(i32::from_be_bytes(y).to_string().as_bytes());
        }
        out.extend_from_slice(b",\"status\":\"ASSOCIATION_STATUS_");
        let status = need(f[18])?;
        if !status.iter().all(|c| c.is_ascii_lowercase() || *c == b'_') {
            return Err(DecodeError("an association status code"));
        }
        out.extend(status.iter().map(u8::to_ascii_uppercase));
        out.push(b'"');
        // `json` in binary is its text.
        out.extend_from_slice(b",\"registrations\":");
        out.extend_from_slice(need(f[19])?);
        let mut next = 20;
        if self.statistics {
            // The stored `json` copy: its binary form is the JSON text itself.
            if let Some(s) = f[next] {
                out.extend_from_slice(b",\"memberStatistics\":");
                out.extend_from_slice(s);
            }
            // `json` too: its binary form is the text.
            out.extend_from_slice(b",\"memberStatisticsByYear\":");
            out.extend_from_slice(need(f[next + 1])?);
            next += 2;
        }
        out.extend_from_slice(b",\"registration\":{\"status\":\"REGISTRATION_STATUS_");
        let status = need(f[8])?;
        if !status.iter().all(|c| c.is_ascii_lowercase() || *c == b'_') {
            return Err(DecodeError("a registration status code"));
        }
        out.extend(status.iter().map(u8::to_ascii_uppercase));
        out.push(b'"');
        if let Some(m) = f[9] {
            out.extend_from_slice(b",\"message\":");
            string(out, m)?;
        }
        if let Some(t) = f[10] {
            out.extend_from_slice(b",\"decidedAt\":");
            timestamp(out, t)?;
        }
        out.push(b'}');
        if self.personal {
            out.extend_from_slice(b",\"contactPersons\":");
            jsonb(out, need(f[next])?)?;
        }
        out.extend_from_slice(b",\"version\":");
        out.extend_from_slice(i64_of(need(f[11])?)?.to_string().as_bytes());
        out.extend_from_slice(b",\"createdAt\":");
        timestamp(out, need(f[12])?)?;
        out.extend_from_slice(b",\"updatedAt\":");
        timestamp(out, need(f[13])?)?;
        out.extend_from_slice(b"}\n");
        Ok(Some(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(out: &mut Vec<u8>, v: Option<&[u8]>) {
        match v {
            Some(v) => {
                out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }

    fn array(items: &[&str]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&1i32.to_be_bytes());
        a.extend_from_slice(&0i32.to_be_bytes());
        a.extend_from_slice(&25u32.to_be_bytes());
        a.extend_from_slice(&(items.len() as i32).to_be_bytes());
        a.extend_from_slice(&1i32.to_be_bytes());
        for i in items {
            field(&mut a, Some(i.as_bytes()));
        }
        a
    }

    #[test]
    fn rows_split_anywhere_decode_to_the_same_lines() {
        let mut data = SIGNATURE.to_vec();
        data.extend_from_slice(&[0; 8]);
        let id = uuid::Uuid::from_u128(0x0194_1fe0_9700_7000_a957_45e4_ce12_f7ff);
        let ts = 0i64.to_be_bytes();
        let acts = array(&["football", "futsal"]);
        let feds = array(&["football"]);
        let address = b"\x01{\"city\": \"Solna\", \"street\": \"Box 1\", \"postalCode\": \"17141\"}";
        let registrations = b"[{\"municipalityCode\":\"0114\",\"status\":\"REGISTRATION_STATUS_NEEDS_COMPLETION\",\"submittedAt\":\"2000-01-01T00:00:00+00:00\"}]";
        let by_year = b"[{\"year\": 2025, \"counts\": []}]";
        let row: [Option<&[u8]>; 22] = [
            Some(id.as_bytes()),
            Some(b"8020000009"),
            Some("Kvarnsätra \"IK\"".as_bytes()),
            Some(b"0114"),
            Some(&acts),
            Some(b"info@ik.se"),
            None,
            None,
            Some(b"needs_completion"),
            Some(b"Send the statutes"),
            None,
            Some(&3i64.to_be_bytes()),
            Some(&ts),
            Some(&ts),
            Some(address),
            Some(b"sports"),
            Some(&feds),
            Some(&1931i32.to_be_bytes()),
            Some(b"active"),
            Some(registrations),
            Some(b"{\"year\": 2025, \"counts\": []}"),
            Some(by_year),
        ];
        data.extend_from_slice(&22i16.to_be_bytes());
        for v in row {
            field(&mut data, v);
        }
        data.extend_from_slice(&(-1i16).to_be_bytes());
        let fields = ExportFields { member_statistics: true, contact_persons: false, ..Default::default() };
        let want = "{\"id\":\"01941fe0-9700-7000-a957-45e4ce12f7ff\",\"orgNumber\":\"8020000009\",\"name\":\"Kvarnsätra \\\"IK\\\"\",\
            \"municipalityCode\":\"0114\",\"activities\":[\"football\",\"futsal\"],\"contact\":{\"email\":\"info@ik.se\"},\
            \"postalAddress\":{\"city\": \"Solna\", \"street\": \"Box 1\", \"postalCode\": \"17141\"},\"associationType\":\"sports\",\
            \"federations\":[\"football\"],\"foundedYear\":1931,\"status\":\"ASSOCIATION_STATUS_ACTIVE\",\
            \"registrations\":[{\"municipalityCode\":\"0114\",\"status\":\"REGISTRATION_STATUS_NEEDS_COMPLETION\",\
            \"submittedAt\":\"2000-01-01T00:00:00+00:00\"}],\
            \"memberStatistics\":{\"year\": 2025, \"counts\": []},\"memberStatisticsByYear\":[{\"year\": 2025, \"counts\": []}],\"registration\":{\"status\":\"REGISTRATION_STATUS_NEEDS_COMPLETION\",\
            \"message\":\"Send the statutes\"},\"version\":3,\"createdAt\":\"2000-01-01T00:00:00.000000Z\",\
            \"updatedAt\":\"2000-01-01T00:00:00.000000Z\"}\n";
        for split in [1, 7, 19, 20, 64, data.len()] {
            let mut d = AssociationDecoder::new(&fields);
            let (mut out, mut rows) = (Vec::new(), 0);
            for piece in data.chunks(split) {
                rows += d.feed(piece, &mut out).unwrap();
            }
            assert!(d.finished());
            assert_eq!(rows, 1);
            assert_eq!(String::from_utf8(out).unwrap(), want, "split every {split} bytes");
        }
        let parsed: crate::model::Association = serde_json::from_str(want.trim()).unwrap();
        assert_eq!(parsed.registration.message.as_deref(), Some("Send the statutes"));
        assert_eq!(parsed.founded_year, Some(1931));
        assert_eq!(parsed.registrations[0].municipality_code, "0114");
    }
}

//! Compares a protobuf message with a JSON document field by field, knowing nothing of either
//! front end: the message is read as wire bytes through its descriptor (the `FileDescriptorSet`
//! the server offers for reflection), and every field is looked up in the JSON under the
//! field's proto3 JSON name (`json_name`, lowerCamelCase).
//!
//! The rules, from the proto3 JSON mapping and the contract (ARCHITECTURE §4 "One schema"):
//! - every key of a JSON object is the `json_name` of a field of the message;
//! - a field present on the wire is present in the JSON with the same value: strings and bools
//!   as such; numbers as JSON numbers (64-bit integers also as decimal strings, which proto3
//!   JSON writes and both accept); enums by their proto value name (`OWNERSHIP_MUNICIPAL`), or,
//!   for the enums a run names as lower-case codes ([`Parity::with_code_enums`]), by that name
//!   without the enum's prefix, lower-cased (`ROUND_STATUS_OPEN` is `"open"`);
//!   `google.protobuf.Timestamp` as an RFC 3339 string of the same instant;
//!   `google.protobuf.Struct` as the JSON object it holds (its numbers are doubles, so a JSON
//!   integer equals the same double); messages recursively; repeated fields as arrays of the same length, element by element;
//! - a field absent from the wire (proto3 leaves default scalars out) is absent, `null`, or the
//!   default (`""`, `0`, `false`, `[]`, the enum's zero name) in the JSON; a field with explicit
//!   presence (`optional`, messages) absent from the wire must be absent or `null`.
//!
//! Each field seen with a value on the wire is recorded, so a test can demand that its data gave
//! every field a value; a field that is never set would otherwise be compared only as "both
//! empty", which a converter dropping it passes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::DateTime;
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use serde_json::Value;

const TIMESTAMP: &str = ".google.protobuf.Timestamp";
const STRUCT: &str = ".google.protobuf.Struct";

/// A google.protobuf.Struct as the JSON object of its proto3 JSON mapping.
fn struct_json(s: prost_types::Struct) -> Value {
    fn value(v: prost_types::Value) -> Value {
        use prost_types::value::Kind;
        match v.kind {
            None | Some(Kind::NullValue(_)) => Value::Null,
            Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            Some(Kind::StringValue(s)) => Value::String(s),
            Some(Kind::BoolValue(b)) => Value::Bool(b),
            Some(Kind::StructValue(s)) => struct_json(s),
            Some(Kind::ListValue(l)) => Value::Array(l.values.into_iter().map(value).collect()),
        }
    }
    Value::Object(s.fields.into_iter().map(|(k, v)| (k, value(v))).collect())
}

/// JSON values equal as proto3 JSON reads them: numbers by their value as doubles.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w))),
        _ => a == b,
    }
}

/// A field whose value the JSON keeps under another path (a documented divergence).
pub struct Alias {
    /// Full message name with a leading dot, e.g. `.registry.v1.Facility`.
    pub message: &'static str,
    /// The proto field name, e.g. `location_locked`.
    pub field: &'static str,
    /// JSON keys from the message's object to the value, e.g. `["locationProvenance", "locked"]`.
    pub json_path: &'static [&'static str],
}

/// The messages and enums of a descriptor set, by full name with a leading dot.
pub struct Schema {
    messages: HashMap<String, DescriptorProto>,
    enums: HashMap<String, EnumDescriptorProto>,
}

/// One comparison run: mismatches and the fields that carried a value.
pub struct Parity<'s> {
    schema: &'s Schema,
    aliases: &'s [Alias],
    /// Enums (full names) whose JSON value is the lower-case code, not the value name.
    code_enums: &'s [&'s str],
    /// What differs, one line per difference, with the JSON path.
    pub errors: Vec<String>,
    /// (message, field) pairs seen with a value on the wire.
    pub covered: BTreeSet<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

fn varint(buf: &mut &[u8]) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first().expect("a varint runs past the end of the message");
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return value;
        }
    }
    panic!("a varint longer than ten bytes");
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> &'a [u8] {
    assert!(buf.len() >= n, "a field runs past the end of the message");
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    head
}

/// The fields of one encoded message, by number, in wire order.
fn wire_fields(mut buf: &[u8]) -> BTreeMap<u32, Vec<Raw<'_>>> {
    let mut out: BTreeMap<u32, Vec<Raw<'_>>> = BTreeMap::new();
    while !buf.is_empty() {
        let key = varint(&mut buf);
        let number = u32::try_from(key >> 3).expect("field numbers fit in 29 bits");
        let raw = match key & 7 {
            0 => Raw::Varint(varint(&mut buf)),
            1 => Raw::Fixed64(u64::from_le_bytes(take(&mut buf, 8).try_into().unwrap())),
            2 => {
                let n = usize::try_from(varint(&mut buf)).unwrap();
                Raw::Len(take(&mut buf, n))
            }
            5 => Raw::Fixed32(u32::from_le_bytes(take(&mut buf, 4).try_into().unwrap())),
            t => panic!("wire type {t} (groups) in field {number}"),
        };
        out.entry(number).or_default().push(raw);
    }
    out
}

/// A scalar as read from the wire.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Str(String),
    Bool(bool),
    Int(i128),
    Float(f64),
    Enum(i32),
}

fn is_packable(t: Type) -> bool {
    !matches!(t, Type::String | Type::Bytes | Type::Message | Type::Group)
}

/// The scalars of a numeric field from one occurrence, which is a packed list when it is
/// length-delimited.
fn numbers(t: Type, raw: Raw<'_>) -> Vec<Scalar> {
    match raw {
        Raw::Len(mut bytes) => {
            let mut out = Vec::new();
            while !bytes.is_empty() {
                let one = match t {
                    Type::Double | Type::Fixed64 | Type::Sfixed64 => {
                        Raw::Fixed64(u64::from_le_bytes(take(&mut bytes, 8).try_into().unwrap()))
                    }
                    Type::Float | Type::Fixed32 | Type::Sfixed32 => {
                        Raw::Fixed32(u32::from_le_bytes(take(&mut bytes, 4).try_into().unwrap()))
                    }
                    _ => Raw::Varint(varint(&mut bytes)),
                };
                out.push(number(t, one));
            }
            out
        }
        one => vec![number(t, one)],
    }
}

fn number(t: Type, raw: Raw<'_>) -> Scalar {
    match (t, raw) {
        (Type::Double, Raw::Fixed64(b)) => Scalar::Float(f64::from_bits(b)),
        (Type::Float, Raw::Fixed32(b)) => Scalar::Float(f64::from(f32::from_bits(b))),
        (Type::Int64, Raw::Varint(v)) => Scalar::Int(i128::from(v as i64)),
        (Type::Uint64, Raw::Varint(v)) | (Type::Fixed64, Raw::Fixed64(v)) => Scalar::Int(i128::from(v)),
        (Type::Int32, Raw::Varint(v)) => Scalar::Int(i128::from(v as i64 as i32)),
        (Type::Uint32, Raw::Varint(v)) => Scalar::Int(i128::from(v as u32)),
        (Type::Fixed32, Raw::Fixed32(v)) => Scalar::Int(i128::from(v)),
        (Type::Sfixed32, Raw::Fixed32(v)) => Scalar::Int(i128::from(v as i32)),
        (Type::Sfixed64, Raw::Fixed64(v)) => Scalar::Int(i128::from(v as i64)),
        (Type::Sint32 | Type::Sint64, Raw::Varint(v)) => Scalar::Int(i128::from((v >> 1) as i64 ^ -((v & 1) as i64))),
        (Type::Bool, Raw::Varint(v)) => Scalar::Bool(v != 0),
        (Type::Enum, Raw::Varint(v)) => Scalar::Enum(v as i64 as i32),
        (t, raw) => panic!("{t:?} field with wire value {raw:?}"),
    }
}

impl Schema {
    /// Reads an encoded `FileDescriptorSet`.
    pub fn decode(encoded: &[u8]) -> Schema {
        let set = FileDescriptorSet::decode(encoded).expect("the descriptor set decodes");
        let mut schema = Schema { messages: HashMap::new(), enums: HashMap::new() };
        fn nested(schema: &mut Schema, scope: &str, m: &DescriptorProto) {
            let name = format!("{scope}.{}", m.name());
            for e in &m.enum_type {
                schema.enums.insert(format!("{name}.{}", e.name()), e.clone());
            }
            for n in &m.nested_type {
                nested(schema, &name, n);
            }
            schema.messages.insert(name, m.clone());
        }
        for file in &set.file {
            let scope = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
            for e in &file.enum_type {
                schema.enums.insert(format!("{scope}.{}", e.name()), e.clone());
            }
            for m in &file.message_type {
                nested(&mut schema, &scope, m);
            }
        }
        schema
    }

    /// The message named `name` (full name with a leading dot).
    pub fn message(&self, name: &str) -> &DescriptorProto {
        self.messages.get(name).unwrap_or_else(|| panic!("{name} is not in the descriptor set"))
    }

    /// Every (message, field) reachable from `roots` through message-typed fields; a
    /// Timestamp counts as one value, not as its seconds and nanos, and a Struct as one value,
    /// not as its entries.
    pub fn reachable_fields(&self, roots: &[&str]) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
        let mut seen = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            for f in &self.message(&name).field {
                out.insert((name.clone(), f.name().to_string()));
                if f.r#type() == Type::Message && f.type_name() != TIMESTAMP && f.type_name() != STRUCT {
                    todo.push(f.type_name().to_string());
                }
            }
        }
        out
    }
}

impl<'s> Parity<'s> {
    /// A run over `schema`, with the divergences in `aliases` accepted.
    pub fn new(schema: &'s Schema, aliases: &'s [Alias]) -> Parity<'s> {
        Parity { schema, aliases, code_enums: &[], errors: Vec::new(), covered: BTreeSet::new() }
    }

    /// The same run, with the enums named (full names with a leading dot) written in JSON as
    /// lower-case codes: a value's name without the enum's prefix (that of its zero value,
    /// `…_UNSPECIFIED`), lower-cased.
    pub fn with_code_enums(mut self, enums: &'s [&'s str]) -> Parity<'s> {
        self.code_enums = enums;
        self
    }

    /// Compares the message `msg` (of type `type_name`, e.g. `.registry.v1.Facility`) with
    /// `json`; `path` names the JSON document in the errors.
    pub fn compare(&mut self, path: &str, type_name: &str, msg: &impl Message, json: &Value) {
        self.message(path, type_name, &msg.encode_to_vec(), json);
    }

    fn fail(&mut self, path: &str, what: String) {
        self.errors.push(format!("{path}: {what}"));
    }

    fn message(&mut self, path: &str, type_name: &str, wire: &[u8], json: &Value) {
        let Some(object) = json.as_object() else {
            return self.fail(path, format!("{type_name} is a JSON {json}, not an object"));
        };
        let desc = self.schema.message(type_name);
        let fields = wire_fields(wire);
        for key in object.keys() {
            if !desc.field.iter().any(|f| f.json_name() == key) {
                self.fail(path, format!("JSON key {key:?} is no field of {type_name}"));
            }
        }
        if let Some(unknown) = fields.keys().find(|n| !desc.field.iter().any(|f| f.number() == **n as i32)) {
            self.fail(path, format!("wire field {unknown} is not in {type_name}"));
        }
        for f in &desc.field {
            assert!(f.json_name.is_some(), "the descriptor set lacks json_name of {type_name}.{}", f.name());
            let here = format!("{path}.{}", f.json_name());
            let alias = self.aliases.iter().find(|a| a.message == type_name && a.field == f.name());
            let value = match alias {
                Some(a) if !object.contains_key(f.json_name()) => a.json_path.iter().try_fold(json, |v, k| v.get(k)),
                _ => object.get(f.json_name()),
            };
            let value = value.filter(|v| !v.is_null());
            let raws = fields.get(&(f.number() as u32)).cloned().unwrap_or_default();
            if !raws.is_empty() {
                self.covered.insert((type_name.to_string(), f.name().to_string()));
            }
            self.field(&here, f, &raws, value);
        }
    }

    fn field(&mut self, path: &str, f: &FieldDescriptorProto, raws: &[Raw<'_>], json: Option<&Value>) {
        let explicit_presence = f.proto3_optional() || f.r#type() == Type::Message;
        if f.label() == Label::Repeated {
            let items: Vec<Value> = match json {
                None => Vec::new(),
                Some(Value::Array(a)) => a.clone(),
                Some(other) => return self.fail(path, format!("a repeated field, but JSON has {other}")),
            };
            if f.r#type() == Type::Message {
                if items.len() != raws.len() {
                    return self.fail(path, format!("{} items in JSON, {} on the wire", items.len(), raws.len()));
                }
                for (i, (raw, item)) in raws.iter().zip(&items).enumerate() {
                    self.single(&format!("{path}[{i}]"), f, *raw, item);
                }
                return;
            }
            let scalars: Vec<Scalar> = if is_packable(f.r#type()) {
                raws.iter().flat_map(|r| numbers(f.r#type(), *r)).collect()
            } else {
                raws.iter().map(|r| self.scalar(f, *r)).collect()
            };
            if items.len() != scalars.len() {
                return self.fail(path, format!("{} items in JSON, {} on the wire", items.len(), scalars.len()));
            }
            for (i, (s, item)) in scalars.iter().zip(&items).enumerate() {
                self.check_scalar(&format!("{path}[{i}]"), f, s, item);
            }
            return;
        }
        match (raws.last(), json) {
            (None, None) => {}
            (None, Some(v)) if explicit_presence => self.fail(path, format!("absent on the wire, {v} in JSON")),
            (None, Some(v)) => {
                let default = match f.r#type() {
                    Type::String => v.as_str() == Some(""),
                    Type::Bool => v.as_bool() == Some(false),
                    Type::Enum => v.as_str() == self.enum_name(f, 0).as_deref() || v.as_i64() == Some(0),
                    _ => v.as_f64() == Some(0.0) || v.as_str() == Some("0"),
                };
                if !default {
                    self.fail(path, format!("absent (default) on the wire, {v} in JSON"));
                }
            }
            (Some(raw), None) => {
                let shown = match raw {
                    Raw::Len(b) if f.r#type() == Type::Message => format!("a {}-byte message", b.len()),
                    r => format!("{:?}", self.scalar(f, *r)),
                };
                self.fail(path, format!("{shown} on the wire, absent in JSON"))
            }
            (Some(raw), Some(v)) => {
                if raws.len() > 1 && f.r#type() == Type::Message {
                    self.fail(path, format!("{} occurrences of a singular message", raws.len()));
                }
                self.single(path, f, *raw, v)
            }
        }
    }

    fn single(&mut self, path: &str, f: &FieldDescriptorProto, raw: Raw<'_>, json: &Value) {
        if f.r#type() != Type::Message {
            let s = self.scalar(f, raw);
            return self.check_scalar(path, f, &s, json);
        }
        let Raw::Len(bytes) = raw else { return self.fail(path, format!("a message field with wire value {raw:?}")) };
        if f.type_name() == TIMESTAMP {
            let ts = wire_fields(bytes);
            let int = |n: u32| match ts.get(&n).and_then(|r| r.last()) {
                Some(Raw::Varint(v)) => *v as i64,
                _ => 0,
            };
            let (seconds, nanos) = (int(1), int(2) as u32);
            let wire = DateTime::from_timestamp(seconds, nanos).expect("a representable timestamp");
            return match json.as_str().map(DateTime::parse_from_rfc3339) {
                Some(Ok(t)) if t == wire => {}
                _ => self.fail(path, format!("timestamp {} on the wire, {json} in JSON", wire.to_rfc3339())),
            };
        }
        if f.type_name() == STRUCT {
            let wire = struct_json(prost_types::Struct::decode(bytes).expect("a google.protobuf.Struct"));
            if !same_json(&wire, json) {
                self.fail(path, format!("Struct {wire} on the wire, {json} in JSON"));
            }
            return;
        }
        self.message(path, f.type_name(), bytes, json);
    }

    fn scalar(&mut self, f: &FieldDescriptorProto, raw: Raw<'_>) -> Scalar {
        match (f.r#type(), raw) {
            (Type::String, Raw::Len(b)) => Scalar::Str(String::from_utf8(b.to_vec()).expect("proto strings are UTF-8")),
            (Type::Bytes, _) => panic!("{}: bytes fields are not used by these messages", f.name()),
            (t, raw) => number(t, raw),
        }
    }

    /// The JSON form of value `number` of the enum field `f`.
    fn enum_name(&self, f: &FieldDescriptorProto, number: i32) -> Option<String> {
        let e = self.schema.enums.get(f.type_name()).unwrap_or_else(|| panic!("enum {} is not in the descriptor set", f.type_name()));
        let name = e.value.iter().find(|v| v.number() == number).map(|v| v.name().to_string())?;
        if !self.code_enums.contains(&f.type_name()) {
            return Some(name);
        }
        let zero = e.value.iter().find(|v| v.number() == 0).map_or("", |v| v.name());
        let prefix = zero.strip_suffix("UNSPECIFIED").unwrap_or_else(|| panic!("{}: the zero value is not …_UNSPECIFIED", f.type_name()));
        Some(name.strip_prefix(prefix).unwrap_or(&name).to_lowercase())
    }

    fn check_scalar(&mut self, path: &str, f: &FieldDescriptorProto, wire: &Scalar, json: &Value) {
        let same = match wire {
            Scalar::Str(s) => json.as_str() == Some(s.as_str()),
            Scalar::Bool(b) => json.as_bool() == Some(*b),
            Scalar::Int(i) => match json {
                Value::Number(n) => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) == Some(*i),
                Value::String(s) => s.parse::<i128>().ok() == Some(*i),
                _ => false,
            },
            Scalar::Float(x) => json.as_f64() == Some(*x),
            Scalar::Enum(n) => match self.enum_name(f, *n) {
                Some(name) => json.as_str() == Some(name.as_str()),
                None => return self.fail(path, format!("enum value {n} on the wire is not in {}", f.type_name())),
            },
        };
        if !same {
            self.fail(path, format!("{wire:?} on the wire, {json} in JSON"));
        }
    }
}

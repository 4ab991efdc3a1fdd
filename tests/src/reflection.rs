//! A gRPC server reflection client in both protocol versions (`grpc.reflection.v1` and
//! `grpc.reflection.v1alpha`), asking what dynamic clients such as grpcurl, Postman or
//! Python's grpcio-reflection ask: which services are there, and which files describe a
//! symbol and everything it imports.

use std::collections::BTreeMap;

use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};
use tonic::transport::Channel;
use tonic::{Code, Status};

/// A version of the reflection protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `grpc.reflection.v1` (grpcurl, grpc-java, current tools).
    V1,
    /// `grpc.reflection.v1alpha` (grpcio-reflection, older tools).
    V1Alpha,
}

impl Version {
    /// Both versions.
    pub const BOTH: [Version; 2] = [Version::V1, Version::V1Alpha];

    /// The reflection service's own name in this version.
    pub fn service(self) -> &'static str {
        match self {
            Version::V1 => "grpc.reflection.v1.ServerReflection",
            Version::V1Alpha => "grpc.reflection.v1alpha.ServerReflection",
        }
    }
}

/// A reflection client of one version over a channel, optionally sending an API key (the
/// registry rate-limits anonymous callers, and describing a service takes a call per file).
#[derive(Clone)]
pub struct Reflection {
    channel: Channel,
    version: Version,
    key: Option<String>,
}

enum Ask<'a> {
    ListServices,
    FileContainingSymbol(&'a str),
    FileByFilename(&'a str),
}

enum Answer {
    Services(Vec<String>),
    Files(Vec<Vec<u8>>),
}

/// One question on one reflection stream, with the client generated for the version `$pb`.
macro_rules! ask_with {
    ($name:ident, $pb:path) => {
        async fn $name(channel: Channel, key: Option<&str>, ask: &Ask<'_>) -> Result<Answer, Status> {
            use r::server_reflection_request::MessageRequest;
            use r::server_reflection_response::MessageResponse;
            use $pb as r;
            let message_request = match ask {
                Ask::ListServices => MessageRequest::ListServices(String::new()),
                Ask::FileContainingSymbol(s) => MessageRequest::FileContainingSymbol(s.to_string()),
                Ask::FileByFilename(f) => MessageRequest::FileByFilename(f.to_string()),
            };
            let request = r::ServerReflectionRequest { host: String::new(), message_request: Some(message_request) };
            let mut call = tonic::Request::new(futures_util::stream::iter([request]));
            if let Some(k) = key {
                call.metadata_mut().insert("x-api-key", k.parse().map_err(|_| Status::invalid_argument("keys are ASCII"))?);
            }
            let mut client = r::server_reflection_client::ServerReflectionClient::new(channel);
            let mut answers = client.server_reflection_info(call).await?.into_inner();
            let answer = answers.message().await?.ok_or_else(|| Status::unknown("the reflection stream ended without an answer"))?;
            match answer.message_response {
                Some(MessageResponse::ListServicesResponse(l)) => Ok(Answer::Services(l.service.into_iter().map(|s| s.name).collect())),
                Some(MessageResponse::FileDescriptorResponse(f)) => Ok(Answer::Files(f.file_descriptor_proto)),
                Some(MessageResponse::ErrorResponse(e)) => Err(Status::new(Code::from(e.error_code), e.error_message)),
                other => Err(Status::unknown(format!("an answer that does not fit the question: {other:?}"))),
            }
        }
    };
}

ask_with!(ask_v1, tonic_reflection::pb::v1);
ask_with!(ask_v1alpha, tonic_reflection::pb::v1alpha);

fn decode(files: Vec<Vec<u8>>) -> Result<Vec<FileDescriptorProto>, Status> {
    files
        .iter()
        .map(|b| FileDescriptorProto::decode(b.as_slice()).map_err(|e| Status::data_loss(format!("not a FileDescriptorProto: {e}"))))
        .collect()
}

impl Reflection {
    /// Asks over `channel` in `version`, anonymously.
    pub fn new(channel: Channel, version: Version) -> Reflection {
        Reflection { channel, version, key: None }
    }

    /// Sends `key` as `x-api-key` with every question.
    pub fn with_key(self, key: &str) -> Reflection {
        Reflection { key: Some(key.to_string()), ..self }
    }

    async fn ask(&self, question: Ask<'_>) -> Result<Answer, Status> {
        let key = self.key.as_deref();
        match self.version {
            Version::V1 => ask_v1(self.channel.clone(), key, &question).await,
            Version::V1Alpha => ask_v1alpha(self.channel.clone(), key, &question).await,
        }
    }

    /// The services the server lists, sorted.
    pub async fn list_services(&self) -> Result<Vec<String>, Status> {
        match self.ask(Ask::ListServices).await? {
            Answer::Services(mut s) => {
                s.sort();
                Ok(s)
            }
            Answer::Files(_) => Err(Status::unknown("files instead of services")),
        }
    }

    /// The files the server sends for `symbol` (a service, method or message, fully qualified).
    pub async fn file_containing_symbol(&self, symbol: &str) -> Result<Vec<FileDescriptorProto>, Status> {
        match self.ask(Ask::FileContainingSymbol(symbol)).await? {
            Answer::Files(f) => decode(f),
            Answer::Services(_) => Err(Status::unknown("services instead of files")),
        }
    }

    /// The file the server has under `name` (as imports name it, e.g. `registry/v1/common.proto`).
    pub async fn file_by_filename(&self, name: &str) -> Result<Vec<FileDescriptorProto>, Status> {
        match self.ask(Ask::FileByFilename(name)).await? {
            Answer::Files(f) => decode(f),
            Answer::Services(_) => Err(Status::unknown("services instead of files")),
        }
    }

    /// Everything a dynamic client needs to call `symbol`: the file defining it and, fetched
    /// by name as a client does, every file it imports, transitively. Fails as a client would
    /// when the server cannot send one of them.
    pub async fn resolve(&self, symbol: &str) -> Result<FileDescriptorSet, Status> {
        let mut files: BTreeMap<String, FileDescriptorProto> = BTreeMap::new();
        let mut pending = self.file_containing_symbol(symbol).await?;
        while let Some(file) = pending.pop() {
            let name = file.name().to_string();
            if files.contains_key(&name) {
                continue;
            }
            for dependency in &file.dependency {
                if !files.contains_key(dependency) && !pending.iter().any(|f| f.name() == dependency) {
                    let got = self.file_by_filename(dependency).await.map_err(|e| {
                        Status::new(e.code(), format!("{name} imports {dependency}, which reflection does not send: {}", e.message()))
                    })?;
                    pending.extend(got);
                }
            }
            files.insert(name, file);
        }
        Ok(FileDescriptorSet { file: files.into_values().collect() })
    }
}

/// What a set of files defines, by fully qualified name (`.package.Name`, as field and
/// method types refer to them): messages (nested ones too), enums, and each service's methods
/// with their input and output types.
#[derive(Debug, Default)]
pub struct Defined {
    /// Message types.
    pub messages: Vec<String>,
    /// Enum types.
    pub enums: Vec<String>,
    /// Services: `.package.Service` → (method, input type, output type).
    pub services: BTreeMap<String, Vec<(String, String, String)>>,
}

impl Defined {
    /// Reads `set`.
    pub fn of(set: &FileDescriptorSet) -> Defined {
        fn messages(prefix: &str, m: &DescriptorProto, out: &mut Defined) {
            let name = format!("{prefix}.{}", m.name());
            out.enums.extend(m.enum_type.iter().map(|e| format!("{name}.{}", e.name())));
            for nested in &m.nested_type {
                messages(&name, nested, out);
            }
            out.messages.push(name);
        }
        let mut out = Defined::default();
        for file in &set.file {
            let prefix = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
            for m in &file.message_type {
                messages(&prefix, m, &mut out);
            }
            out.enums.extend(file.enum_type.iter().map(|e| format!("{prefix}.{}", e.name())));
            for s in &file.service {
                let methods = s.method.iter().map(|m| (m.name().to_string(), m.input_type().to_string(), m.output_type().to_string()));
                out.services.insert(format!("{prefix}.{}", s.name()), methods.collect());
            }
        }
        out
    }

    /// Type names that fields, methods or services of `set` use but no file of it defines.
    pub fn missing(set: &FileDescriptorSet) -> Vec<String> {
        let d = Defined::of(set);
        let known = |t: &str| d.messages.iter().chain(&d.enums).any(|k| k == t);
        let mut used: Vec<String> = d.services.values().flatten().flat_map(|(_, i, o)| [i.clone(), o.clone()]).collect();
        fn fields(m: &DescriptorProto, used: &mut Vec<String>) {
            used.extend(m.field.iter().filter(|f| !f.type_name().is_empty()).map(|f| f.type_name().to_string()));
            for nested in &m.nested_type {
                fields(nested, used);
            }
        }
        for m in set.file.iter().flat_map(|f| &f.message_type) {
            fields(m, &mut used);
        }
        used.sort();
        used.dedup();
        used.retain(|t| !known(t));
        used
    }
}

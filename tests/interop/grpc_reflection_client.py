#!/usr/bin/env python3
"""A booking vendor's gRPC integration written in Python, knowing nothing but the address.

Proves that a non-Rust client can integrate with the registry's gRPC API using only server
reflection: no generated stubs, no .proto files. Every service, method and message type is
discovered at run time through grpc.reflection.v1alpha (ProtoReflectionDescriptorDatabase),
turned into Python classes with descriptor_pool + message_factory.GetMessageClass, and called
through channel.unary_unary with the classes' own (de)serializers.

It checks a fixed script against a server loaded with the demo dataset (Kumla, 1881, has
facilities) and prints one JSON summary object on stdout; the Rust test
tests/tests/api_interop_python.rs runs it and asserts the summary. Any failed expectation
exits non-zero with a message on stderr.

Usage: grpc_reflection_client.py [HOST:PORT] [--api-key KEY]
       (or REGISTRY_GRPC_ADDR and REGISTRY_API_KEY in the environment; plaintext h2)
Needs: grpcio, grpcio-reflection and protobuf (scripts/python-tools.sh installs them).
"""

import argparse
import json
import os
import sys
import traceback

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

EXPECTED_SERVICES = [
    "registry.v1.MunicipalityService",
    "registry.v1.FacilityService",
    "registry.v1.AssociationService",
    "grpc.health.v1.Health",
]
TIMEOUT_S = 15


class Failure(Exception):
    """An expectation of the integration script that the server did not meet."""


def expect(condition, message):
    if not condition:
        raise Failure(message)


class ReflectedApi:
    """Calls unary methods of any service the server describes through reflection."""

    def __init__(self, channel, api_key):
        self.channel = channel
        self.metadata = (("x-api-key", api_key),) if api_key else ()
        self.database = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.database)

    def services(self):
        return sorted(self.database.get_services())

    def method(self, service, method):
        """The request class, the response class and a callable for `service/method`."""
        try:
            descriptor = self.pool.FindServiceByName(service).FindMethodByName(method)
        except KeyError as e:
            raise Failure(f"reflection does not describe {service}/{method}: {e}") from e
        expect(descriptor is not None, f"reflection does not describe {service}/{method}")
        request = message_factory.GetMessageClass(descriptor.input_type)
        response = message_factory.GetMessageClass(descriptor.output_type)
        call = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=request.SerializeToString,
            response_deserializer=response.FromString,
        )
        return request, response, call

    def call(self, service, method, /, **fields):
        """Builds the request from `fields`, calls, and returns the response message."""
        request, _, call = self.method(service, method)
        return call(request(**fields), metadata=self.metadata, timeout=TIMEOUT_S)

    def find_message(self, full_name):
        """The class of a message type the server describes, or None."""
        try:
            return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))
        except (KeyError, grpc.RpcError):  # the reflection service answers NOT_FOUND
            return None


def enum_name(message, field):
    """The symbolic name of an enum field's value, read from the reflected descriptor."""
    enum_type = message.DESCRIPTOR.fields_by_name[field].enum_type
    number = getattr(message, field)
    value = enum_type.values_by_number.get(number)
    return value.name if value is not None else str(number)


def google_rpc_classes():
    """google.rpc.Status, ErrorInfo and BadRequest, described in code.

    grpcio-status (which ships these) is not installed and the server's reflection only
    describes its own services, so the three messages are declared here as descriptors with
    their published field numbers (google/rpc/status.proto, google/rpc/error_details.proto),
    in a private pool. Only the fields this client reads are declared; others stay unknown.
    """
    pool = descriptor_pool.DescriptorPool()
    any_file = descriptor_pb2.FileDescriptorProto()
    any_pb2.DESCRIPTOR.CopyToProto(any_file)
    pool.Add(any_file)

    F = descriptor_pb2.FieldDescriptorProto

    def field(message, name, number, kind, label=F.LABEL_OPTIONAL, type_name=None):
        f = message.field.add(name=name, number=number, type=kind, label=label)
        if type_name:
            f.type_name = type_name

    status_file = descriptor_pb2.FileDescriptorProto(
        name="google/rpc/status.proto", package="google.rpc", syntax="proto3", dependency=["google/protobuf/any.proto"]
    )
    status = status_file.message_type.add(name="Status")
    field(status, "code", 1, F.TYPE_INT32)
    field(status, "message", 2, F.TYPE_STRING)
    field(status, "details", 3, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".google.protobuf.Any")
    pool.Add(status_file)

    details_file = descriptor_pb2.FileDescriptorProto(
        name="google/rpc/error_details.proto", package="google.rpc", syntax="proto3"
    )
    error_info = details_file.message_type.add(name="ErrorInfo")
    field(error_info, "reason", 1, F.TYPE_STRING)
    field(error_info, "domain", 2, F.TYPE_STRING)
    bad_request = details_file.message_type.add(name="BadRequest")
    violation = bad_request.nested_type.add(name="FieldViolation")
    field(violation, "field", 1, F.TYPE_STRING)
    field(violation, "description", 2, F.TYPE_STRING)
    field(violation, "reason", 3, F.TYPE_STRING)
    field(bad_request, "field_violations", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".google.rpc.BadRequest.FieldViolation")
    pool.Add(details_file)

    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
            for name in ("google.rpc.Status", "google.rpc.ErrorInfo", "google.rpc.BadRequest")}


def decode_status_details(api, raw):
    """Decodes a `grpc-status-details-bin` trailer (a serialized google.rpc.Status)."""
    builtin = google_rpc_classes()
    status_class = api.find_message("google.rpc.Status")
    source = "reflection"
    if status_class is None:
        status_class, source = builtin["google.rpc.Status"], "descriptor declared by the client"
    status = status_class.FromString(raw)
    decoded = {"decoded_with": source, "code": status.code, "message": status.message, "detail_types": []}
    for detail in status.details:
        type_name = detail.type_url.rsplit("/", 1)[-1]
        decoded["detail_types"].append(type_name)
        detail_class = api.find_message(type_name) or builtin.get(type_name)
        if detail_class is None:
            continue
        value = detail_class.FromString(detail.value)
        if type_name == "google.rpc.ErrorInfo":
            decoded["error_info"] = {"reason": value.reason, "domain": value.domain}
        elif type_name == "google.rpc.BadRequest":
            decoded["field_violations"] = [
                {"field": v.field, "reason": v.reason, "description": v.description} for v in value.field_violations
            ]
    return decoded


def run(address, api_key):
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
    except grpc.FutureTimeoutError as e:
        raise Failure(f"could not connect to {address} within {TIMEOUT_S} s") from e
    api = ReflectedApi(channel, api_key)
    summary = {}

    # 1. Discover the services.
    services = api.services()
    summary["services"] = services
    missing = [s for s in EXPECTED_SERVICES if s not in services]
    expect(not missing, f"reflection lists {services}, missing {missing}")

    # 2. Health: the server overall and each registry service.
    health = {}
    for service in ["", "registry.v1.MunicipalityService", "registry.v1.FacilityService", "registry.v1.AssociationService"]:
        answer = api.call("grpc.health.v1.Health", "Check", service=service)
        health[service] = enum_name(answer, "status")
        expect(health[service] == "SERVING", f"Health/Check({service!r}) is {health[service]}, not SERVING")
    summary["health"] = health

    # 3. Municipalities.
    municipalities = api.call("registry.v1.MunicipalityService", "ListMunicipalities").municipalities
    summary["municipality_count"] = len(municipalities)
    expect(len(municipalities) == 290, f"ListMunicipalities returned {len(municipalities)} municipalities, not 290")
    kumla = api.call("registry.v1.MunicipalityService", "GetMunicipality", code="1881").municipality
    summary["kumla_name"] = kumla.name
    expect(kumla.code == "1881" and kumla.name == "Kumla", f"GetMunicipality(1881) returned {kumla.code} {kumla.name!r}")

    # 4. Facilities: one page of Kumla's, then the first one by id.
    page = api.call("registry.v1.FacilityService", "ListFacilities", municipality_code="1881", page_size=5)
    ids = [f.id for f in page.facilities]
    summary["facility_ids"] = ids
    expect(len(ids) == 5, f"ListFacilities(1881, page_size=5) returned {len(ids)} facilities")
    others = [f.municipality_code for f in page.facilities if f.municipality_code != "1881"]
    expect(not others, f"ListFacilities(1881) returned facilities of {others}")
    expect(page.next_page_token != "", "ListFacilities(1881, page_size=5) has no next page, but Kumla has more")
    first = api.call("registry.v1.FacilityService", "GetFacility", id=ids[0]).facility
    expect(first.id == ids[0], f"GetFacility({ids[0]}) returned facility {first.id!r}")
    summary["fetched_facility"] = {
        "id": first.id,
        "municipality_code": first.municipality_code,
        "name": first.name,
        "ownership": enum_name(first, "ownership"),
        "version": first.version,
    }

    # 5. An error: a malformed id is INVALID_ARGUMENT with google.rpc details in the trailer.
    try:
        api.call("registry.v1.FacilityService", "GetFacility", id="not-a-uuid")
    except grpc.RpcError as e:
        code = e.code()
        summary["error_code"] = code.name
        expect(code == grpc.StatusCode.INVALID_ARGUMENT, f"GetFacility('not-a-uuid') failed with {code.name}, not INVALID_ARGUMENT")
        trailers = dict(e.trailing_metadata() or ())
        raw = trailers.get("grpc-status-details-bin")
        expect(raw, f"GetFacility('not-a-uuid') has no grpc-status-details-bin trailer (trailers: {sorted(trailers)})")
        details = decode_status_details(api, raw)
        expect(details["code"] == code.value[0], f"the status details say code {details['code']}, the call {code.value[0]}")
        summary["error_details"] = details
    else:
        raise Failure("GetFacility('not-a-uuid') succeeded; expected INVALID_ARGUMENT")

    channel.close()
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("address", nargs="?", default=os.environ.get("REGISTRY_GRPC_ADDR"), help="HOST:PORT (plaintext h2)")
    parser.add_argument("--api-key", default=os.environ.get("REGISTRY_API_KEY", ""), help="sent as x-api-key")
    args = parser.parse_args()
    if not args.address:
        parser.error("give the server address as HOST:PORT (or set REGISTRY_GRPC_ADDR)")
    try:
        summary = run(args.address, args.api_key)
    except Failure as e:
        print(f"grpc_reflection_client: FAILED: {e}", file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print(f"grpc_reflection_client: FAILED: unexpected RPC error {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    except Exception:  # a bug here or an incompatible library: say so, with the traceback
        traceback.print_exc()
        print("grpc_reflection_client: FAILED: unexpected error (traceback above)", file=sys.stderr)
        return 1
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A small vendor.v1 booking system in Python: the starting point we hand to booking vendors.

It is written from the protocol's proto file (vendor-proto/proto/vendor/v1/booking_provider.proto)
and its specification (docs/vendor-protocol.md) alone, with grpcio, and keeps its bookings in
memory. `registry vendors conformance` passes it:

    python vendor_server.py --listen 127.0.0.1:50051 [--units hall-a,hall-b,pool] [--api-key KEY]
    registry vendors conformance --endpoint http://127.0.0.1:50051 --unit hall-a --unit hall-b

Every unit is open 08:00-22:00 Stockholm time every day and bookable by the hour; the prices are
made up. Needs grpcio, grpcio-tools (to compile the proto at start) and grpcio-status
(google.rpc error details).
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import uuid
from concurrent import futures
from zoneinfo import ZoneInfo

import grpc
from google.protobuf import any_pb2, timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO = os.path.join(HERE, "..", "..", "vendor-proto", "proto")
TZ = ZoneInfo("Europe/Stockholm")
OPEN, CLOSE = 8, 22  # local hours, every day
MAX_WINDOW = dt.timedelta(days=14)
MAX_UNITS = 50
SLOT = dt.timedelta(hours=1)
DOMAIN = "vendor.v1"


def compile_proto(proto_root):
    """Compiles booking_provider.proto into a temporary package and imports it."""
    out = tempfile.mkdtemp(prefix="vendor-v1-")
    wkt = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", f"-I{proto_root}", f"-I{wkt}", f"--python_out={out}", f"--grpc_python_out={out}",
            "vendor/v1/booking_provider.proto"]
    if protoc.main(args) != 0:
        sys.exit(f"python-vendor: could not compile {proto_root}/vendor/v1/booking_provider.proto")
    sys.path.insert(0, out)
    from vendor.v1 import booking_provider_pb2 as pb, booking_provider_pb2_grpc as pb_grpc
    return pb, pb_grpc


def abort(context, code, reason, message):
    """Ends the call with `code` and a google.rpc.ErrorInfo (domain vendor.v1, `reason`)."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN)
    detail = any_pb2.Any()
    detail.Pack(info)
    context.abort_with_status(rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[detail])))


def invalid(context, field, message):
    """INVALID_ARGUMENT with a google.rpc.BadRequest naming the field."""
    bad = error_details_pb2.BadRequest(field_violations=[error_details_pb2.BadRequest.FieldViolation(field=field, description=message)])
    detail = any_pb2.Any()
    detail.Pack(bad)
    context.abort_with_status(rpc_status.to_status(status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])))


def make_servicer(pb, pb_grpc, units, api_key):
    class Vendor(pb_grpc.BookingProviderServicer):
        def __init__(self):
            self.lock = threading.Lock()
            self.bookings = {}  # id -> pb.Booking
            self.keys = {}  # idempotency key -> (request bytes, booking id)

        # -- helpers --
        def _auth(self, context):
            if api_key is None:
                return
            sent = dict(context.invocation_metadata()).get("x-api-key")
            if sent != api_key:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "send the API key as x-api-key")

        @staticmethod
        def _time(ts):
            return dt.datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=dt.timezone.utc)

        @staticmethod
        def _ts(t):
            out = timestamp_pb2.Timestamp()
            out.FromDatetime(t.astimezone(dt.timezone.utc).replace(tzinfo=None))
            return out

        def _held(self, unit, start, end):
            return any(b.unit_ref == unit and b.status == pb.BOOKING_STATUS_CONFIRMED
                       and self._time(b.start) < end and self._time(b.end) > start for b in self.bookings.values())

        @staticmethod
        def _opening_slots(start, end):
            """Hour slots inside opening hours in [start, end), in local time across DST."""
            day = start.astimezone(TZ).date() - dt.timedelta(days=1)
            last = end.astimezone(TZ).date() + dt.timedelta(days=1)
            while day <= last:
                for hour in range(OPEN, CLOSE):
                    a = dt.datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(dt.timezone.utc)
                    b = a + SLOT
                    if start <= a and b <= end:
                        yield a, b
                day += dt.timedelta(days=1)

        def _prices(self):
            return [pb.Price(customer_type=pb.CUSTOMER_TYPE_PRIVATE_PERSON, amount_minor_per_hour=30000, currency="SEK"),
                    pb.Price(customer_type=pb.CUSTOMER_TYPE_ASSOCIATION, amount_minor_per_hour=12000, currency="SEK")]

        # -- vendor.v1 --
        def GetCapabilities(self, request, context):
            self._auth(context)
            caps = pb.Capabilities(protocol_version="1.0", max_units_per_call=MAX_UNITS,
                                   implementation="python-vendor 1.0 (examples/python-vendor)", time_zone="Europe/Stockholm")
            caps.operations.extend([pb.OPERATION_CHECK_AVAILABILITY, pb.OPERATION_CREATE_BOOKING, pb.OPERATION_BOOKING_REQUEST,
                                    pb.OPERATION_GET_BOOKING, pb.OPERATION_CANCEL_BOOKING])
            caps.max_window.FromTimedelta(MAX_WINDOW)
            caps.slot_granularity.FromTimedelta(SLOT)
            return caps

        def Health(self, request, context):
            self._auth(context)
            return pb.HealthResponse(status=pb.SERVING_STATUS_SERVING)

        def CheckAvailability(self, request, context):
            self._auth(context)
            if not request.HasField("start") or not request.HasField("end"):
                invalid(context, "start", "start and end are required")
            start, end = self._time(request.start), self._time(request.end)
            if end <= start:
                invalid(context, "end", "end must be after start")
            if end - start > MAX_WINDOW:
                invalid(context, "end", "the window is longer than max_window (14 days)")
            if not 1 <= len(request.unit_refs) <= MAX_UNITS:
                invalid(context, "unit_refs", f"1 to {MAX_UNITS} unit references")
            if len(set(request.unit_refs)) != len(request.unit_refs):
                invalid(context, "unit_refs", "no duplicates")
            answer = pb.CheckAvailabilityResponse()
            with self.lock:
                for ref in request.unit_refs:
                    if ref not in units:
                        answer.units.add(unit_ref=ref, status=pb.UNIT_STATUS_UNKNOWN_UNIT, message="no such unit")
                        continue
                    u = answer.units.add(unit_ref=ref, status=pb.UNIT_STATUS_OK)
                    for a, b in self._opening_slots(start, end):
                        held = self._held(ref, a, b)
                        slot = u.slots.add(start=self._ts(a), end=self._ts(b),
                                           state=pb.SLOT_STATE_BOOKED if held else pb.SLOT_STATE_FREE)
                        if not held:
                            slot.prices.extend(self._prices())
            return answer

        def CreateBooking(self, request, context):
            self._auth(context)
            if not 1 <= len(request.idempotency_key) <= 100:
                invalid(context, "idempotency_key", "1 to 100 characters")
            sent = request.SerializeToString(deterministic=True)
            with self.lock:
                if request.idempotency_key in self.keys:
                    first, booking_id = self.keys[request.idempotency_key]
                    if first != sent:
                        abort(context, code_pb2.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED", "the key was used for another booking")
                    return pb.CreateBookingResponse(booking=self.bookings[booking_id])
                if request.unit_ref not in units:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_UNIT", "no such unit")
                start, end = self._time(request.start), self._time(request.end)
                if end <= start:
                    invalid(context, "end", "end must be after start")
                if not self._whole_hours_open(start, end):
                    abort(context, code_pb2.FAILED_PRECONDITION, "BOOKING_RULE", "bookings are whole hours within 08:00-22:00")
                if request.mode not in (pb.BOOKING_MODE_DIRECT, pb.BOOKING_MODE_REQUEST):
                    invalid(context, "mode", "BOOKING_MODE_DIRECT or BOOKING_MODE_REQUEST")
                direct = request.mode == pb.BOOKING_MODE_DIRECT
                if direct and self._held(request.unit_ref, start, end):
                    abort(context, code_pb2.FAILED_PRECONDITION, "SLOT_UNAVAILABLE", "the time is taken")
                now = self._ts(dt.datetime.now(dt.timezone.utc))
                hours = int((end - start) / SLOT)
                booking = pb.Booking(booking_id=str(uuid.uuid4()), unit_ref=request.unit_ref, start=request.start, end=request.end,
                                     status=pb.BOOKING_STATUS_CONFIRMED if direct else pb.BOOKING_STATUS_PENDING,
                                     price=self._prices()[0], amount_minor=self._prices()[0].amount_minor_per_hour * hours,
                                     access_code=f"{uuid.uuid4().int % 1000000:06d}" if direct else "",
                                     created_at=now, updated_at=now)
                self.bookings[booking.booking_id] = booking
                self.keys[request.idempotency_key] = (sent, booking.booking_id)
                return pb.CreateBookingResponse(booking=booking)

        def _whole_hours_open(self, start, end):
            slots = list(self._opening_slots(start, end))
            return bool(slots) and slots[0][0] == start and slots[-1][1] == end and len(slots) == int((end - start) / SLOT)

        def GetBooking(self, request, context):
            self._auth(context)
            with self.lock:
                booking = self.bookings.get(request.booking_id)
            if booking is None:
                abort(context, code_pb2.NOT_FOUND, "UNKNOWN_BOOKING", "no such booking")
            return pb.GetBookingResponse(booking=booking)

        def CancelBooking(self, request, context):
            self._auth(context)
            with self.lock:
                booking = self.bookings.get(request.booking_id)
                if booking is None:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_BOOKING", "no such booking")
                if booking.status != pb.BOOKING_STATUS_CANCELLED:
                    booking.status = pb.BOOKING_STATUS_CANCELLED
                    booking.status_message = request.reason
                    booking.access_code = ""
                    booking.updated_at.CopyFrom(self._ts(dt.datetime.now(dt.timezone.utc)))
                return pb.CancelBookingResponse(booking=booking)

    return Vendor()


def main():
    p = argparse.ArgumentParser(description="A small vendor.v1 booking system (in memory), for vendors to start from.")
    p.add_argument("--listen", default="127.0.0.1:50051", help="address to listen on (port 0 picks a free one)")
    p.add_argument("--units", default="hall-a,hall-b,pool", help="comma-separated unit references")
    p.add_argument("--api-key", default=os.environ.get("PYTHON_VENDOR_API_KEY"), help="require this x-api-key (default: none)")
    p.add_argument("--proto", default=DEFAULT_PROTO, help="the directory holding vendor/v1/booking_provider.proto")
    a = p.parse_args()
    pb, pb_grpc = compile_proto(os.path.abspath(a.proto))
    units = {u.strip() for u in a.units.split(",") if u.strip()}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_BookingProviderServicer_to_server(make_servicer(pb, pb_grpc, units, a.api_key), server)
    port = server.add_insecure_port(a.listen)
    if port == 0:
        sys.exit(f"python-vendor: cannot listen on {a.listen}")
    server.start()
    host = a.listen.rsplit(":", 1)[0]
    print(f"python-vendor listening on http://{host}:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()

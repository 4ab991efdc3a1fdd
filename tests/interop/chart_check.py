#!/usr/bin/env python3
"""Checks a Helm chart without a helm binary or a cluster, fully offline.

    python tests/interop/chart_check.py CHART_DIR [--golden-dir DIR] [--update-golden]
                                        [--kube-version X.Y]

Runs in the venv that scripts/chart-tools.sh makes (helm-python-sdk, which embeds Helm's own
Go SDK, kubernetes-validate, jsonschema, PyYAML). The steps, one output line each:

  lint        Helm's `lint --strict` (warnings fail) with the default values and with each
              CHART_DIR/ci/*.yaml, at the target Kubernetes version.
  schema      values.schema.json is a valid JSON schema; values.yaml and every ci file (merged
              over the defaults, as Helm validates them) pass it with the jsonschema package;
              every entry of BAD_VALUES below is refused by jsonschema AND by Helm's render.
  kube-version  a client-side dry-run install at the target version, which is where Helm
              enforces Chart.yaml's kubeVersion constraint (plain rendering does not).
  render      `helm template`-like rendering (release `registry`, namespace `registry`) of the
              default values and each ci file; the set is named `default` or the ci file's stem.
  validate    every rendered document (and every CRD under crds/) against the Kubernetes
              OpenAPI schemas that kubernetes-validate bundles, strictly (unknown fields fail).
              A document whose kind has no bundled schema fails, unless its API group is a
              CRD group from CRD_API_GROUPS below or a group the chart's crds/ define: those
              are skipped, and the line says which were.
  golden      the rendering equals GOLDEN_DIR/<set>.yaml (a unified diff otherwise);
              --update-golden writes the files instead (and removes stale ones).

Exits 0 when every step passed, 1 when any failed (each failure says why), 2 on bad usage.
The last line is `chart-check: N passed, M failed`.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import sys
from pathlib import Path
from typing import Any

# --- things the chart author may adjust -------------------------------------------------

# Deliberately wrong values: each must be refused by values.schema.json (checked with the
# jsonschema package and with Helm's own render). Dotted path into the values -> bad value.
BAD_VALUES: list[tuple[str, Any]] = [
    ("replicaCount", "many"),
]

# API groups of custom resources the chart may render. kubernetes-validate only bundles the
# built-in Kubernetes schemas, so documents of these groups are skipped (and reported as
# skipped). A document with no bundled schema whose group is NOT listed here (and not defined
# by the chart's own crds/) fails: that is a typo, or an API removed in the target version.
CRD_API_GROUPS: set[str] = {
    "monitoring.coreos.com",  # Prometheus Operator: ServiceMonitor, PodMonitor, PrometheusRule
    "postgresql.cnpg.io",  # CloudNativePG: Cluster, Pooler, ScheduledBackup
    "cert-manager.io",  # Certificate, Issuer
    "gateway.networking.k8s.io",  # Gateway API: HTTPRoute, GRPCRoute, Gateway
    "traefik.io",
    "traefik.containo.us",
    "route.openshift.io",
}

RELEASE_NAME = "registry"
NAMESPACE = "registry"

# --- implementation ---------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GOLDEN_DIR = REPO_ROOT / "tests" / "golden" / "chart"

try:
    import helm_python as helm
    import jsonschema
    import referencing
    import yaml
    from kubernetes_validate import utils as kv_utils
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(
        f"chart-check: {exc}; run scripts/chart-tools.sh and use the python of its venv "
        "(${REGISTRY_CHART_VENV:-$HOME/.cache/registry-chart-venv}/bin/python)"
    )


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def ok(self, step: str, detail: str) -> None:
        self.passed += 1
        print(f"ok   {step}: {detail}", flush=True)

    def fail(self, step: str, detail: str, extra: str = "") -> None:
        self.failed.append(step)
        print(f"FAIL {step}: {detail}", flush=True)
        if extra:
            print(extra.rstrip("\n"), flush=True)


def indent(text: str, prefix: str = "     ") -> str:
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


def api_group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


# --- values -----------------------------------------------------------------------------


def load_values(path: Path) -> dict[str, Any]:
    """Parses a values file with Helm's own YAML reader, so the schema check sees exactly
    what Helm sees (YAML 1.1 booleans, dates as strings, numbers through JSON)."""
    return helm.values_from_yaml(path.read_text(encoding="utf-8"))


def set_path(values: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(values)
    node = out
    keys = dotted.split(".")
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value
    return out


def schema_validator(schema: dict[str, Any]) -> Any:
    """A jsonschema validator of the schema's own draft. Helm 4 defaults to draft 2020-12
    when $schema is absent, accepts https:// draft URLs, and asserts `format`; so does this.
    The registry is empty: a remote $ref fails instead of being fetched."""
    declared = str(schema.get("$schema", ""))
    drafts = [
        ("draft-04", jsonschema.Draft4Validator),
        ("draft-06", jsonschema.Draft6Validator),
        ("draft-07", jsonschema.Draft7Validator),
        ("2019-09", jsonschema.Draft201909Validator),
        ("2020-12", jsonschema.Draft202012Validator),
    ]
    cls = jsonschema.Draft202012Validator
    for marker, candidate in drafts:
        if marker in declared:
            cls = candidate
    cls.check_schema(schema)
    return cls(schema, registry=referencing.Registry(), format_checker=cls.FORMAT_CHECKER)


def schema_errors(validator: Any, values: dict[str, Any]) -> list[str]:
    try:
        errors = sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
        return [f"at '/{'/'.join(str(p) for p in e.absolute_path)}': {e.message}" for e in errors]
    except referencing.exceptions.Unresolvable as exc:
        return [f"unresolvable $ref {exc} (remote references are not fetched; inline them)"]


# --- rendering --------------------------------------------------------------------------


def render(chart: Any, values: dict[str, Any]) -> str:
    """What `helm template --include-crds` prints, in a stable order: the chart's CRDs, then
    each rendered template (hooks included; NOTES.txt and empty output left out), sorted by
    path, each under a `# Source:` comment."""
    parts = []
    for crd in sorted(chart.crds, key=lambda c: c["name"]):
        parts.append(f"---\n# Source: {crd['name']}\n{crd['data'].strip()}\n")
    manifests = chart.render(values, name=RELEASE_NAME, namespace=NAMESPACE)
    for path in sorted(manifests):
        body = manifests[path].strip()
        if path.endswith("NOTES.txt") or not body:
            continue
        parts.append(f"---\n# Source: {path}\n{body}\n")
    return "".join(parts)


def documents(rendering: str) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(rendering) if doc is not None]


def describe(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}/{meta.get('name')} ({doc.get('apiVersion')})"


def validate_documents(
    docs: list[Any], kube_version: str, crd_groups: set[str]
) -> tuple[int, list[str], list[str]]:
    """Returns (number validated, errors, skipped custom resources)."""
    validated, errors, skipped = 0, [], []
    seen: dict[tuple[str, str, str], int] = {}
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
            errors.append(f"document {index + 1} is not a Kubernetes object (apiVersion/kind missing)")
            continue
        meta = doc.get("metadata") or {}
        if not meta.get("name"):
            errors.append(f"{describe(doc)}: metadata.name is missing")
        key = (
            doc["apiVersion"].split("/")[0] + "/" + doc["kind"],
            meta.get("namespace", ""),
            meta.get("name", ""),
        )
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            errors.append(f"{describe(doc)} is rendered more than once (Helm refuses duplicates)")
        try:
            kv_utils.validate(doc, kube_version, strict=True)
            validated += 1
        except kv_utils.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path) or "(top level)"
            errors.append(f"{describe(doc)}: {where}: {exc.message}")
        except kv_utils.SchemaNotFoundError:
            group = api_group(doc["apiVersion"])
            if group in crd_groups:
                skipped.append(f"{doc['kind']} ({doc['apiVersion']})")
            else:
                errors.append(
                    f"{describe(doc)}: Kubernetes {kube_version} has no such kind (a typo, or an "
                    "API removed in this version); if it is a custom resource, add its API "
                    "group to CRD_API_GROUPS in chart_check.py"
                )
        except kv_utils.VersionNotSupportedError:
            errors.append(f"kubernetes-validate has no schemas for Kubernetes {kube_version}")
            break
        except Exception as exc:  # noqa: BLE001 - report, don't crash
            errors.append(f"{describe(doc)}: could not be validated: {exc}")
    return validated, errors, skipped


# --- steps ------------------------------------------------------------------------------


def step_lint(report: Report, chart_dir: Path, sets: list[tuple[str, Path | None]], kube: str) -> None:
    for name, path in sets:
        step = f"lint {name}"
        try:
            values = load_values(path) if path else None
            result = helm.lint(
                str(chart_dir), values, strict=True, namespace=NAMESPACE, kube_version=f"v{kube}.0"
            )
        except helm.HelmError as exc:
            report.fail(step, f"helm lint could not run: {exc}")
            continue
        # severity: 1 info, 2 warning, 3 error; --strict makes warnings errors.
        bad = [m for m in result["messages"] if m["severity"] >= 2]
        infos = [m for m in result["messages"] if m["severity"] < 2]
        if bad or result["errors"]:
            lines = [
                f"[{'WARNING' if m['severity'] == 2 else 'ERROR'}] {m['path']}: {m['error'].strip()}"
                for m in bad
            ]
            lines += [
                f"[ERROR] {e.strip()}"
                for e in result["errors"]
                if not any(e.strip() in line for line in lines)
            ]
            report.fail(step, f"helm lint --strict found {len(lines)} problem(s)", indent("\n".join(lines)))
        else:
            note = "; ".join(f"{m['path']}: {m['error'].strip()}" for m in infos)
            report.ok(step, "helm lint --strict passed" + (f" (info: {note})" if note else ""))


def step_schema(report: Report, chart: Any, chart_dir: Path, sets: list[tuple[str, Path | None]]) -> None:
    schema_path = chart_dir / "values.schema.json"
    if not schema_path.is_file():
        report.fail("schema", f"{schema_path} is missing: the chart must validate its values")
        return
    try:
        validator = schema_validator(json.loads(schema_path.read_text(encoding="utf-8")))
    except (ValueError, jsonschema.SchemaError) as exc:
        report.fail("schema", f"values.schema.json is not a valid JSON schema: {exc}")
        return
    defaults = chart.values
    for name, path in sets:
        step = f"schema {name}"
        try:
            # A ci file only overrides: Helm validates the merged values, so does this.
            values = defaults if path is None else chart.merge_values(load_values(path))
        except helm.HelmError as exc:
            report.fail(step, f"{path} does not parse: {exc}")
            continue
        errors = schema_errors(validator, values)
        label = "values.yaml" if path is None else f"ci/{path.name} over values.yaml"
        if errors:
            report.fail(step, f"{label} breaks values.schema.json", indent("\n".join(errors)))
        else:
            report.ok(step, f"{label} satisfies values.schema.json (jsonschema, {type(validator).__name__})")
    for dotted, bad in BAD_VALUES:
        step = f"schema rejects {dotted}={bad!r}"
        wrong = set_path(defaults, dotted, bad)
        js = schema_errors(validator, wrong)
        helm_error, helm_other = None, None
        try:
            chart.render(wrong, name=RELEASE_NAME, namespace=NAMESPACE)
        except helm.HelmValuesError as exc:
            helm_error = " ".join(str(exc).split())
        except helm.HelmError as exc:
            helm_other = " ".join(str(exc).split())
        if js and helm_error:
            report.ok(step, f"refused by jsonschema ({js[0]}) and by helm ({helm_error})")
            continue
        why = []
        if not js:
            why.append("jsonschema accepted it")
        if helm_other:
            why.append(f"helm failed, but not on the values: {helm_other}")
        elif not helm_error:
            why.append("helm rendered it")
        report.fail(
            step, "; ".join(why) + " (tighten values.schema.json, or adjust BAD_VALUES in chart_check.py)"
        )


def step_kube_version(report: Report, chart: Any, kube: str) -> None:
    """Helm checks Chart.yaml's kubeVersion only when installing: a client-side dry run (the
    `helm template` code path, no cluster) at the target version. helm-python-sdk 0.2.2 does not
    expose `kube_version` on Config.install, but its C ABI takes it (helm_install options)."""
    from helm_python import _native

    constraint = chart.metadata.get("kubeVersion")
    step = f"kube-version v{kube}.0"
    opts = {"dry_run": "client", "namespace": NAMESPACE, "kube_version": f"v{kube}.0"}
    try:
        with helm.Config(namespace=NAMESPACE, storage_driver="memory") as cfg:
            _native.call_string(
                "helm_install",
                cfg._raw(),
                _native.HANDLE(0),
                chart._raw(),
                None,
                RELEASE_NAME,
                None,
                json.dumps(opts),
            )
    except helm.HelmError as exc:
        report.fail(step, " ".join(str(exc).split()))
        return
    if constraint:
        report.ok(step, f"a dry-run install accepts it (Chart.yaml kubeVersion {constraint!r})")
    else:
        report.ok(step, "a dry-run install accepts it (Chart.yaml sets no kubeVersion: consider one)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chart_dir", type=Path)
    parser.add_argument(
        "--golden-dir",
        type=Path,
        default=DEFAULT_GOLDEN_DIR,
        help=f"where <set>.yaml renderings are kept (default {DEFAULT_GOLDEN_DIR})",
    )
    parser.add_argument(
        "--update-golden", action="store_true", help="write the golden files instead of comparing"
    )
    supported = sorted(
        {kv_utils.major_minor(v) for v in kv_utils.all_versions()},
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    parser.add_argument(
        "--kube-version",
        default=supported[-1],
        help=f"Kubernetes version X.Y to validate against (default {supported[-1]}, "
        f"the newest kubernetes-validate bundles; supported {supported[0]}..{supported[-1]})",
    )
    args = parser.parse_args(argv)

    kube = args.kube_version.lstrip("v")
    kube = ".".join(kube.split(".")[:2])
    if kube not in supported:
        parser.error(
            f"--kube-version {args.kube_version}: kubernetes-validate "
            f"{kv_utils.__version__} bundles schemas for {', '.join(supported)}"
        )
    chart_dir: Path = args.chart_dir
    if not (chart_dir / "Chart.yaml").is_file():
        parser.error(f"{chart_dir} is not a chart directory (no Chart.yaml)")

    report = Report()
    print(
        f"chart-check: {chart_dir} with helm SDK {helm.helm_sdk_version()} (helm-python-sdk "
        f"{helm.__version__}), kubernetes-validate {kv_utils.__version__} --strict for "
        f"Kubernetes {kube}",
        flush=True,
    )
    ci_files = sorted((chart_dir / "ci").glob("*.yaml")) if (chart_dir / "ci").is_dir() else []
    sets: list[tuple[str, Path | None]] = [("default", None)] + [(p.stem, p) for p in ci_files]
    if len({name for name, _ in sets}) != len(sets):
        parser.error("ci/default.yaml would clash with the default values set")

    try:
        chart = helm.Chart.load(str(chart_dir))
    except helm.HelmError as exc:
        report.fail("load", f"helm cannot load the chart: {exc}")
        return finish(report)

    with chart:
        step_lint(report, chart_dir, sets, kube)
        step_schema(report, chart, chart_dir, sets)
        step_kube_version(report, chart, kube)

        crd_groups = set(CRD_API_GROUPS)
        for crd in chart.crds:
            for doc in documents(crd["data"]):
                if isinstance(doc, dict):
                    crd_groups.add(str((doc.get("spec") or {}).get("group", "")))

        golden_dir: Path = args.golden_dir
        if args.update_golden:
            golden_dir.mkdir(parents=True, exist_ok=True)
        for name, path in sets:
            try:
                values = load_values(path) if path else None
                rendering = render(chart, values)
                docs = documents(rendering)
            except (helm.HelmError, yaml.YAMLError) as exc:
                report.fail(
                    f"render {name}",
                    " ".join(str(exc).split())
                    if isinstance(exc, helm.HelmError)
                    else f"rendered YAML does not parse: {exc}",
                )
                continue
            kinds: dict[str, int] = {}
            for doc in docs:
                if isinstance(doc, dict):
                    kinds[str(doc.get("kind"))] = kinds.get(str(doc.get("kind")), 0) + 1
            report.ok(
                f"render {name}",
                f"{len(docs)} documents: "
                + ", ".join(f"{k}×{n}" if n > 1 else k for k, n in sorted(kinds.items())),
            )

            validated, errors, skipped = validate_documents(docs, kube, crd_groups)
            step = f"validate {name}"
            skip_note = (
                f"; skipped custom resources without bundled schemas: {', '.join(sorted(set(skipped)))}"
                if skipped
                else ""
            )
            if errors:
                report.fail(
                    step,
                    f"{len(errors)} document(s) invalid for Kubernetes {kube}{skip_note}",
                    indent("\n".join(errors)),
                )
            else:
                report.ok(step, f"{validated} documents valid (strict) for Kubernetes {kube}{skip_note}")

            step_golden(report, name, rendering, golden_dir / f"{name}.yaml", args.update_golden)

        names = {f"{name}.yaml" for name, _ in sets}
        stale = (
            sorted(p for p in golden_dir.glob("*.yaml") if p.name not in names) if golden_dir.is_dir() else []
        )
        for path in stale:
            if args.update_golden:
                path.unlink()
                report.ok("golden stale", f"removed {path} (no such values set any more)")
            else:
                report.fail(
                    "golden stale", f"{path} matches no values set: delete it, or run with --update-golden"
                )
    return finish(report)


def step_golden(report: Report, name: str, rendering: str, path: Path, update: bool) -> None:
    step = f"golden {name}"
    if update:
        if path.is_file() and path.read_text(encoding="utf-8") == rendering:
            report.ok(step, f"{path} unchanged")
        else:
            path.write_text(rendering, encoding="utf-8")
            report.ok(step, f"wrote {path}")
        return
    if not path.is_file():
        report.fail(step, f"{path} is missing: run with --update-golden to create it")
        return
    expected = path.read_text(encoding="utf-8")
    if expected == rendering:
        report.ok(step, f"matches {path}")
        return
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            rendering.splitlines(keepends=True),
            fromfile=str(path),
            tofile=f"rendered {name}",
        )
    )
    report.fail(step, f"rendering differs from {path} (if intended, rerun with --update-golden)", diff)


def finish(report: Report) -> int:
    if report.failed:
        print(f"chart-check: FAILED: {', '.join(report.failed)}")
    print(f"chart-check: {report.passed} passed, {len(report.failed)} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

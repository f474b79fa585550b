#!/usr/bin/env python3
"""Checks the alerts and dashboards shipped in deploy/ (run by scripts/check-deploy.sh).

Usage: check_observability.py RENDERED_DIR...

- every PrometheusRule of each Helm rendering has the Prometheus Operator's shape, a severity, a
  summary, a description and a runbook_url whose anchor is a heading of deploy/README.md, and
  each expression parses as PromQL;
- the Grafana dashboard (chart file and each rendered ConfigMap) matches
  deploy/schemas/grafana-dashboard.schema.json, its panels fit the grid, and each target's
  expression parses as PromQL;
- the CloudWatch dashboard and the saved Logs Insights queries in deploy/cloudwatch/ match their
  schemas in deploy/schemas/, and the dashboard's widgets fit its grid.

What these name (metric names, record fields) is checked against the running binary by
tests/tests/observability.rs.
"""

import json
import re
import sys
from pathlib import Path

import jsonschema
import promql_parser
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "deploy" / "schemas"
SEVERITIES = {"critical", "warning", "info"}
# Grafana's template variables, given a value so the expression parses as PromQL.
GRAFANA_VARIABLES = {"$namespace": "event-keeper", "${datasource}": "prometheus"}

failures = []


def fail(where, what):
    failures.append(f"{where}: {what}")


def schema(name):
    return json.loads((SCHEMAS / name).read_text())


def parses(where, expr):
    try:
        promql_parser.parse(expr)
    except Exception as error:  # the parser raises a plain ValueError-like error
        fail(where, f"expression does not parse as PromQL: {error}: {expr}")


def readme_anchors():
    text = (ROOT / "deploy" / "README.md").read_text()
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", text, flags=re.MULTILINE):
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(anchor)
    return anchors


def check_rule(where, rule, anchors):
    for key in ("alert", "expr", "for", "labels", "annotations"):
        if key not in rule:
            fail(where, f"rule lacks `{key}`")
            return
    name = rule["alert"]
    where = f"{where}: {name}"
    if not re.fullmatch(r"EventKeeper[A-Za-z]+", name):
        fail(where, "alert names start with EventKeeper and are CamelCase")
    if not re.fullmatch(r"([0-9]+(ms|s|m|h|d|w|y))+", str(rule["for"])):
        fail(where, f"`for` is not a Prometheus duration: {rule['for']}")
    if rule["labels"].get("severity") not in SEVERITIES:
        fail(where, f"severity is not one of {sorted(SEVERITIES)}")
    annotations = rule["annotations"]
    for key in ("summary", "description", "runbook_url"):
        if not annotations.get(key):
            fail(where, f"annotation `{key}` is missing or empty")
    anchor = annotations.get("runbook_url", "").rpartition("#")[2]
    if anchor not in anchors:
        fail(where, f"runbook_url anchor #{anchor} is no heading of deploy/README.md")
    parses(where, rule["expr"])


def check_grafana(where, dashboard):
    try:
        jsonschema.validate(dashboard, schema("grafana-dashboard.schema.json"))
    except jsonschema.ValidationError as error:
        fail(where, f"dashboard does not match its schema: {error.message} at {list(error.path)}")
        return
    ids = [panel["id"] for panel in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        fail(where, "panel ids are not unique")
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        if grid["x"] + grid["w"] > 24:
            fail(where, f"panel {panel['title']!r} is wider than the grid")
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            parses(f"{where}: panel {panel['title']!r}", expr)


def check_rendering(directory, anchors):
    rendered = Path(directory) / "rendered.yaml"
    documents = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    rules = 0
    for document in documents:
        kind = document.get("kind")
        name = document.get("metadata", {}).get("name", "?")
        where = f"{rendered}: {kind}/{name}"
        if kind == "PrometheusRule":
            if document.get("apiVersion") != "monitoring.coreos.com/v1":
                fail(where, "apiVersion is not monitoring.coreos.com/v1")
            for group in document["spec"]["groups"]:
                if not group.get("name") or not group.get("rules"):
                    fail(where, "a rule group needs a name and rules")
                for rule in group.get("rules", []):
                    check_rule(where, rule, anchors)
                    rules += 1
        elif kind == "ConfigMap" and document["metadata"].get("labels", {}).get("grafana_dashboard"):
            for key, text in document.get("data", {}).items():
                check_grafana(f"{where}: {key}", json.loads(text))
    return rules


def check_cloudwatch():
    folder = ROOT / "deploy" / "cloudwatch"
    placeholders = {"${LOG_GROUP}": "/event-keeper/check", "${REGION}": "eu-west-1"}

    def filled(path):
        text = path.read_text()
        for placeholder, value in placeholders.items():
            text = text.replace(placeholder, value)
        if "${" in text:
            fail(path, "a placeholder other than ${LOG_GROUP} and ${REGION} is left")
        return json.loads(text)

    dashboard = filled(folder / "dashboard.json")
    try:
        jsonschema.validate(dashboard, schema("cloudwatch-dashboard.schema.json"))
    except jsonschema.ValidationError as error:
        fail(folder / "dashboard.json", f"{error.message} at {list(error.path)}")
    for widget in dashboard.get("widgets", []):
        if widget.get("x", 0) + widget.get("width", 6) > 24:
            fail(folder / "dashboard.json", f"widget {widget['properties'].get('title')!r} is wider than the grid")
    queries = sorted((folder / "queries").glob("*.json"))
    if not queries:
        fail(folder / "queries", "no saved queries")
    for path in queries:
        try:
            jsonschema.validate(filled(path), schema("cloudwatch-query-definition.schema.json"))
        except jsonschema.ValidationError as error:
            fail(path, f"{error.message} at {list(error.path)}")
    return len(queries)


def main(directories):
    anchors = readme_anchors()
    rules = sum(check_rendering(d, anchors) for d in directories)
    if rules == 0:
        fail("renderings", "no rendering holds a PrometheusRule: enable it in one ci/*-values.yaml")
    chart_dashboard = ROOT / "deploy" / "helm" / "event-keeper" / "files" / "dashboard.json"
    check_grafana(chart_dashboard, json.loads(chart_dashboard.read_text()))
    queries = check_cloudwatch()
    if failures:
        for failure in failures:
            print(f"check_observability: {failure}", file=sys.stderr)
        return 1
    print(f"ok: {rules} alert rules, the Grafana dashboard, the CloudWatch dashboard and {queries} saved queries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""pytest plugin: writes each test's outcome to the file named by CODE_EVOLVER_REPORT (JSON)."""

import json
import os

_results = []


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        message = ""
        if report.outcome != "passed":
            message = getattr(report, "longreprtext", "") or str(report.longrepr or "")
        _results.append(
            {
                "id": report.nodeid,
                "outcome": report.outcome,
                "duration_s": report.duration,
                "message": message[-4000:],
            }
        )


def pytest_collectreport(report):
    if report.outcome == "failed":
        _results.append(
            {
                "id": report.nodeid or "collection",
                "outcome": "error",
                "duration_s": 0.0,
                "message": (getattr(report, "longreprtext", "") or str(report.longrepr or ""))[-4000:],
            }
        )


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CODE_EVOLVER_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"exit_status": int(exitstatus), "tests": _results}, f)

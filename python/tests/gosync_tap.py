# SPDX-License-Identifier: GPL-2.0 OR MIT
"""A pytest plugin that reports in kselftest's TAP: "ok N name", "not ok N
name" with the failure as "#" lines, "ok N name # SKIP why", and a last
"# Totals:" line, which scripts/run-tests requires of every program."""

import sys

_n = 0
_counts = {"pass": 0, "fail": 0, "skip": 0, "error": 0}


def _out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _comment(text):
    for line in str(text).splitlines():
        _out("# " + line)


def pytest_addoption(parser):
    # Run with -p no:terminal, whose options the assertion rewriter reads.
    parser.addoption("--verbose", action="count", default=0,
                     dest="verbose", help="more detail in failures")


def pytest_collection_finish(session):
    _out("TAP version 13")
    _out("1..%d" % len(session.items))


def pytest_collectreport(report):
    if report.failed:
        _counts["error"] += 1
        _out("not ok - collecting %s" % report.nodeid)
        _comment(report.longrepr)


def pytest_runtest_logreport(report):
    global _n
    name = report.nodeid
    if report.when == "call" or (report.when == "setup" and
                                 not report.passed):
        _n += 1
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr,
                                                      tuple) else ""
            _counts["skip"] += 1
            _out("ok %d %s # SKIP %s" % (_n, name, reason))
        elif report.passed:
            _counts["pass"] += 1
            _out("ok %d %s" % (_n, name))
        else:
            _counts["fail"] += 1
            _comment(report.longrepr)
            for title, text in report.sections:
                _comment("---- " + title)
                _comment(text)
            _out("not ok %d %s" % (_n, name))
    elif report.when == "teardown" and report.failed:
        _counts["fail"] += 1
        _comment(report.longrepr)
        _out("not ok - teardown of %s" % name)


def pytest_sessionfinish(session, exitstatus):
    _out("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:%d"
         % (_counts["pass"], _counts["fail"], _counts["skip"],
            _counts["error"]))

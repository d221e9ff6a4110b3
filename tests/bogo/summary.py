"""Summarizes a BoGo run: pass / fail / unimplemented, the failures by the error BoGo expected
(or how they failed), the hangs; then checks the run against the record.

usage: summary.py RESULTS.json LOG.txt KNOWN-FAILURES.txt FLOOR.txt [--write]
Exit 1 when a test failed that known-failures.txt does not list (a regression), or fewer tests
passed than FLOOR.txt says. --write records this run's failures and pass count instead.
"""

import collections
import json
import re
import sys


def main():
    results_file, log_file, known_file, floor_file = sys.argv[1:5]
    write = "--write" in sys.argv[5:]
    results = json.load(open(results_file))["tests"]
    counts = collections.Counter(r["actual"] for r in results.values())
    passed, failed, unimplemented = counts["PASS"], counts["FAIL"], counts["SKIP"]
    print(f"bogo: {passed} pass, {failed} fail, {unimplemented} unimplemented (of {len(results)} run; disabled ones are not run)")

    log = open(log_file, errors="replace").read()
    reasons = {}
    for block in re.split(r"FAILED \(", log)[1:]:
        name, body = block.split(")", 1)
        want = re.search(r'remote: "(.*)"', body)
        stderr = re.search(r"stderr:\n\t\t(.*)", body)
        if stderr and "Resource temporarily unavailable" in stderr.group(1):
            reasons[name] = "hang (the shim's read timed out)"
        elif want:
            reasons[name] = f"expected {want.group(1) or 'an error'}"
        else:
            reasons[name] = body.strip().split("\n")[0]
    failures = sorted(n for n, r in results.items() if r["actual"] == "FAIL")
    by_reason = collections.Counter(reasons.get(n, "?") for n in failures)
    print("failures by class:")
    for reason, n in by_reason.most_common():
        print(f"  {n:4}  {reason}")
    hangs = [n for n in failures if reasons.get(n, "").startswith("hang")]
    print(f"hangs: {len(hangs)} {hangs}")

    if write:
        with open(known_file, "w") as f:
            f.write("# BoGo tests that fail today, one per line (tests/bogo/summary.py --write).\n")
            f.write("# Why, by class: README.md. A failure not listed here fails the test command.\n")
            f.writelines(f"{n}\n" for n in failures)
        with open(floor_file, "w") as f:
            f.write(f"{passed}\n")
        print(f"recorded {len(failures)} known failures and the floor {passed}")
        return 0

    known = {l.strip() for l in open(known_file) if l.strip() and not l.startswith("#")}
    floor = int(open(floor_file).read().split()[0])
    new = [n for n in failures if n not in known]
    fixed = sorted(known - set(failures))
    if fixed:
        print(f"now passing or not run (remove from known-failures.txt): {len(fixed)}: {fixed[:20]}")
    status = 0
    if new:
        print(f"REGRESSION: {len(new)} tests fail that did not: {new}")
        status = 1
    if passed < floor:
        print(f"REGRESSION: {passed} pass, the floor is {floor}")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

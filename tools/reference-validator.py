"""Times the reference Substrait validator (PyPI `substrait-validator`) on binary plans.

Usage: python3 tools/reference-validator.py RUNS PLAN.pb [PLAN.pb ...]

Prints one JSON object per line: the plan, the median seconds of RUNS validations of its
bytes (in this process, after one warm-up), the validator's verdict (1 valid, 0 unknown,
-1 invalid) and its count of error diagnostics, then a final line with the validator's versions. `make bench`
runs it through `lode-bench validator`.
"""

import json
import statistics
import sys
import time

import substrait_validator


def main() -> None:
    runs = int(sys.argv[1])
    config = substrait_validator.Config()
    # Lode's plans follow Substrait 0.85; this validator knows an older schema. Fields it
    # does not know are skipped rather than reported, so it checks what it understands.
    config.ignore_unknown_fields()
    for path in sys.argv[2:]:
        with open(path, "rb") as file:
            plan = file.read()
        substrait_validator.check_plan(plan, config)
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            verdict = substrait_validator.check_plan(plan, config)
            seconds.append(time.perf_counter() - started)
        # The text export: the protobuf one nests too deep for Python's protobuf decoder.
        diagnostics = substrait_validator.plan_to_result_handle(plan, config).export_diagnostics()
        errors = sum(1 for line in diagnostics.splitlines() if line.startswith("Error at "))
        print(json.dumps({
            "plan": path,
            "seconds": statistics.median(seconds),
            "verdict": verdict,
            "errors": errors,
        }))
    print(json.dumps({
        "validator": substrait_validator.version(),
        "substrait": substrait_validator.substrait_version(),
    }))


if __name__ == "__main__":
    main()

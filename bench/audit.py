"""The attacker's audit for a national month over ten years of releases (issue 20; goal <= 10 s).

    .venv/bin/python bench/audit.py [--months 120] [--authorities 152] [--range-only]

SYNTHETIC: 152 made-up authorities in the nine regions (`bench.national`), 120 months of returns
that obey every declared identity (children looked after move by those who started and ceased,
plans rise by no more than plans started, parts within wholes, twelve-month sums of their months),
small authorities with small counts often. Each month is built by the release code
(`assembly.release_rows`: disclosure control within the month) and the audit protects it in
turn (`audit.protect`) over the months before. Timed: building the attacker's constraints from
ten years of releases, then the audit (and complementary suppression) of the last month; then the
whole range from the first month as a range publish runs it (`across_releases.protected_months`: each
month protected in turn, rebuilt with its complements, its summary audited), each month's time.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from bench.national import REGIONS, SEED  # noqa: E402
from pipelines.publish import audit  # noqa: E402
from pipelines.publish.across_releases import protected_months  # noqa: E402
from pipelines.publish.assembly import Geographies, release_rows  # noqa: E402
from pipelines.publish.audit import Auditor, Layout, audit_releases, month_release, protect, within_reach  # noqa: E402
from pipelines.publish.ees import ENGLAND_CODE, published_indicators  # noqa: E402
from schemas.month import Month  # noqa: E402


def register(authorities: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "old_la_code": str(700 + i),
                "new_la_code": f"E06{900001 + i:06d}",
                "la_name": f"SYNTHETIC Authority {i + 1:03d}",
                "region_code": REGIONS[i % len(REGIONS)][0],
                "region_name": REGIONS[i % len(REGIONS)][1],
                "la_type": "Unitary authority",
            }
            for i in range(authorities)
        ]
    )


def months_of_returns(codes: list[str], months: list[str]) -> dict[str, pd.DataFrame]:
    """Every month's accepted returns: each authority a size; flows drawn around it, stocks moved by them."""
    rng = random.Random(SEED)
    counts = [i.column for i in published_indicators() if i.is_count]
    sizes: dict[str, float] = {}
    cla: dict[str, int] = {}
    plans: dict[str, int] = {}
    history: dict[str, dict[str, dict[str, int]]] = {}
    for code in codes:
        sizes[code] = rng.choice([0.3, 1, 1, 2, 4])  # a fifth of authorities small: small counts common
        cla[code], plans[code], history[code] = int(300 * sizes[code]), int(150 * sizes[code]), {}
    by_month = {}
    for month in months:
        rows = []
        for code in codes:
            size = sizes[code]

            def flow(mean: float, size: float = size) -> int:
                return max(0, int(rng.gauss(mean * size, 2 + mean * size / 5)))

            contacts, referrals = flow(900), 0
            referrals = min(contacts, flow(250))
            started, ceased = flow(12), flow(11)
            ceased = min(ceased, cla[code] + started)
            cla[code] += started - ceased
            plans_started = flow(18)
            plans[code] = max(0, plans[code] + plans_started - flow(17))
            completed = flow(220)
            within_45 = min(completed, flow(190))
            within_15 = min(within_45, flow(80))
            icpcs = flow(20)
            s47 = flow(60)
            history[code][month] = {"contacts": contacts, "referrals": referrals, "s47_enquiries": s47}
            window = [str(Month.parse(month) - k) for k in range(12)]
            sums = {
                f"{flow_name}_12m": sum(history[code][m][flow_name] for m in window)
                if all(m in history[code] for m in window)
                else None
                for flow_name in ("contacts", "referrals", "s47_enquiries")
            }
            figures = {
                "population_0_17": int(30000 * size),
                "contacts": contacts,
                "referrals": referrals,
                "referrals_to_assessment": min(referrals, flow(200)),
                "re_referrals": min(referrals, flow(50)),
                "assessments_completed": completed,
                "assessments_within_15wd": within_15,
                "assessments_within_45wd": within_45,
                "s47_enquiries": s47,
                "icpcs": icpcs,
                "icpcs_within_15wd": min(icpcs, flow(15)),
                "cp_plans_started": plans_started,
                "cla_started": started,
                "cla_ceased": ceased,
                "cin": cla[code] + plans[code] + flow(700),
                "cp_plans": plans[code],
                "cla": cla[code],
                **sums,
            }
            rows.append({"la_code": code, **{c: figures.get(c) for c in counts}})
        by_month[month] = pd.DataFrame(rows, columns=["la_code", *counts])
    return by_month


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--authorities", type=int, default=152)
    parser.add_argument("--range-only", action="store_true", help="only the whole range from the first month")
    args = parser.parse_args()
    frame = register(args.authorities)
    geographies = Geographies.of(frame)
    layout = Layout({r.code: r.authorities for r in geographies.regions}, ENGLAND_CODE)
    months = [str(Month.parse("2015-04") + k) for k in range(args.months)]
    returns = months_of_returns(list(geographies.authorities), months)
    if args.range_only:
        whole_range(geographies, months, returns)
        return
    started = time.perf_counter()
    built = [month_release(m, release_rows(m, geographies, returns[m]).figures) for m in months]
    print(f"built {len(built)} months with disclosure control within the month: {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    auditor = Auditor(layout)
    for release in built[:-1]:
        auditor.add(release)
    constraints = time.perf_counter() - started
    print(
        f"the attacker's constraints from all {len(built) - 1} releases (more than an audit builds): "
        f"{len(auditor.constraints)} in {constraints:.1f} s"
    )
    started = time.perf_counter()
    auditor.add(built[-1])
    found = auditor.audit(months[-1])
    print(
        f"audit of {months[-1]} as disclosure control within the month leaves it: {time.perf_counter() - started:.1f} s; "
        f"{len(found.intervals)} withheld small figures audited, {len(found.failures)} pinned or bounded into 1..5"
    )

    started = time.perf_counter()
    near = [release for release in built if within_reach(release.month, months[-1])]
    found = audit_releases(layout, near, months[-1])
    print(
        f"the audit of {months[-1]} alone, as a release would run it (constraints of the {len(near)} releases "
        f"within reach built, then solved): {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    protected, found = protect(layout, built[:-1], built[-1])
    whole = time.perf_counter() - started
    added = len(built[-1].published - protected.published)
    summary = found.summary()
    print(
        f"protect {months[-1]} (the releases within reach of it, constraints built inside): "
        f"{whole:.1f} s; {summary['cells_audited']} withheld small figures audited, "
        f"narrowest interval width {summary['narrowest_interval_width']}, {added} complement(s) withheld"
    )

    whole_range(geographies, months, returns)


def whole_range(geographies: Geographies, months: list[str], returns: dict[str, pd.DataFrame]) -> None:
    """Every month of the range protected in turn from the first, as a range publish does
    (`protected_months` over an empty record): each month's time (its `protect` and its reported
    audit), the slowest and the total; and the last month's reported summary against the exact audit's."""
    built = {m: release_rows(m, geographies, returns[m]) for m in months}
    spent: dict[str, float] = {}
    protect_month, report_month = audit.Protection.protect, audit.Protection.published

    def timed(method):  # the bench's stopwatch around the two calls a month makes
        def run(self, release, *args, **kwargs):
            started = time.perf_counter()
            try:
                return method(self, release, *args, **kwargs)
            finally:
                spent[release.month] = spent.get(release.month, 0.0) + time.perf_counter() - started

        return run

    audit.Protection.protect, audit.Protection.published = timed(protect_month), timed(report_month)  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        decided = protected_months(
            geographies, [], built, lambda m, withheld: release_rows(m, geographies, returns[m], withheld=withheld)
        )
    finally:
        audit.Protection.protect, audit.Protection.published = protect_month, report_month  # type: ignore[method-assign]
    total = time.perf_counter() - started
    refused = [m for m, outcome in decided.items() if isinstance(outcome, str)]
    slowest = max(spent, key=spent.__getitem__)
    complements = sum(
        len(built[m].figures.query("published")) - len(outcome.release.figures.query("published"))
        for m, outcome in decided.items()
        if not isinstance(outcome, str)
    )
    print(
        f"the whole range from {months[0]} as one range publish protects it ({len(months)} months, "
        f"protected_months): {total:.1f} s in all (the release code's rebuilds included); "
        f"audit and protect {sum(spent.values()):.1f} s, slowest month {slowest} {spent[slowest]:.1f} s; "
        f"{complements} complement(s) withheld, {len(refused)} month(s) refused"
    )
    for k in range(0, len(months), 12):
        year = months[k : k + 12]
        print("  " + " ".join(f"{m}:{spent.get(m, 0.0):.1f}" for m in year))
    last = decided[months[-1]]
    if not isinstance(last, str):
        releases = [
            month_release(m, outcome.release.figures) for m, outcome in decided.items() if not isinstance(outcome, str)
        ]
        exact = audit_releases(_layout(geographies), releases, months[-1])
        print(f"  {months[-1]}: reported summary {last.audit}; exact audit's {exact.summary()}")


def _layout(geographies: Geographies) -> Layout:
    return Layout({r.code: r.authorities for r in geographies.regions}, ENGLAND_CODE)


if __name__ == "__main__":
    main()

"""A weight-sharing run read right: its scores only rank children, so the summary and the
report point to `katib-enas derive` (not `retrain --trial`), say in one line what a shared score
is, and show derive's ranking once `derived.json` exists, whatever fields it gains."""

from __future__ import annotations

import html
import json
from pathlib import Path

from analysis_support import Command, make_run

from katib_enas.core.sharing.reference import SHARED_SCORE_NOTE


def test_the_summary_and_report_point_to_derive_and_say_what_a_shared_score_is(
    tmp_path: Path, katib_enas: Command
) -> None:
    run_dir = tmp_path / "run"
    make_run(run_dir, shared=True)
    status = katib_enas("status", run_dir, env={"COLUMNS": "300"}).stdout
    assert f"note: {SHARED_SCORE_NOTE}" in status
    assert f"katib-enas derive {run_dir}" in status
    assert f"katib-enas retrain {run_dir} --derived 1" in status
    assert "--trial" not in status
    assert katib_enas("report", run_dir).returncode == 0
    page = (run_dir / "report.html").read_text()
    assert html.escape(SHARED_SCORE_NOTE) in page  # one line, at the top
    assert "katib-enas derive RUN_DIR" in page


def test_derives_ranking_shows_whatever_fields_it_gains(
    tmp_path: Path, katib_enas: Command
) -> None:
    run_dir = tmp_path / "run"
    make_run(run_dir, shared=True)
    trial = json.loads(katib_enas("status", run_dir, "-o", "json").stdout)["trials"][0]
    entries = [
        {  # a future derive: fine-tuned scores, fields this reader does not know
            "rank": rank,
            "architecture": trial["assignments"]["architecture"],
            "nn_config": trial["assignments"]["nn_config"],
            "score": score,
            "fine_tune_steps": 200,
            "scored_by": "fine-tuning",
        }
        for rank, score in ((2, 0.9123), (1, 0.9456))
    ]
    entries.append({"rank": "three", "junk": True})  # unreadable entries are skipped
    (run_dir / "derived.json").write_text(json.dumps({"experiment": "x", "derived": entries}))
    status = katib_enas("status", run_dir, env={"COLUMNS": "300"}).stdout
    lines = status.splitlines()
    start = lines.index("derived architectures (derived.json), best first:")
    assert lines[start + 1].startswith("  #1 score 0.9456: input 8x8x1; layer 0")
    assert lines[start + 2].startswith("  #2 score 0.9123:")
    assert katib_enas("report", run_dir).returncode == 0
    page = (run_dir / "report.html").read_text()
    derived = page.split('<section id="derived">', 1)[1].split("</section>", 1)[0]
    assert derived.index("0.9456") < derived.index("0.9123")
    assert "katib-enas retrain RUN_DIR --derived RANK" in derived


def test_the_score_shown_is_the_one_derive_ranked_by(tmp_path: Path) -> None:
    """Today's derive: shared (fine-tuned) accuracy for all, a brief retrain's for the top."""
    from katib_enas.local.derived_file import read_derived

    path = tmp_path / "derived.json"
    entries = [
        {"rank": 1, "shared_validation_accuracy": 0.81, "retrain_validation_accuracy": 0.93},
        {"rank": 2, "shared_validation_accuracy": 0.84, "retrain_validation_accuracy": None},
    ]
    path.write_text(json.dumps({"derived": entries}))
    first, second = read_derived(path)
    assert (first.score_name, first.score) == ("retrain_validation_accuracy", 0.93)
    assert (second.score_name, second.score) == ("shared_validation_accuracy", 0.84)
    path.write_text("{not json")
    assert read_derived(path) == []

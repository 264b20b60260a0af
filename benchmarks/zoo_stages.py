"""The shipped model zoo's headline numbers at two commits, side by side: did a stage improve on the last?

    python benchmarks/zoo_stages.py 014bd20                 # stage 4 as shipped against the working tree
    python benchmarks/zoo_stages.py 0f688ce 014bd20 --out benchmarks/results/zoo_stages_3_4.json
    python benchmarks/zoo_stages.py 7b38f9d benchmarks/results/zoo_stage8_partial \
        --styles great_wave starry_night the_scream        # an evaluation kept in a folder, on some styles

Reads only what ``docs/make_results.py`` wrote at each commit (``docs/results/STYLE_summary.json`` and, where
it ran with ``--face-zoom``, ``STYLE_zoom_summary.json``), or the same files kept in a folder; it evaluates
nothing, so both columns are exactly the numbers docs/results.md showed at that commit. Prints a markdown table
(the goals' worst styles, means over the styles compared) and, with ``--out``, writes the same numbers as JSON.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
from make_results import (GOAL_STYLE_RATIO, INDEPENDENT, JUDGE_NAMES, MIN_GROUP, STYLES,  # noqa: E402
                          TABLES, worst_tone_group)

WORKTREE = "worktree"


def read_summaries(commit: str, kind: str = "summary", styles: list[str] = STYLES) -> dict[str, Any] | None:
    """Each style's ``docs/results/STYLE_{kind}.json`` at ``commit`` (``worktree``: the files on disk; a folder:
    the files in it); None when a style lacks one (a commit that did not evaluate with face zoom has no
    ``zoom_summary``)."""
    out = {}
    for style in styles:
        name = f"{style}_{kind}.json"
        if commit == WORKTREE or Path(commit).is_dir():
            path = (TABLES if commit == WORKTREE else Path(commit)) / name
            if not path.exists():
                return None
            out[style] = json.loads(path.read_text())
        else:
            shown = subprocess.run(["git", "show", f"{commit}:{(TABLES / name).relative_to(ROOT).as_posix()}"],
                                   cwd=ROOT, capture_output=True, text=True)
            if shown.returncode:
                return None
            out[style] = json.loads(shown.stdout)
    return out


def _worst(summaries: dict[str, Any], value: Callable[[dict[str, Any]], float], highest: bool) -> dict[str, Any]:
    pick = max if highest else min
    style = pick(summaries, key=lambda s: value(summaries[s]))
    worst = value(summaries[style])
    every = all(value(summaries[s]) == worst for s in summaries)
    return {"value": worst, "style": "every style" if every else style}


def headline(summaries: dict[str, Any], zoomed: dict[str, Any] | None) -> dict[str, Any]:
    """The numbers the issue's goals are judged by, from one commit's summaries (of the styles they hold)."""
    styles = list(summaries)
    plain = {s: summaries[s]["models"]["plain"] for s in styles}
    faces = {s: summaries[s]["models"]["faces"] for s in styles}
    out: dict[str, Any] = {
        "worst_style_ratio": {"plain": _worst(summaries, lambda x: x["models"]["plain"]["style_ratio"], True),
                              "faces": _worst(summaries, lambda x: x["models"]["faces"]["style_ratio"], True)},
        "styles": len(styles),
        "styles_at_goal_plain": sum(plain[s]["style_ratio"] <= GOAL_STYLE_RATIO for s in styles),
        "mean_style_ratio": {v: statistics.mean(m[s]["style_ratio"] for s in styles)
                             for v, m in (("plain", plain), ("faces", faces))},
        "mean_content_loss": {v: statistics.mean(m[s]["content_loss_mean"] for s in styles)
                              for v, m in (("plain", plain), ("faces", faces))},
        "worst_faces_over_plain": _worst(summaries, lambda x: x["models"]["faces"]["style_ratio"]
                                         / x["models"]["plain"]["style_ratio"], True),
        "mean_identity_distance_faces": {j: statistics.mean(faces[s][j]["mean"] for s in styles)
                                         for j in INDEPENDENT},
        "worst_colour_shift_faces_minus_plain": max(faces[s]["face_colour"]["delta_e_mean"]
                                                    - plain[s]["face_colour"]["delta_e_mean"] for s in styles),
    }
    for key, source in (("kept_better", summaries), ("kept_better_zoom", zoomed)):
        if source is None:
            continue
        out[key] = {j: _worst(source, lambda x, j=j: x["models"]["faces"][j]["improved_share_vs_plain"], False)
                    for j in INDEPENDENT}
        out[f"worst_skin_tone_group{key[len('kept_better'):]}"] = worst_tone_group(source)
    return out


def _ratio(x: dict[str, Any]) -> str:
    return f"{x['value']:.3f} ({x['style']})"


def _pct(x: dict[str, Any] | None) -> str:
    return "-" if x is None else f"{100 * x['value']:.1f} % ({x['style']})"


def table(columns: dict[str, dict[str, Any]]) -> str:
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("worst style ratio, plain", lambda h: _ratio(h["worst_style_ratio"]["plain"])),
        ("worst style ratio, `-faces`", lambda h: _ratio(h["worst_style_ratio"]["faces"])),
        (f"styles at the goal (≤ {GOAL_STYLE_RATIO:.2f}), plain", lambda h: f"{h['styles_at_goal_plain']} of {h['styles']}"),
        ("mean style ratio, plain / `-faces`",
         lambda h: f"{h['mean_style_ratio']['plain']:.3f} / {h['mean_style_ratio']['faces']:.3f}"),
        ("mean content loss, plain / `-faces`",
         lambda h: f"{h['mean_content_loss']['plain']:.0f} / {h['mean_content_loss']['faces']:.0f}"),
        *((f"faces kept better by `-faces`, worst style, {JUDGE_NAMES[j]}",
           lambda h, j=j: _pct(h["kept_better"][j])) for j in INDEPENDENT),
        *((f"the same with face zoom, {JUDGE_NAMES[j]}",
           lambda h, j=j: _pct(h.get("kept_better_zoom", {}).get(j))) for j in INDEPENDENT),
        ("style ratio `-faces` / plain, worst style", lambda h: _ratio(h["worst_faces_over_plain"])),
        (f"worst skin-tone group (≥ {MIN_GROUP} faces), either judge",
         lambda h: _group(h["worst_skin_tone_group"])),
        ("the same with face zoom", lambda h: _group(h.get("worst_skin_tone_group_zoom"))),
        ("mean identity distance of `-faces`, " + " / ".join(JUDGE_NAMES[j] for j in INDEPENDENT),
         lambda h: " / ".join(f"{h['mean_identity_distance_faces'][j]:.3f}" for j in INDEPENDENT)),
        ("face colour shift (ΔE), `-faces` minus plain, worst style",
         lambda h: f"{h['worst_colour_shift_faces_minus_plain']:+.2f}"),
    ]
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(cell(h) for h in columns.values()) + " |" for name, cell in rows]
    return "\n".join(lines)


def _group(x: dict[str, Any] | None) -> str:
    return "-" if x is None else f"{100 * x['value']:.1f} % ({x['group']}, {x['style']}, {JUDGE_NAMES[x['judge']]})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", help="the commit of the earlier stage's results (or a folder of summaries)")
    parser.add_argument("after", nargs="?", default=WORKTREE,
                        help=f"the later commit or folder (default: {WORKTREE}, the files in docs/results)")
    parser.add_argument("--styles", nargs="+", choices=STYLES, default=STYLES,
                        help="compare these styles only (default: all eight)")
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args()
    columns = {}
    for commit in (args.before, args.after):
        summaries = read_summaries(commit, styles=args.styles)
        if summaries is None:
            parser.error(f"{commit}: holds no summary for every style asked for")
        columns[commit] = headline(summaries, read_summaries(commit, "zoom_summary", args.styles))
    print(table(columns))
    if args.out:
        args.out.write_text(json.dumps(columns, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

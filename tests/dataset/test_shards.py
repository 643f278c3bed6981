"""Shards of frame lists for farms: disjoint, complete, balanced, lazy; I/N; scheduler variables."""

import itertools
import random
import time

import pytest

from ground_truth.dataset.framespec import parse_frames
from ground_truth.dataset.shards import (
    Shard,
    format_frames,
    parse_shard,
    shard_frames,
    shard_from_environment,
)


def expand(shard):
    """A shard's frames as a plain list, whatever form shard_frames returned."""
    if isinstance(shard, range):
        return list(shard)
    if shard and isinstance(shard[0], range):
        return [frame for part in shard for frame in part]
    return list(shard)


FRAME_LISTS = [
    range(1, 2),
    range(1, 101),
    range(0, 250, 7),
    range(1001, 1010, 2),
    parse_frames("1-10,20,30-40:3,100"),
    [5, 6, 9, 200, 201],
    [range(1, 11), range(20, 31, 5), range(100, 101)],
    [range(50, 60, 3), range(1, 5)],  # ranges are taken in the order given
]


@pytest.mark.parametrize("frames", FRAME_LISTS, ids=lambda f: repr(f)[:40])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16, 150])
def test_every_frame_in_exactly_one_shard_balanced_round_robin(frames, count):
    everything = expand(frames) if not isinstance(frames, range) else list(frames)
    shards = [expand(shard_frames(frames, index, count)) for index in range(count)]
    rendered = [frame for shard in shards for frame in shard]
    assert sorted(rendered) == sorted(everything)
    assert len(rendered) == len(set(rendered))
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1
    # Round robin over the list as given: shard i holds positions i, i + count, ...
    for index, shard in enumerate(shards):
        assert shard == everything[index::count]


def test_a_huge_range_is_never_expanded():
    start = time.perf_counter()
    shard = shard_frames(range(1, 10**12), 2, 8)
    assert isinstance(shard, range)
    assert (shard[0], shard[1], len(shard)) == (3, 11, 125_000_000_000)
    parts = shard_frames([range(0, 10**12), range(2 * 10**12, 3 * 10**12, 3)], 5, 7)
    assert all(isinstance(part, range) for part in parts)
    assert parts[1][0] == 2 * 10**12 + 3 * ((5 - 10**12) % 7)
    assert sum(len(part) for part in parts) in (
        (10**12 + len(range(2 * 10**12, 3 * 10**12, 3))) // 7,
        (10**12 + len(range(2 * 10**12, 3 * 10**12, 3))) // 7 + 1,
    )
    assert time.perf_counter() - start < 0.1


def test_overlapping_ranges_are_refused_with_the_frames_named():
    with pytest.raises(ValueError, match=r"1-10 and 5-20:5 share frames"):
        shard_frames([range(1, 11), range(5, 21, 5)], 0, 2)
    # Same span, no common frame: odd and even frames are fine together.
    assert expand(shard_frames([range(1, 100, 2), range(2, 100, 2)], 0, 1)) == [
        *range(1, 100, 2),
        *range(2, 100, 2),
    ]


def test_the_overlap_check_agrees_with_brute_force():
    rng = random.Random(18)
    for _ in range(3000):
        a = range(rng.randrange(0, 40), rng.randrange(0, 80), rng.randrange(1, 9))
        b = range(rng.randrange(0, 40), rng.randrange(0, 80), rng.randrange(1, 9))
        if not a or not b:
            continue
        shared = bool(set(a) & set(b))
        if shared:
            with pytest.raises(ValueError, match="share frames"):
                shard_frames([a, b], 0, 3)
        else:
            assert sorted(expand(shard_frames([a, b], 0, 1))) == sorted([*a, *b])


@pytest.mark.parametrize(("index", "count"), [(0, 0), (-1, 4), (4, 4)])
def test_bad_index_or_count(index, count):
    with pytest.raises(ValueError, match="shard"):
        shard_frames(range(10), index, count)


def test_downward_ranges_are_refused():
    with pytest.raises(ValueError, match="count upwards"):
        shard_frames([range(10, 0, -1)], 0, 2)


@pytest.mark.parametrize(
    "ranges",
    [[range(1, 101)], [range(3, 40, 4)], [range(7, 8)], [range(1, 11), range(20, 31, 5)]],
)
def test_format_frames_is_read_back_by_the_command_line_parser(ranges):
    assert parse_frames(format_frames(ranges)) == sorted({f for r in ranges for f in r})


def test_a_shard_prints_as_a_frame_spec():
    assert format_frames([shard_frames(range(1, 101), 1, 4)]) == "2-98:4"
    # 1..10, 20, 25, 30: positions 0, 4, 8 and 12.
    assert format_frames(shard_frames([range(1, 11), range(20, 31, 5)], 0, 4)) == "1-9:4,30"


@pytest.mark.parametrize(
    ("text", "shard"),
    [("1/1", Shard(0, 1)), ("1/4", Shard(0, 4)), ("4/4", Shard(3, 4)), (" 2 / 8 ", Shard(1, 8))],
)
def test_parse_shard_counts_from_one(text, shard):
    assert parse_shard(text) == shard
    assert str(parse_shard(text)) == text.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0/4", r"bad shard '0/4': shards count from 1 \(1/4 to 4/4\)"),
        ("5/4", r"bad shard '5/4': there are only 4 shard\(s\) \(1/4 to 4/4\)"),
        ("1/0", r"bad shard '1/0': the number of shards N must be at least 1"),
        ("a/b", r"bad shard 'a/b': write I/N: the I-th of N shards, counting from 1 \(e.g. 2/8\)"),
        ("-1/4", r"bad shard '-1/4': write I/N"),
        ("3", r"bad shard '3': write I/N"),
        ("", r"bad shard '': write I/N"),
    ],
)
def test_parse_shard_errors_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_shard(text)


def slurm(task, first, last, count=None, step=1):
    """The variables SLURM 22.05 set in each array task (recorded with sbatch on this machine)."""
    env = {
        "SLURM_JOB_ID": "99",
        "SLURM_ARRAY_JOB_ID": "42",
        "SLURM_ARRAY_TASK_ID": str(task),
        "SLURM_ARRAY_TASK_MIN": str(first),
        "SLURM_ARRAY_TASK_MAX": str(last),
        "SLURM_ARRAY_TASK_STEP": str(step),
    }
    if count is not None:
        env["SLURM_ARRAY_TASK_COUNT"] = str(count)
    return env


@pytest.mark.parametrize(
    ("array", "tasks", "step"),
    [
        ("0-3", [0, 1, 2, 3], 1),
        ("1-4", [1, 2, 3, 4], 1),
        ("5-8", [5, 6, 7, 8], 1),
        ("0-15:4", [0, 4, 8, 12], 4),
    ],
)
@pytest.mark.parametrize("with_count", [True, False], ids=["COUNT", "older SLURM: MIN/MAX"])
def test_slurm_arrays_give_the_task_position(array, tasks, step, with_count):
    shards = []
    for task in tasks:
        env = slurm(task, tasks[0], tasks[-1], len(tasks) if with_count else None, step)
        if not with_count:
            del env["SLURM_ARRAY_TASK_STEP"]
            if step != 1:
                env["SLURM_ARRAY_TASK_STEP"] = str(step)
        shards.append(shard_from_environment(env))
    assert shards == [Shard(i, 4) for i in range(4)], array
    env = slurm(tasks[2], tasks[0], tasks[-1], 4, step)
    assert shard_from_environment(env, count=4) == Shard(2, 4)


def test_slurm_irregular_array_is_refused():
    # sbatch --array=1,3,7: COUNT=3, MIN=1, MAX=7, STEP=1.
    with pytest.raises(ValueError, match=r"not a regular range.*pass --shard I/N"):
        shard_from_environment(slurm(3, 1, 7, 3))


def test_slurm_task_submitted_again_on_its_own_is_refused_when_the_count_is_known():
    # sbatch --array=2 (shard 3/4 of a 0-3 array, rendered again): COUNT=1, MIN=MAX=2.
    env = slurm(2, 2, 2, 1)
    assert shard_from_environment(env) == Shard(0, 1)  # on its own it is a one-task array
    with pytest.raises(ValueError, match=r"has 1 task\(s\).*--shard-count is 4.*--shard I/4"):
        shard_from_environment(env, count=4)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_MIN": "0"}, "'x' is not a whole number"),
        ({"SLURM_ARRAY_TASK_ID": "3"}, "without SLURM_ARRAY_TASK_MIN"),
        (
            {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0"},
            "without SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX",
        ),
        (slurm(9, 0, 3, 4), "SLURM_ARRAY_TASK_ID=9 is not a task of its array"),
        (slurm(2, 0, 12, 4, step=4), "SLURM_ARRAY_TASK_ID=2 is not a task of its array"),
    ],
)
def test_slurm_variables_that_make_no_shard(env, message):
    with pytest.raises(ValueError, match=message):
        shard_from_environment(env)


def test_kubernetes_indexed_job_needs_the_count():
    assert [shard_from_environment({"JOB_COMPLETION_INDEX": str(i)}, 3) for i in range(3)] == [
        Shard(0, 3),
        Shard(1, 3),
        Shard(2, 3),
    ]
    with pytest.raises(ValueError, match="pass --shard-count with the Job's completions"):
        shard_from_environment({"JOB_COMPLETION_INDEX": "1"})
    with pytest.raises(ValueError, match=r"JOB_COMPLETION_INDEX=3 is outside 0..2"):
        shard_from_environment({"JOB_COMPLETION_INDEX": "3"}, 3)


def test_no_scheduler_means_no_shard():
    assert shard_from_environment({}) is None
    assert shard_from_environment({"SLURM_JOB_ID": "7", "HOME": "/root"}, count=4) is None


def test_both_schedulers_is_ambiguous():
    env = {**slurm(0, 0, 3, 4), "JOB_COMPLETION_INDEX": "0"}
    with pytest.raises(ValueError, match="both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX"):
        shard_from_environment(env, 4)


def test_environment_shards_cover_the_frames_like_explicit_ones():
    frames = parse_frames("1-37")
    from_env = [
        expand(shard_frames(frames, *shard_from_environment(slurm(task, 5, 8, 4))))
        for task in range(5, 9)
    ]
    explicit = [expand(shard_frames(frames, *parse_shard(f"{i}/4"))) for i in range(1, 5)]
    assert from_env == explicit
    assert sorted(itertools.chain(*from_env)) == frames

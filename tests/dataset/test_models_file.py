"""Model files in a dataset: written once, the same bytes from any process, read back."""

import os

import numpy as np
import pytest

from ground_truth.dataset import models as model_files
from ground_truth.labels import models
from ground_truth.labels.amodal import Mesh, Placement


def a_model(scale=1.0):
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    mesh = Mesh(vertices, np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]], np.int32))
    owner = np.diag([scale, scale, scale, 1.0])
    return models.instance_model([Placement("m", owner)], {"m": mesh}, owner, 0.01)


def test_a_model_reads_back_with_its_unit(tmp_path):
    model = a_model(2.0)
    assert model_files.write_models(tmp_path, [model, None], 0.01) == [
        model_files.model_path(tmp_path, model.key)
    ]
    found = model_files.read_model(tmp_path, model.key)
    np.testing.assert_array_equal(found.vertices, model.vertices)
    np.testing.assert_array_equal(found.triangles, model.triangles)
    assert (found.key, found.metres_per_unit) == (model.key, 0.01)
    assert model_files.model_keys(tmp_path) == [model.key]


def test_writing_again_leaves_the_file_and_a_damaged_one_is_replaced(tmp_path):
    model = a_model()
    (path,) = model_files.write_models(tmp_path, [model], 0.01)
    stamp = os.stat(path).st_mtime_ns
    assert model_files.write_models(tmp_path, [model], 0.01) == []
    assert os.stat(path).st_mtime_ns == stamp
    with open(path, "r+b") as file:
        file.truncate(40)
    assert model_files.write_models(tmp_path, [model], 0.01) == [path]
    assert model_files.read_model(tmp_path, model.key).key == model.key
    assert [n for n in os.listdir(os.path.dirname(path)) if ".tmp-" in n] == []


def test_the_file_is_a_function_of_the_key(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    model_files.write_models(one, [a_model()], 0.01)
    model_files.write_models(two, [a_model()], 0.01)
    key = a_model().key
    assert (one / "models" / f"{key}.ply").read_bytes() == (
        two / "models" / f"{key}.ply"
    ).read_bytes()


def test_bad_keys_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not a model key"):
        model_files.model_path(tmp_path, "../../etc/passwd")
    with pytest.raises(FileNotFoundError):
        model_files.read_model(tmp_path, "0123456789abcdef")
    model = a_model()
    model_files.write_models(tmp_path, [model], 0.01)
    other = "f" * 16
    os.rename(model_files.model_path(tmp_path, model.key), model_files.model_path(tmp_path, other))
    with pytest.raises(ValueError, match="not Ground Truth's model"):
        model_files.read_model(tmp_path, other)

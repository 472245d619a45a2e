"""One of our own models as a study subject: a whole-model ONNX file and its samples.

The deployment-strategy study (`splitexit study`) runs ONNX subjects. A ``model:`` subject
names one of our profiles (a bundled name such as ``resnet20-fashion-mnist``, or a profile
file); :func:`export_study_subject` writes it as one ONNX partition (every block and the last
exit, through :func:`export_configuration`, with the joint weights) and the held-out split of
its dataset, preprocessed as it was profiled, as an ``.npz`` of images and labels. Only
bundled or cached data is read (``load_dataset`` downloads nothing). Exporting needs torch;
without it the subject is refused in one line.

>>> topology = load_topology("seed004")  # doctest: +SKIP
>>> files = export_study_subject("resnet20-fashion-mnist", topology, Path("w"))  # doctest: +SKIP
>>> files.onnx, files.data  # doctest: +SKIP
(PosixPath('w/model.onnx'), PosixPath('w/data.npz'))
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.topology import Topology

__all__ = ["StudySubjectFiles", "export_study_subject"]

_PATH = InstanceOf(str, Path)


@returned_type
@dataclass(frozen=True)
class StudySubjectFiles:
    """What :func:`export_study_subject` wrote: the model, its samples, and where from."""

    onnx: Path
    data: Path  # .npz: the ONNX input's name -> (n, C, H, W) float32, ``labels`` -> (n,)
    samples: int
    weights: str  # the checkpoint the weights came from


@validate_params(
    {
        "spec": [InstanceOf(str)],
        "topology": [InstanceOf(Topology)],
        "out": [_PATH],
        "count": [Interval(int, 1, None, closed="left")],
        "work_dir": [_PATH, None],
        "data_dir": [_PATH, None],
    }
)
def export_study_subject(
    spec: str,
    topology: Topology,
    out: str | Path,
    *,
    count: int = 200,
    work_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> StudySubjectFiles:
    """Export the profile ``spec``'s model whole (one partition on the topology's source
    tier, no early exit) into ``out/export`` and the first ``count`` held-out samples of its
    dataset with their labels into ``out/data.npz``."""
    from splitexit.experiment._pipeline import export_configuration, profile_data
    from splitexit.profile import load_profile

    profile = load_profile(spec)
    if profile.onnx is not None:
        raise InputError(
            f"{spec}: profiles an ONNX model ({profile.onnx.path}); name that file with onnx:"
        )
    if importlib.util.find_spec("torch") is None:
        raise InputError(
            f"{spec}: exporting one of our models to ONNX needs torch, which is not installed "
            "(pip install 'splitexit[train]'), or give the subject as an onnx: file"
        )
    try:  # bundled or cached files, never downloaded
        data = profile_data(profile, data_dir).test
    except InputError as error:
        raise InputError(
            f"{spec}: the held-out samples of its dataset {profile.dataset!r} are not "
            f"available here ({error})"
        ) from None
    configuration = Configuration(
        partition=(profile.num_blocks - 1,), placement=(topology.source,), early_exit=False
    )
    folder = Path(out)
    result = export_configuration(
        spec, configuration, topology, folder / "export",
        work_dir=None if work_dir is None else Path(work_dir),
    )  # fmt: skip
    onnx = _batch_of_one(folder / "export" / result.manifest.partitions[0].file, folder)
    rows = min(count, len(data))
    from splitexit.operators import load_model

    name = load_model(onnx).inputs[0].name
    path = folder / "data.npz"
    arrays: dict[str, np.ndarray] = {name: data.images[:rows], "labels": data.labels[:rows]}
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return StudySubjectFiles(onnx=onnx, data=path, samples=rows, weights=result.weights)


def _batch_of_one(exported: Path, folder: Path) -> Path:
    """The exported partition as a plain classifier, ``folder/model.onnx``: its dynamic batch
    fixed to 1 (the study's inferences are sequential, one sample each) and only its class
    probabilities kept as output (the normalized entropy feeds the exit rule, which a whole
    model does not run; the runtime would take a model with it for an exit partition)."""
    import onnx
    import onnx.utils

    from splitexit.export._manifest import ENTROPY

    model = onnx.load(str(exported))
    for value in (*model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1
    del model.graph.value_info[:]
    fixed = folder / "model-batch1.onnx"
    onnx.save(onnx.shape_inference.infer_shapes(model), str(fixed))
    keep = [o.name for o in model.graph.output if o.name != ENTROPY]
    path = folder / "model.onnx"
    onnx.utils.extract_model(str(fixed), str(path), [i.name for i in model.graph.input], keep)
    fixed.unlink()
    onnx.checker.check_model(str(path))
    return path

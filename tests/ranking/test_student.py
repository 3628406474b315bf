"""The bundled 2-layer student (`ranking/student`): small, documented, and ranking as its
teacher does where the teacher is clear, on its fused int8 ONNX path."""

from __future__ import annotations

import pytest

from ranking.cross_encoder import (
    CrossEncoderReranker,
    bundled_model_dir,
    bundled_student_dir,
    model_card,
)
from ranking.metrics import spearman
from ranking.onnx_reranker import OnnxCrossEncoderReranker

pytestmark = pytest.mark.model

TEXTS = [
    "JBL Flip 5 portable bluetooth speaker",
    "HP 301 ink cartridge black",
    "Sony wireless speaker with bluetooth",
    "Belkin USB-C charging cable 2 m",
    "Logitech M185 wireless mouse grey",
    "Targus 15.6 inch laptop backpack",
    "SanDisk Ultra 64 GB microSDXC memory card",
    "Epson EcoTank ET-2810 inkjet printer",
]


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> OnnxCrossEncoderReranker:
    return OnnxCrossEncoderReranker(tmp_path_factory.mktemp("models"), bundled_student_dir())


def test_bundled_student_is_small_and_documented() -> None:
    folder = bundled_student_dir()
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert sum(sizes.values()) <= 30 * 1024 * 1024
    assert {"MODEL_CARD.md", "training_report.json", "TEACHER_CARD.md"} <= sizes.keys()
    card = model_card(folder)
    assert card["kind"] == "distilled" and card["config"]["layers"] == [0, 5]
    assert card["config"]["max_length"] == 32 and card["epochs"]
    # Its teacher is the bundled model, whose report it keeps beside its own.
    teacher = (folder / "teacher_report.json").read_text()
    assert teacher == (bundled_model_dir() / "training_report.json").read_text()
    text = (folder / "MODEL_CARD.md").read_text()
    assert "train reranker-student" in text and "/tmp" not in text


def test_student_ranks_the_clear_cases(student: OnnxCrossEncoderReranker) -> None:
    assert student.max_length == 32  # the length it was trained at
    ranked = [i for i, _ in student.rank("bluetooth speaker", TEXTS)]
    assert ranked[:2] == [0, 2]  # the exact wording first, as the eval-pairs test asks
    assert student.rank("usb c cable", TEXTS, 1)[0][0] == 3
    assert student.rank("printer ink", TEXTS, 1)[0][0] == 1


@pytest.fixture(scope="module")
def fp32() -> CrossEncoderReranker:
    return CrossEncoderReranker(bundled_student_dir(), precision="fp32")


@pytest.mark.parametrize("query", ["bluetooth speaker", "usb c cable", "wireless mouse"])
def test_student_int8_path_agrees_with_its_fp32(
    student: OnnxCrossEncoderReranker, fp32: CrossEncoderReranker, query: str
) -> None:
    assert spearman(student.score(query, TEXTS), fp32.score(query, TEXTS)) >= 0.98

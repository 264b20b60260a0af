"""Face embedders: how closely our converted networks follow their reference runtimes, and how well they
separate identities on the AT&T/ORL faces.

    python benchmarks/embedders.py          # writes benchmarks/results/embedders.json

Parity: SFace and ArcFace MobileFaceNet (our ONNX conversions) against onnxruntime on the pinned ONNX files,
FaceNet (our GraphDef runner) against OpenCV's TensorFlow importer on the pinned graph; largest absolute difference of the
embeddings over random inputs. Separation: every ORL photo (40 people x 10) is detected with MTCNN, aligned
and embedded; the cosine similarity of every pair, averaged over same-person and different-person pairs,
and the share of (same, different) pair combinations ranked correctly (the ROC AUC).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve import weights  # noqa: E402
from preserve.faces.embedders import facenet, insightface, sface  # noqa: E402
from preserve.faces.mtcnn import MTCNN  # noqa: E402
from preserve.imageio import load_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def sface_parity(n: int) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(weights.resolve(weights.SFACE_ONNX)), options)
    x = np.random.default_rng(0).uniform(0, 255, (n, 3, 112, 112)).astype(np.float32)
    ref = np.concatenate([session.run(None, {"data": x[i:i + 1]})[0] for i in range(n)])
    with torch.no_grad():
        ours = sface().net(torch.from_numpy(x)).numpy()
    return float(np.abs(ours - ref).max())


def arcface_parity(n: int) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(weights.resolve(weights.ARCFACE_MBF)), options)
    x = np.random.default_rng(0).uniform(-1, 1, (n, 3, 112, 112)).astype(np.float32)
    name = session.get_inputs()[0].name
    ref = np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(n)])
    with torch.no_grad():
        ours = insightface().net(torch.from_numpy(x)).numpy()
    return float(np.abs(ours - ref).max())


def facenet_parity(n: int) -> float:
    import cv2

    net = cv2.dnn.readNetFromTensorflow(str(weights.resolve(weights.FACENET_GRAPH)))
    model = facenet()
    worst = 0.0
    for i in range(n):
        x = np.random.default_rng(i).normal(size=(1, 3, 160, 160)).astype(np.float32)
        net.setInput(x)
        with torch.no_grad():
            ours = model.net(torch.from_numpy(x)).numpy()
        worst = max(worst, float(np.abs(ours - net.forward()).max()))
    return worst


def orl_separation(people: int) -> dict[str, dict[str, float]]:
    root = weights.resolve_folder(weights.ORL_FACES)
    detector = MTCNN()
    crops, labels, missed = [], [], 0
    for person in range(1, people + 1):
        for shot in range(1, 11):
            img = load_image(root / f"s{person}" / f"{shot}.pgm").rgb
            det = detector.detect(img[None])[0]
            if len(det) == 0:
                missed += 1
                continue
            crops.append((img, det.boxes[:1], det.landmarks[:1]))
            labels.append(person)
    zero = torch.zeros(1, dtype=torch.long)
    out: dict[str, dict[str, float]] = {}
    for name, embedder in (("sface", sface()), ("facenet", facenet()), ("insightface", insightface())):
        with torch.no_grad():
            embs = torch.cat([embedder.crop_and_embed(img[None], zero, b, m) for img, b, m in crops])
        sims = (embs @ embs.T).numpy()
        pairs = list(itertools.combinations(range(len(labels)), 2))
        same = np.array([sims[i, j] for i, j in pairs if labels[i] == labels[j]])
        diff = np.array([sims[i, j] for i, j in pairs if labels[i] != labels[j]])
        order = np.sort(diff)
        auc = float(np.searchsorted(order, same, side="left").sum() / (len(same) * len(diff)))
        out[name] = {"same_person_cosine_mean": float(same.mean()), "different_people_cosine_mean": float(diff.mean()),
                     "auc": auc, "photos": len(labels), "no_face_found": missed}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=8, help="random inputs for the parity checks")
    parser.add_argument("--people", type=int, default=40, help="ORL identities to use (of 40)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "embedders.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    result = {"benchmark": "embedders", "machine": machine(),
              "parity_max_abs_diff": {"sface_vs_onnxruntime": sface_parity(args.inputs),
                                      "arcface_vs_onnxruntime": arcface_parity(args.inputs),
                                      "facenet_vs_opencv": facenet_parity(args.inputs)},
              "orl": orl_separation(args.people)}
    write_result(args.out, result)


if __name__ == "__main__":
    main()

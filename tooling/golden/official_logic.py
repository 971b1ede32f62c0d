#!/usr/bin/env python3
"""Golden vectors from the released VAR reference logic (MICV-yonsei/VisAttnSink).

This script does not re-implement VAR. It extracts `src/` of the released
repository (a git clone or bare mirror) into a temporary directory, imports
their `src/logic/logic.py` and `src/stash.py` unmodified, sets the state their
code reads (MetadataStation / ValueMonitor / LogicEngine), feeds them crafted
hidden states and causal softmax attention, and records what their code returns:

  * DimProspector.run_logic(hidden, layer)   -> LogicEngine.indices[layer]   ("sinkIndices")
  * HeadFork.run_logic(attn, layer)           -> HeadFork.forked_head[layer]  ("selected")
  * VARProcessor.attn_redist(attn.clone(), l) -> returned tensor               ("output")

The calls follow src/model/llava.py: DimProspector only at prefill
(output_token_count < 0) for layers in sink_select_layers (layers >= 2),
HeadFork then VARProcessor per layer after softmax, and
ValueMonitor.count_output_token() after every forward pass.

Usage (see README.md next to this file):

  /usr/bin/python3 tooling/golden/official_logic.py            # write the fixture and verify it
  /usr/bin/python3 tooling/golden/official_logic.py --verify-only

Environment:
  VISATTNSINK_REPO  git dir of MICV-yonsei/VisAttnSink
                    (default /work/.mirror/MICV-yonsei+VisAttnSink/repo)
  VISATTNSINK_REF   commit-ish to extract (default HEAD)
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REPO = "/work/.mirror/MICV-yonsei+VisAttnSink/repo"
DEFAULT_OUT = ROOT / "packages/var/src/__fixtures__/official-logic-golden.json"
GENERATOR = "tooling/golden/official_logic.py"

# Minimum distance of a crafted quantity from the threshold it is tested against.
PHI_MARGIN_REL = 0.05  # phi vs tau (except the deliberate +-1 % boundary tokens)
ROW_MARGIN_ABS = 0.02  # portion vs rho_code, summation vs summ (also >= 2 % relative)


# --------------------------------------------------------------------------- #
# Loading their code
# --------------------------------------------------------------------------- #


def git(repo: str, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True).stdout


def extract_src(repo: str, ref: str, dest: Path) -> str:
    """Extract <ref>:src into dest/src; returns the full commit sha."""
    sha = git(repo, "rev-parse", f"{ref}^{{commit}}").decode().strip()
    data = git(repo, "archive", "--format=tar", sha, "src")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest)
    return sha


def load_official(src_dir: Path):
    """Fresh import of their src.logic.logic and src.stash.

    src/__init__.py imports the whole LLaVA model (transformers etc.), so a bare
    namespace module stands in for the `src` package; `src.logic` (its own
    __init__.py only re-exports logic.py) and `src.stash` are imported as they are.
    Every call drops earlier copies, so each case starts from their class defaults
    (their own StashEngine.clear / LogicEngine.clear do not reset anything: the
    "defaults" they restore are the same class-level dicts).
    """
    for name in list(sys.modules):
        if name == "src" or name.startswith("src."):
            del sys.modules[name]
    pkg = types.ModuleType("src")
    pkg.__path__ = [str(src_dir)]
    sys.modules["src"] = pkg
    logic = importlib.import_module("src.logic.logic")
    stash = importlib.import_module("src.stash")
    return logic, stash


# --------------------------------------------------------------------------- #
# Crafting inputs
# --------------------------------------------------------------------------- #

# Row types: (image attention mass A_img, fraction of A_img on visual sinks).
ROW_TYPES = {
    "sel_lo": (0.55, 0.05),
    "sel_mid": (0.45, 0.15),
    "sel_hi": (0.60, 0.35),
    "midimg": (0.25, 0.05),
    "sinkheavy": (0.50, 0.75),
    "lowimg": (0.08, 0.30),
    "lowimg2": (0.12, 0.05),
}
MIXED_CYCLE = ["sel_lo", "sinkheavy", "sel_mid", "lowimg", "sel_hi", "midimg", "lowimg2", "sel_lo", "sinkheavy", "sel_hi", "sel_mid"]
DECODE_CYCLE = ["sel_lo", "sinkheavy", "sel_mid", "lowimg", "sel_hi", "midimg", "lowimg2", "sel_lo"]

CASES = [
    {
        "name": "defaults-prefill-and-decode",
        "params": {"tau": 20, "rhoCode": 0.5, "pCode": 0.6, "summ": 0.2},
        "numLayers": 6, "numHeads": 4, "hiddenSize": 1024, "sinkDims": [5, 41],
        "imageStart": 3, "imageLength": 8, "promptLength": 20, "decodeSteps": 3,
        "seed": 1001,
        # planted: token -> (sink dim, signed target phi); "heads": mode per head
        "layers": {
            2: {"planted": {0: (5, 28.0), 4: (41, 26.0), 7: (5, -30.0), 9: (41, 14.0)},
                "heads": ["mixed", "mixed", "sinkheavy", "lowimg"]},
            3: {"planted": {0: (41, -27.0), 4: (5, 25.0), 9: (41, 20.2), 6: (5, 19.8)},
                "heads": ["mixed", "lowimg", "mixed", "mixed"]},
            4: {"planted": {0: (5, 29.0), 5: (41, 15.0), 8: (5, -12.0)},
                "heads": ["mixed", "mixed", "mixed", "mixed"]},
            5: {"planted": {0: (5, 26.0), 3: (41, 24.0), 10: (5, 25.0), 13: (41, -23.0)},
                "heads": ["sinkheavy", "mixed", "mixed", "mixed"]},
        },
    },
    {
        "name": "rho0.2-p0.4",
        "params": {"tau": 20, "rhoCode": 0.2, "pCode": 0.4, "summ": 0.2},
        "numLayers": 6, "numHeads": 4, "hiddenSize": 1024, "sinkDims": [5, 41],
        "imageStart": 2, "imageLength": 10, "promptLength": 18, "decodeSteps": 2,
        "seed": 2002,
        "layers": {
            2: {"planted": {0: (5, 30.0), 2: (5, 27.0), 6: (41, -25.0)},
                "heads": ["mixed", "sinkheavy", "mixed", "mixed"]},
            3: {"planted": {0: (41, 25.0), 11: (41, 28.0), 7: (5, 18.5)},
                "heads": ["mixed", "mixed", "lowimg", "mixed"]},
            4: {"planted": {0: (5, 16.0), 5: (5, 22.0), 8: (41, 24.0), 9: (5, 21.5)},
                "heads": ["mixed", "mixed", "mixed", "sinkheavy"]},
            5: {"planted": {0: (5, 26.0), 4: (41, 17.0), 10: (5, -13.0)},
                "heads": ["mixed", "mixed", "mixed", "mixed"]},
        },
    },
    {
        "name": "rho0.1-p0.9-tau10-summ0.3",
        "params": {"tau": 10, "rhoCode": 0.1, "pCode": 0.9, "summ": 0.3},
        "numLayers": 6, "numHeads": 4, "hiddenSize": 1024, "sinkDims": [5, 41],
        "imageStart": 4, "imageLength": 8, "promptLength": 22, "decodeSteps": 3,
        "seed": 3003,
        "layers": {
            2: {"planted": {0: (5, 15.0), 5: (41, 13.0), 9: (5, -10.1), 7: (41, 9.9)},
                "heads": ["mixed", "mixed", "lowimg", "mixed"]},
            3: {"planted": {0: (5, 20.0), 4: (5, 18.0), 11: (41, 16.0), 14: (5, 12.0)},
                "heads": ["mixed", "sinkheavy", "mixed", "mixed"]},
            4: {"planted": {0: (5, 14.0), 6: (41, 8.0), 10: (5, -7.0)},
                "heads": ["mixed", "mixed", "mixed", "mixed"]},
            5: {"planted": {0: (41, -22.0), 8: (5, 25.0)},
                "heads": ["mixed", "mixed", "sinkheavy", "mixed"]},
        },
    },
]


def phi_np(x: np.ndarray, dims) -> np.ndarray:
    """Sink score in float64, for checking margins only (not for the fixture)."""
    x = x.astype(np.float64)
    rms = np.sqrt((x ** 2).mean(-1) + 1e-6)
    return np.max(np.abs(x[..., list(dims)]), axis=-1) / rms


def craft_hidden(rng, case, spec) -> np.ndarray:
    P, D, dims, tau = case["promptLength"], case["hiddenSize"], case["sinkDims"], case["params"]["tau"]
    # background: multiples of 1/4 in [-2, 2] (short exact decimals)
    x = (rng.integers(-8, 9, size=(P, D)) / 4.0).astype(np.float32)
    for t, (dim, target) in spec["planted"].items():
        phi = abs(target)
        x[t, dim] = 0.0
        s = float((x[t].astype(np.float64) ** 2).sum())
        a = math.sqrt(phi * phi * (s / D + 1e-6) / (1.0 - phi * phi / D))
        x[t, dim] = np.float32(math.copysign(a, target))
    phis = phi_np(x, dims)
    for t in range(P):
        ratio = phis[t] / tau
        planted = spec["planted"].get(t)
        if planted is not None and abs(abs(planted[1]) / tau - 1.0) < 0.02:  # deliberate boundary token
            assert 0.005 < abs(ratio - 1.0) < 0.015, (case["name"], t, phis[t])
            assert (ratio > 1) == (abs(planted[1]) > tau)
        else:
            assert abs(ratio - 1.0) > PHI_MARGIN_REL, (case["name"], t, phis[t])
    return x[None]  # [1, P, D]


def row_probs(rng, kind, qpos, K, image, sinks):
    """Target probabilities for one causal row (keys 0..qpos of K)."""
    keys = range(qpos + 1)
    text_sinks = [k for k in keys if k in sinks and k not in image]
    vis = [k for k in keys if k in sinks and k in image]
    non = [k for k in keys if k in image and k not in sinks]
    other = [k for k in keys if k not in image and k not in sinks]
    probs = np.zeros(K)
    if qpos == 0:
        probs[0] = 1.0
        return probs
    a_img, portion = ROW_TYPES[kind]
    if not vis and not non:
        a_img = 0.0
    if not vis:
        portion = 0.0
    if not non:
        portion = 1.0
    t_mass = float(rng.uniform(0.10, 0.30)) if text_sinks else 0.0
    if not other:  # cannot happen with the crafted geometry (token 1 is plain text)
        raise AssertionError("row without plain text keys")
    groups = [
        (text_sinks, t_mass),
        (vis, a_img * portion),
        (non, a_img * (1.0 - portion)),
        (other, 1.0 - t_mass - a_img),
    ]
    for members, mass in groups:
        if not members or mass == 0.0:
            continue
        w = rng.uniform(0.5, 1.5, size=len(members))
        probs[members] = mass * w / w.sum()
    return probs


def causal_softmax(target: np.ndarray) -> torch.Tensor:
    """float32 softmax of log(target); zero targets (masked keys) get -inf."""
    with np.errstate(divide="ignore"):
        logits = np.log(target)
    t = torch.from_numpy(logits.astype(np.float32))
    return torch.softmax(t, dim=-1, dtype=torch.float32)


def craft_prefill_attention(rng, case, spec, layer, sinks):
    H, P = case["numHeads"], case["promptLength"]
    im, pa = case["imageStart"], case["imageLength"]
    image = set(range(im, im + pa))
    target = np.zeros((1, H, P, P))
    for h, mode in enumerate(spec["heads"]):
        for q in range(P):
            kind = mode if mode != "mixed" else MIXED_CYCLE[(q + 3 * h + layer) % len(MIXED_CYCLE)]
            target[0, h, q] = row_probs(rng, kind, q, P, image, sinks)
    return causal_softmax(target)


def craft_decode_attention(rng, case, spec, layer, sinks, step):
    H, P = case["numHeads"], case["promptLength"]
    im, pa = case["imageStart"], case["imageLength"]
    image = set(range(im, im + pa))
    K = P + step + 1
    target = np.zeros((1, H, 1, K))
    for h, mode in enumerate(spec["heads"]):
        kind = mode if mode != "mixed" else DECODE_CYCLE[(2 * step + 3 * h + layer) % len(DECODE_CYCLE)]
        target[0, h, 0] = row_probs(rng, kind, K - 1, K, image, sinks)
    return causal_softmax(target)


def check_row_margins(attn: torch.Tensor, case, sinks):
    """Every row's portion/summation must be clearly away from rho_code / summ."""
    im, pa = case["imageStart"], case["imageLength"]
    rho, summ = case["params"]["rhoCode"], case["params"]["summ"]
    vis = [k - im for k in sinks if im <= k < im + pa]
    a = attn.double()[0, :, :, im:im + pa]
    s = a.sum(-1)
    for (h, q), val in np.ndenumerate(s.numpy()):
        if val == 0.0:
            continue
        d = abs(val - summ)
        assert d > ROW_MARGIN_ABS and d > 0.02 * summ, (case["name"], h, q, val)
        if vis:
            portion = float(a[h, q, vis].sum() / (a[h, q] + 1e-6).sum())
            d = abs(portion - rho)
            assert d > ROW_MARGIN_ABS and d > 0.02 * rho, (case["name"], h, q, portion)


# --------------------------------------------------------------------------- #
# Running their code
# --------------------------------------------------------------------------- #


def run_case(src_dir: Path, case) -> dict:
    logic, stash = load_official(src_dir)
    LogicEngine, DimProspector = logic.LogicEngine, logic.DimProspector
    HeadFork, VARProcessor = logic.HeadFork, logic.VARProcessor
    MetadataStation, ValueMonitor = stash.MetadataStation, stash.ValueMonitor

    params = case["params"]
    L, H, P = case["numLayers"], case["numHeads"], case["promptLength"]
    im, pa = case["imageStart"], case["imageLength"]

    # State their code reads (src/inference.py + llava_arch.py + segment_prompt).
    MetadataStation.activate()
    MetadataStation.export_model_config(types.SimpleNamespace(num_hidden_layers=L, num_attention_heads=H))
    MetadataStation.set_begin_pos("image", im)
    MetadataStation.set_vis_len(pa)
    LogicEngine.activate(tau=params["tau"], rho=params["rhoCode"], summ=params["summ"], p=params["pCode"],
                         except_last_layer=1)
    LogicEngine.dim_sink = torch.tensor(case["sinkDims"])
    assert ValueMonitor.get_output_token_count() == -1
    assert DimProspector.sink_select_layers == list(range(2, L))

    rng = np.random.default_rng(case["seed"])
    layers = sorted(case["layers"])
    assert layers == DimProspector.sink_select_layers
    out_layers = {l: {"layer": l, "steps": []} for l in layers}

    def layer_pass(l, attn, phase, step):
        HeadFork.run_logic(attn, l)
        coord = HeadFork.forked_head[l]
        selected = [] if len(coord) == 0 else coord.tolist()
        output = VARProcessor.attn_redist(attn.clone(), l)
        rec = {"phase": phase}
        if step is not None:
            rec["step"] = step
        rec.update({"attention": tensor_json(attn), "selected": selected, "output": tensor_json(output)})
        out_layers[l]["steps"].append(rec)
        return attn, output, selected

    checks = []
    # ---- prefill: one forward pass over the prompt
    for l in layers:
        spec = case["layers"][l]
        hidden = torch.from_numpy(craft_hidden(rng, case, spec))
        if DimProspector._flag() and ValueMonitor.get_output_token_count() < 0:
            if isinstance(DimProspector.sink_select_layers, list) and l in DimProspector.sink_select_layers:
                DimProspector.run_logic(hidden, layer=l)
        sinks = [int(i) for i in LogicEngine.indices[l].tolist()]
        out_layers[l]["hidden"] = tensor_json(hidden)
        out_layers[l]["sinkIndices"] = sinks
        attn = craft_prefill_attention(rng, case, spec, l, set(sinks))
        check_row_margins(attn, case, sinks)
        checks.append((l, "prefill", sinks) + layer_pass(l, attn, "prefill", None))
    ValueMonitor.count_output_token()

    # ---- decode steps: one new token each; DimProspector is not run
    for step in range(case["decodeSteps"]):
        assert ValueMonitor.get_output_token_count() == step
        for l in layers:
            spec = case["layers"][l]
            sinks = [int(i) for i in LogicEngine.indices[l].tolist()]
            attn = craft_decode_attention(rng, case, spec, l, set(sinks), step)
            check_row_margins(attn, case, sinks)
            checks.append((l, "decode", sinks) + layer_pass(l, attn, "decode", step))
        ValueMonitor.count_output_token()

    stats = cross_check(case, checks)
    rec = {k: case[k] for k in ("name", "params", "numLayers", "numHeads", "hiddenSize", "sinkDims",
                                "imageStart", "imageLength", "promptLength")}
    rec["layers"] = [{"layer": l, "hidden": out_layers[l]["hidden"], "sinkIndices": out_layers[l]["sinkIndices"],
                      "steps": out_layers[l]["steps"]} for l in layers]
    return rec, stats


def cross_check(case, checks):
    """Compare their output with the equations of DESIGN.md section 1 (float64).

    Only a sanity check of this generator's bookkeeping; the fixture holds their
    output. Returns counts for the report.
    """
    im, pa = case["imageStart"], case["imageLength"]
    p_paper = 1.0 - case["params"]["pCode"]
    stats = {"rows": 0, "selected": 0, "selected_filtered": 0, "changed": 0, "unchanged": 0, "max_abs_diff": 0.0}
    for l, phase, sinks, attn, output, selected in checks:
        a = attn.double()[0].numpy()
        o = output.double()[0].numpy()
        Hn, Q, K = a.shape
        sel = {(h, q) for _, h, q in selected}
        S = [k for k in sinks]
        V = [k for k in S if im <= k < im + pa]
        N = [k for k in range(im, im + pa) if k not in V and k < K]
        expect = a.copy()
        for h in range(Hn):
            for q in range(Q):
                stats["rows"] += 1
                if (h, q) not in sel:
                    continue
                stats["selected"] += 1
                eligible = phase == "decode" or q >= im + pa
                if not eligible:
                    stats["selected_filtered"] += 1
                    continue
                row = a[h, q]
                budget = p_paper * row[S].sum()
                nsum = row[N].sum()
                assert nsum > 0, "NaN row in golden data"
                e = row.copy()
                e[S] = (1 - p_paper) * row[S]
                e[N] = row[N] + budget * row[N] / nsum
                expect[h, q] = e
        diff = np.abs(expect - o)
        stats["max_abs_diff"] = max(stats["max_abs_diff"], float(diff.max()))
        assert diff.max() < 1e-6, (case["name"], l, phase, float(diff.max()))
        changed = np.any(a != o, axis=-1)
        stats["changed"] += int(changed.sum())
        stats["unchanged"] += int((~changed).sum())
    return stats


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #


def tensor_json(t: torch.Tensor) -> dict:
    t = t.detach().to(torch.float32).contiguous()
    # float32 -> Python float is exact; repr() of that double round-trips it.
    return {"dims": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def dump(obj, indent=0) -> str:
    """JSON with structure indented and numeric arrays on one line."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dump(v, indent + 2)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in obj) or \
                all(isinstance(v, list) and all(isinstance(x, (int, float)) for x in v) for v in obj):
            return json.dumps(obj, separators=(",", ":"), allow_nan=False)
        return "[\n" + ",\n".join(f"{inner}{dump(v, indent + 2)}" for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def verify(path: Path) -> list[str]:
    doc = json.loads(path.read_text())
    lines = []
    for case in doc["cases"]:
        changed = unchanged = 0
        worst = 0.0
        for layer in case["layers"]:
            for step in layer["steps"]:
                a = np.asarray(step["attention"]["data"], dtype=np.float64).reshape(step["attention"]["dims"])
                o = np.asarray(step["output"]["data"], dtype=np.float64).reshape(step["output"]["dims"])
                assert np.isfinite(o).all()
                for t in (a, o):
                    worst = max(worst, float(np.abs(t.sum(-1) - 1.0).max()))
                c = np.any(a != o, axis=-1)
                changed += int(c.sum())
                unchanged += int((~c).sum())
        assert worst <= 1e-5, (case["name"], worst)
        assert changed > 0 and unchanged > 0, case["name"]
        lines.append(f"{case['name']}: rows changed {changed}, unchanged {unchanged}, max |row sum - 1| {worst:.2e}")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--repo", default=os.environ.get("VISATTNSINK_REPO", DEFAULT_REPO))
    ap.add_argument("--ref", default=os.environ.get("VISATTNSINK_REF", "HEAD"))
    ap.add_argument("--verify-only", action="store_true")
    args = ap.parse_args()

    if not args.verify_only:
        with tempfile.TemporaryDirectory(prefix="visattnsink-") as tmp:
            sha = extract_src(args.repo, args.ref, Path(tmp))
            cases, report = [], []
            for case in CASES:
                rec, stats = run_case(Path(tmp) / "src", case)
                cases.append(rec)
                report.append(f"{case['name']}: {stats}")
        doc = {
            "generator": GENERATOR,
            "source": {"repository": "MICV-yonsei/VisAttnSink", "commit": sha, "file": "src/logic/logic.py"},
            "torch": torch.__version__,
            "cases": cases,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(dump(doc) + "\n")
        print(f"wrote {args.out} ({args.out.stat().st_size} bytes) from {sha}, torch {torch.__version__}")
        for line in report:
            print(line)
    for line in verify(args.out):
        print("verify", line)


if __name__ == "__main__":
    main()

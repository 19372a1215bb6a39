#!/usr/bin/env python3
"""MIRP and radial side by side on the 18 IBSI 2 phase-2 configurations.

A benchmark tool, not a dependency of radial. MIRP (by the IBSI's lead
author) is installed in a scratch virtual environment:

    python3 -m venv /work/venv-mirp && /work/venv-mirp/bin/pip install mirp

Usage:

    # one configuration with MIRP, in this process (what `bench` times):
    /work/venv-mirp/bin/python scripts/mirp_filter_bench.py run 3B

    # every configuration, whole process each, radial and MIRP alternating,
    # timed with /usr/bin/time (elapsed s, peak RSS), RAYON_NUM_THREADS=2:
    /work/venv-mirp/bin/python scripts/mirp_filter_bench.py bench \
        --radial target/release/radial [--data ../shared/data] [--configs 1A,3B]

The MIRP settings follow the IBSI chapter 2 configurations as radial's
`pipelines/ibsi2/phase2/<id>.yaml` state them: A is 2D (slice by slice) on
the original grid; B is 3D after 1 mm tricubic interpolation (mask trilinear,
threshold 0.5, CT intensities rounded); re-segmentation [-1000, 400] HU;
intensity statistics of the response map only. MIRP runs single-process
(its default: no ray cluster).
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [f"{n}{d}" for n in range(1, 10) for d in "AB"]


def filter_settings(config: str) -> dict:
    """MIRP keyword settings of the filter of one configuration."""
    number, dim = int(config[:-1]), config[-1]
    two_d = dim == "A"
    if number == 1:
        return {}
    if number == 2:
        return dict(filter_kernels="mean", mean_filter_kernel_size=5, boundary_condition="mirror")
    if number == 3:
        return dict(
            filter_kernels="laplacian_of_gaussian",
            laplacian_of_gaussian_sigma=1.5,
            laplacian_of_gaussian_kernel_truncate=4.0,
            boundary_condition="mirror",
        )
    if number == 4:
        return dict(
            filter_kernels="laws",
            laws_kernel="L5E5" if two_d else "L5E5E5",
            laws_compute_energy=True,
            laws_delta=7,
            laws_rotation_invariance=True,
            laws_pooling_method="max",
            boundary_condition="mirror",
        )
    if number == 5:
        return dict(
            filter_kernels="gabor",
            gabor_sigma=5.0,
            gabor_lambda=2.0,
            gabor_gamma=1.5,
            gabor_theta=0.0,
            gabor_theta_step=22.5,
            gabor_response="modulus",
            # 3D: the three orthogonal planes, pooled.
            gabor_rotation_invariance=not two_d,
            gabor_pooling_method="mean",
            boundary_condition="mirror",
        )
    if number in (6, 7):
        level = 1 if number == 6 else 2
        subband = {(6, True): "LH", (6, False): "LLH", (7, True): "HH", (7, False): "HHH"}
        return dict(
            filter_kernels="separable_wavelet",
            separable_wavelet_families="db3",
            separable_wavelet_set=subband[(number, two_d)],
            separable_wavelet_decomposition_level=level,
            separable_wavelet_rotation_invariance=True,
            separable_wavelet_pooling_method="mean",
            boundary_condition="mirror",
        )
    if number in (8, 9):
        return dict(
            filter_kernels="nonseparable_wavelet",
            nonseparable_wavelet_families="simoncelli",
            nonseparable_wavelet_decomposition_level=number - 7,
            nonseparable_wavelet_response="real",
            boundary_condition="mirror",
        )
    raise ValueError(config)


def mirp_settings(config: str) -> dict:
    two_d = config.endswith("A")
    kwargs = dict(
        image_modality="CT",
        by_slice=two_d,
        resegmentation_intensity_range=[-1000.0, 400.0],
        base_feature_families="statistics" if config.startswith("1") else "none",
        response_map_feature_families="statistics",
    )
    if not two_d:
        kwargs.update(
            new_spacing=1.0,
            spline_order=3,
            anti_aliasing=False,
            roi_spline_order=1,
            roi_interpolation_mask_inclusion_threshold=0.5,
        )
    kwargs.update(filter_settings(config))
    return kwargs


def run(config: str, data: Path) -> None:
    from mirp import extract_features

    ct = data / "ibsi" / "ct_phantom"
    tables = extract_features(
        image=str(ct / "image.nii.gz"),
        mask=str(ct / "mask.nii.gz"),
        **mirp_settings(config),
    )
    table = tables[0]
    stats = [c for c in table.columns if "stat_mean" in c]
    print(config, "columns:", len(table.columns), "stat_mean:", {c: float(table[c].iloc[0]) for c in stats})


def timed(cmd: list[str], env: dict) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M", "-o", t.name, *cmd],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if proc.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
        elapsed, rss = t.read().split()[-2:]
        return float(elapsed), int(rss)


def bench(args) -> None:
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    # MIRP and its numpy/scipy: the same thread budget.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    ct = args.data / "ibsi" / "ct_phantom"
    configs = args.configs.split(",") if args.configs else CONFIGS
    total_r = total_m = 0.0
    print(f"{'config':<7}{'radial s':>9}{'radial KB':>11}{'MIRP s':>9}{'MIRP KB':>10}{'MIRP/radial':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            radial_cmd = [
                str(args.radial), "extract",
                "--image", str(ct / "image.nii.gz"),
                "--mask", str(ct / "mask.nii.gz"),
                "--settings", str(ROOT / "pipelines" / "ibsi2" / "phase2" / f"{config}.yaml"),
                "--out", str(Path(tmp) / f"{config}.csv"),
            ]
            mirp_cmd = [sys.executable, str(Path(__file__).resolve()), "run", config, "--data", str(args.data)]
            r, r_kb = timed(radial_cmd, env)
            m, m_kb = timed(mirp_cmd, env)
            total_r += r
            total_m += m
            print(f"{config:<7}{r:>9.2f}{r_kb:>11}{m:>9.2f}{m_kb:>10}{m / r:>13.1f}", flush=True)
    print(f"{'total':<7}{total_r:>9.2f}{'':>11}{total_m:>9.2f}{'':>10}{total_m / total_r:>13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    default_data = Path(os.environ.get("RADIAL_DATA_DIR", ROOT.parent / "shared" / "data"))
    p_run = sub.add_parser("run")
    p_run.add_argument("config", choices=CONFIGS)
    p_run.add_argument("--data", type=Path, default=default_data)
    p_bench = sub.add_parser("bench")
    p_bench.add_argument("--radial", type=Path, default=ROOT / "target" / "release" / "radial")
    p_bench.add_argument("--data", type=Path, default=default_data)
    p_bench.add_argument("--configs", default="")
    p_bench.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.command == "run":
        run(args.config, args.data)
    else:
        bench(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The 360° split side by side in one run: vbatch and cv::remap (remap_bench) and PyTorch's
grid_sample (what the 360° pipelines we learn from use), one 8K frame into 8 views of 1920x1080.

    python3 bench/sample/compare_remap.py build/release/bench/remap_bench

PyTorch (Debian's python3-torch) gets the geometry vbatch uses, computed here with numpy, as a
batch of 8 grids over one float32 frame (grid_sample has no u8 path); only grid_sample is timed,
not the u8 -> float conversion the pipelines also pay. Prints output MPix/s per tool and thread
count and each one's ratio to vbatch's best policy.
"""
import json
import math
import subprocess
import sys
import time

SOURCE_W, SOURCE_H, VIEW_W, VIEW_H, CAMERAS = 7680, 3840, 1920, 1080, 8


def view_grid(yaw_deg):
    """grid_sample coordinates (align_corners=False) of a 90° view at pitch 0, vbatch's convention."""
    import numpy as np

    f = 0.5 * VIEW_W / math.tan(math.radians(45))
    xs = (np.arange(VIEW_W) - 0.5 * (VIEW_W - 1)) / f
    ys = -(np.arange(VIEW_H) - 0.5 * (VIEW_H - 1)) / f
    x, y = np.meshgrid(xs, ys)
    z = np.ones_like(x)
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    wx, wz = c * x + s * z, -s * x + c * z
    lon, lat = np.arctan2(wx, wz), np.arctan2(y, np.hypot(wx, wz))
    # Pixel-centre coordinates -> [-1, 1] with align_corners=False: u = (2 px + 1) / W - 1.
    px = (lon / (2 * math.pi) + 0.5) * SOURCE_W - 0.5
    py = (0.5 - lat / math.pi) * SOURCE_H - 0.5
    return np.stack([(2 * px + 1) / SOURCE_W - 1, (2 * py + 1) / SOURCE_H - 1], axis=-1).astype(np.float32)


def torch_rates():
    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"PyTorch not measured: {e} (apt-get install python3-torch)")
        return {}
    grid = torch.from_numpy(np.stack([view_grid(360.0 * k / CAMERAS) for k in range(CAMERAS)]))
    frame = torch.rand(1, 3, SOURCE_H, SOURCE_W).expand(CAMERAS, -1, -1, -1)
    rates = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            with torch.no_grad():
                F.grid_sample(frame, grid, mode="bilinear", padding_mode="border", align_corners=False)
            best = min(best, time.perf_counter() - start)
        rates[threads] = CAMERAS * VIEW_W * VIEW_H / best / 1e6
    print(f"PyTorch {torch.__version__}")
    return rates


def bench_rates(binary):
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_filter=bilinear|opencv",
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    rates = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name, threads = b["run_name"].split("/")[0], int(b["run_name"].split("/")[1])
        rates[(name, threads)] = b["out_MPix/s"]
    return rates


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rates = bench_rates(sys.argv[1])
    for threads, rate in torch_rates().items():
        rates[("torch.grid_sample (float32)", threads)] = rate
    best = {t: rates[("vbatch_e2p<maps::cached_fixed, interp::bilinear>", t)] for t in (1, 2)}
    print(f"{'8K -> 8 x 1920x1080, bilinear':58} {'threads':>7} {'MPix/s':>8} {'vbatch fixed /':>15}")
    for (name, threads), rate in sorted(rates.items(), key=lambda kv: (kv[0][1], -kv[1])):
        print(f"{name:58} {threads:7d} {rate:8.1f} {best[threads] / rate:14.2f}x")


if __name__ == "__main__":
    main()

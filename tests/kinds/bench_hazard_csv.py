"""Local timing check of the hazard kinds' reader on a 1M-site hazard map (not a test: pytest does not collect it).

    .venv/bin/python tests/kinds/bench_hazard_csv.py [sites] [value columns]
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import kinds  # noqa: E402


def engine_like_map(sites: int, ncols: int) -> bytes:
    # Same shape as a real hazard_map-mean_N.csv: %.5f coordinates, %.6E values, CRLF.
    names = [f"SA({0.1 * (k + 1):.1f})-0.002105" for k in range(ncols)]
    meta = "generated_by='OpenQuake engine 3.26.2', start_date='2026-11-27T18:18:03', checksum=1, kind='mean', investigation_time=1.0"
    lines = ["," * (ncols + 1) + f'"{meta}"', ",".join(["lon", "lat"] + names)]
    lines[0] = "#" + lines[0]
    for n in range(sites):
        lon = -180 + (n % 3600) * 0.1
        lat = -80 + (n // 3600) * 0.05
        lines.append(f"{lon:.5f},{lat:.5f}," + ",".join(f"{(n % 997 + k) * 1.1e-4:.6E}" for k in range(ncols)))
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    sites = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    ncols = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    data = engine_like_map(sites, ncols)
    started = time.perf_counter()
    (table,) = kinds.read_export("hazard_map-mean_1.csv", data, max_uncompressed=len(data))
    count = sum(1 for _ in table.rows())
    elapsed = time.perf_counter() - started
    print(f"{count} rows x {ncols} value columns (+lon, lat), {len(data) / 1e6:.0f} MB: {elapsed:.2f} s, "
          f"{count / elapsed / 1e6:.2f} M rows/s")


if __name__ == "__main__":
    main()

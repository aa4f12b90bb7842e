"""The bundled demo data is what its generator writes: scripts/make_demo_data.py rewrites evalsets/ byte for byte."""

from __future__ import annotations

from helpers import ROOT, load_script

EVALSETS = ROOT / "evalsets"


def _first_different_line(a: bytes, b: bytes) -> int:
    pairs = zip(a.splitlines(), b.splitlines(), strict=False)
    return next((n for n, (x, y) in enumerate(pairs, 1) if x != y), min(a.count(b"\n"), b.count(b"\n")) + 1)


def test_the_generator_writes_the_bundled_demo_data_byte_for_byte(tmp_path, capsys):
    generator = load_script("make_demo_data.py")
    assert generator.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()  # its summary table
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(path.name for path in EVALSETS.glob("*.jsonl")) == ["support-logs.jsonl", "support.jsonl"]
    for name in written:
        produced, bundled = (tmp_path / name).read_bytes(), (EVALSETS / name).read_bytes()
        assert produced == bundled, (
            f"evalsets/{name} differs from what scripts/make_demo_data.py writes, from line "
            f"{_first_different_line(produced, bundled)}; change the generator, not the file, and rerun it"
        )

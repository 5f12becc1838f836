import re

import pytest

import keras_miyasawa as km
from keras_miyasawa import cli
from keras_miyasawa import demo


def _figures(printed):
    return [
        float(v)
        for v in re.search(
            r"PSNR noisy / denoised\s+([\d.]+) / ([\d.]+)", printed
        ).groups()
    ]


@pytest.mark.skipif(
    demo.DEFAULT_PRESET not in km.list_presets(),
    reason=f"the bundled preset {demo.DEFAULT_PRESET} is not in models/",
)
def test_demo_runs_on_the_bundled_preset(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--samples", "2"]) == 0
    printed = capsys.readouterr().out
    noisy_psnr, denoised_psnr = _figures(printed)
    assert denoised_psnr > noisy_psnr + 5.0
    sigma_hat, sigma = (
        float(v)
        for v in re.search(
            r"sigma_hat vs true sigma\s+([\d.]+) vs ([\d.]+)", printed
        ).groups()
    )
    assert abs(sigma_hat - sigma) < 0.2 * sigma
    mean_fill, prior = (
        float(v)
        for v in re.search(r"mean fill / prior\s+([\d.]+) / ([\d.]+)", printed).groups()
    )
    assert prior > mean_fill
    for name in ("demo.png", "demo_score.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert not list(tmp_path.glob("*.tmp*"))


def test_demo_bad_sigma_is_one_line(capsys):
    assert cli.main(["demo", "--sigma", "-3"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sigma" in err[0]

from keras_miyasawa import demo


def test_demo_runs_and_reports(tmp_path, capsys):
    demo.main(["--steps", "4", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "PSNR noisy / denoised" in printed
    assert "blind sigma_hat vs true sigma" in printed
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert not list(tmp_path.glob("*.tmp"))

"""The `inferlab` command itself: version, help, and one-line usage errors."""

import pytest

from inferlab import __version__
from inferlab.cli import main


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"inferlab {__version__}"
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("sim", "probe", "runs", "show", "compare", "import", "export", "report"):
        assert command in out


def test_unknown_flag_is_one_line_with_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sim", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --bogus" in err


def test_a_subcommand_loads_only_its_own_module() -> None:
    """`inferlab probe` must not import pandas/plotly through the other commands."""
    import subprocess
    import sys

    code = (
        "import sys; from inferlab.cli import build_parser; build_parser(only='probe'); "
        "print(','.join(m for m in ('pandas', 'plotly', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

"""Every relative link of the README and docs/ points at a file the repository ships: a page written
to an ignored path exists on the machine that wrote it and nowhere else (docs/results/ was ignored
by a `results/` pattern, so the published default-run page never reached git)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(md: Path) -> list[str]:
    targets = [m.group(1).split("#")[0] for m in LINK.finditer(md.read_text())]
    return [t for t in targets if t and not re.match(r"[a-z]+:", t)]


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_links_point_at_files_that_exist():
    missing = [f"{md.relative_to(ROOT)} -> {t}" for md in pages() for t in relative_links(md)
               if not (md.parent / t).exists()]
    assert not missing, missing


@pytest.mark.skipif(not (ROOT / ".git").exists() or not shutil.which("git"), reason="needs a git checkout")
def test_no_linked_file_is_ignored_by_git():
    targets = sorted({str((md.parent / t).resolve().relative_to(ROOT)) for md in pages() for t in relative_links(md)
                      if (md.parent / t).resolve().is_relative_to(ROOT)})
    # git check-ignore prints the paths it ignores (exit 1 when none is)
    out = subprocess.run(["git", "check-ignore", "--no-index", *targets], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "", out.stdout


def test_the_check_sees_a_missing_link(tmp_path):
    md = tmp_path / "page.md"
    md.write_text("[a](there.md) [b](https://example.org) [c](#anchor) [d](here.md#x)")
    (tmp_path / "here.md").write_text("")
    assert relative_links(md) == ["there.md", "here.md"]
    assert [t for t in relative_links(md) if not (md.parent / t).exists()] == ["there.md"]

"""The compiled code's cache follows every compiled source: numba checks a cached function
against its own file only, and the compiled pipeline builds in the DRAM rules of another."""

from pathlib import Path

import sim.memory.compiled
import sim.pipeline_compiled
from sim.compiled_cache import SOURCES, cache_directory

PACKAGE = Path(sim.pipeline_compiled.__file__).parent


def test_every_file_with_compiled_code_is_a_source():
    """Found by reading the package: a file that compiles a function is among the sources."""
    compiling = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                       if "@compiled" in path.read_text())
    assert compiling == sorted(SOURCES)


def test_a_change_to_the_dram_rules_alone_moves_the_pipelines_cache():
    sources = {name: (PACKAGE / name).read_bytes() for name in SOURCES}
    assert cache_directory(sources) == cache_directory()
    changed = dict(sources, **{"memory/compiled.py": sources["memory/compiled.py"] + b"\n"})
    assert cache_directory(changed) != cache_directory(sources)
    assert cache_directory(changed).parent == cache_directory(sources).parent


def test_both_modules_cache_in_that_directory():
    directory = str(cache_directory())
    for function in (sim.pipeline_compiled._run, sim.memory.compiled._serve_rows):
        assert function._cache._cache_path.startswith(directory)


def test_the_base_is_numba_cache_dir_when_given(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert cache_directory().parent == tmp_path

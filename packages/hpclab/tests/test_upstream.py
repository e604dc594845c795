import pytest

from hpclab.common.upstream import UnsupportedVersion, require_version


def test_a_release_line_the_adapter_knows_is_accepted():
    assert require_version("pytest", ("", "8."), "test adapter")


def test_another_release_line_fails_loudly_with_what_to_do():
    with pytest.raises(UnsupportedVersion, match=r"test adapter uses private parts of pytest 0\.0\.x; .* installed"):
        require_version("pytest", ("0.0.",), "test adapter")


def test_a_missing_package_is_named():
    with pytest.raises(UnsupportedVersion, match="needs no-such-package-hpclab"):
        require_version("no-such-package-hpclab", ("1.",), "test adapter")

from hpclab.lab.fs_resources import with_backend_type


def test_osfs_url_from_the_settings_editor_opens_with_pyfilesystem():
    added = {"name": "myproject WORK", "url": "osfs:///cluster/work/demoproj", "type": "fsspec", "auth": "ask"}
    assert with_backend_type(added) == {**added, "type": "pyfs"}


def test_other_urls_keep_their_type_and_the_input_is_not_changed():
    resource = {"name": "bucket", "url": "s3://data", "type": "fsspec"}
    assert with_backend_type(resource) == resource
    assert with_backend_type({"name": "x", "url": "file:///tmp"}) == {"name": "x", "url": "file:///tmp"}
    added = {"url": "osfs:///tmp", "type": "fsspec"}
    with_backend_type(added)
    assert added["type"] == "fsspec"

"""Fetching dataset files: the MXNet repository URL, download with SHA-1 check."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

__all__ = ["check_sha1", "data_dir", "download", "repo_file_url"]

_DEFAULT_REPO = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"


def data_dir() -> str:
    """MXNet's data folder: ``$MXNET_HOME``, else ``~/.mxnet`` (files there are reused)."""
    return os.path.expanduser(os.environ.get("MXNET_HOME", os.path.join("~", ".mxnet")))


def repo_file_url(namespace: str, filename: str) -> str:
    """The URL of a dataset file in ``$MXNET_GLUON_REPO`` (default: MXNet's S3 bucket)."""
    repo = os.environ.get("MXNET_GLUON_REPO", _DEFAULT_REPO)
    if not repo.endswith("/"):
        repo += "/"
    return f"{repo}{namespace}/{filename}"


def check_sha1(path: str, sha1_hash: str) -> bool:
    """Whether the file's SHA-1 is ``sha1_hash``."""
    sha1 = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash


def download(url: str, folder: str, sha1_hash: str | None = None, retries: int = 3) -> str:
    """Download ``url`` into ``folder``; return the file's path.

    The file is written under a temporary name and renamed when complete and
    (if ``sha1_hash`` is given) verified, so an interrupted download leaves
    nothing behind.

    Raises
    ------
    OSError
        When every try fails (the last error is chained), or the SHA-1 differs.
    """
    import urllib.request  # here: it loads the ssl module, which no loader that stays local needs

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, url.rsplit("/", 1)[-1])
    last: Exception | None = None
    for _ in range(max(1, retries)):
        fd, partial = tempfile.mkstemp(dir=folder, prefix=".download-")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as src:
                shutil.copyfileobj(src, out)
            if sha1_hash is not None and not check_sha1(partial, sha1_hash):
                raise OSError(f"{url}: downloaded file's SHA-1 is not {sha1_hash}")
            os.replace(partial, path)
            return path
        except OSError as exc:
            last = exc
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    raise OSError(f"cannot download {url} to {folder}: {last}") from last

#!/usr/bin/env python3
"""Downloads one release file of a PyPI package, pinned by name and SHA-256.

Usage: pypi_fetch.py PACKAGE FILENAME SHA256 DEST_DIR

`pip download` prepares an sdist's metadata before saving it, which for XGBoost builds the
library (minutes); this fetches the file itself from the index pip is configured with
(PIP_INDEX_URL, else pip's default) and verifies its digest.
"""
import hashlib
import json
import os
import ssl
import sys
import urllib.request


def index_url():
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        from pip._internal.models.index import PyPI  # pip's own default index
        url = PyPI.simple_url
    return url.rstrip("/") + "/"


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    package, filename, sha256, dest_dir = sys.argv[1:]
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT"))
    request = urllib.request.Request(
        index_url() + package + "/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, context=context, timeout=180) as response:
        files = json.load(response)["files"]
    matches = [f for f in files if f["filename"] == filename]
    if not matches:
        sys.exit(f"pypi_fetch: {package} has no file {filename}")
    os.makedirs(dest_dir, exist_ok=True)
    partial = os.path.join(dest_dir, filename + ".partial")
    digest = hashlib.sha256()
    with urllib.request.urlopen(matches[0]["url"], context=context, timeout=180) as response, \
            open(partial, "wb") as out:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        os.unlink(partial)
        sys.exit(f"pypi_fetch: {filename} has SHA-256 {digest.hexdigest()}, pinned {sha256}")
    os.replace(partial, os.path.join(dest_dir, filename))


if __name__ == "__main__":
    main()

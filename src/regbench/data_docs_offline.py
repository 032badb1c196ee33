"""Data Docs that open without the internet and call no one.

GX's pages load jQuery, Bootstrap and bootstrap-table from public CDNs (without them the index
is an empty page) and fetch their logo from GX's S3 bucket with the data context's id in the
query string. After each build the pages are pointed at copies shipped with regbench
(data_docs_assets/README.md) and at the logo GX already writes under static/images.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ASSETS = Path(__file__).with_name("data_docs_assets")
LOCAL = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": "bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": "bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker.min.js",
}
# a file:// page may not load a script marked crossorigin (Chromium blocks it as CORS)
VENDOR_TAG = re.compile(r"<(?:script|link)\b[^>]*/vendor/[^>]*>")
CORS_ATTRS = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
REMOTE_LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"']*/logo-long\.png[^\"']*")


def make_offline(docs_dir: Path, changed_since: float | None = None) -> int:
    """Rewrite every page under docs_dir (or those written since `changed_since`, a time.time());
    returns how many pages changed. Safe to run again."""
    vendor = docs_dir / "static" / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    for name in set(LOCAL.values()):
        shutil.copyfile(ASSETS / name, vendor / name)
    changed = 0
    for page in docs_dir.rglob("*.html"):
        if changed_since is not None and page.stat().st_mtime < changed_since - 1:
            continue
        text = page.read_text(encoding="utf-8")
        prefix = Path(os.path.relpath(docs_dir / "static", page.parent)).as_posix()
        new = text
        for url, name in LOCAL.items():
            new = new.replace(url, f"{prefix}/vendor/{name}")
        new = VENDOR_TAG.sub(lambda m: CORS_ATTRS.sub("", m.group(0)), new)
        new = REMOTE_LOGO.sub(f"{prefix}/images/logo-long.png", new)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed

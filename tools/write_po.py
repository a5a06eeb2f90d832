"""Write a Babel .po catalog from a {msgid: translation} dict module.

Usage: python tools/write_po.py translations.py portal/locale/zh/area.po
(The dict is named T.)"""

import runpy
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po


def main(source: str, target: str) -> None:
    table = runpy.run_path(source)["T"]
    catalog = Catalog(locale="zh_Hans_CN", project="tenant-archive", charset="utf-8")
    for msgid, msgstr in table.items():
        catalog.add(msgid, msgstr)
    with open(target, "wb") as fh:
        write_po(fh, catalog, width=0, omit_header=False)


if __name__ == "__main__":
    main(*sys.argv[1:3])

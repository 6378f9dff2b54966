"""Renderers of results: the verdict sentence (``verdict``, en/zh via ``i18n``), PNG charts
(``charts``), ``report.md`` (``markdown``), self-contained ``report.html`` (``html``), ``report.xlsx``
(``xlsx``), and all of them at once for a sweep folder (``report``). Files in, files out.
"""

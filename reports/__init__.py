"""The reflection report as documents: Markdown, self-contained HTML with inline SVG charts, and
JSON for machines, in German (the default) or English. Pure functions of `ReflectionFigures`
(domain/reflection.py); the CLI (`lotse audit report`) and the workflow's activity both use them.
"""

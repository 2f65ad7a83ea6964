"""The report as markdown, as one self-contained HTML page, and as a compact terminal summary.

The three show the same sections and the same cell text (pwm.report.sections); only the markup
differs. HTML embeds its figures as base64 PNG so that the file can be mailed, opened from a
cluster's file browser or shown inline by Snakemake's report viewer; markdown links the PNG
files written next to it.
"""
import base64
from html import escape

import pandas as pd

from pwm.report.page import Report
from pwm.report.sections import Section

# Cells with these words are highlighted in HTML: what needs a reader's attention.
ATTENTION = {"better": "good", "worse": "bad", "failed": "bad", "diverged": "bad", "stale": "warn", "unknown": "warn",
             "collapsed": "bad", "too few seeds": "warn"}
STYLE = """
body { font-family: sans-serif; font-size: 14px; margin: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.good { background: #d8f5d8; } .bad { background: #f8d8d8; } .warn { background: #fff2cc; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
"""


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(_md_cell, table.columns)) + " |"
    rule = "|" + "---|" * len(table.columns)
    rows = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _md_section(section: Section) -> list[str]:
    parts = [f"## {section.title}", *section.notes]
    if section.bullets:
        parts.append("\n".join(f"- {b}" for b in section.bullets))
    if section.table is not None:
        parts.append(markdown_table(section.table) if len(section.table) else "None.")
    parts += [f"![{f.title}](figures/{f.name}.{f.kind})" for f in section.figures]
    return parts


def markdown(report: Report) -> str:
    parts = [f"# {report.title}", report.subtitle]
    for section in report.sections:
        parts += _md_section(section)
    return "\n\n".join(parts) + "\n"


def html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in table.columns)
    rows = []
    for row in table.itertuples(index=False):
        cells = []
        for value in row:
            css = ATTENTION.get(str(value))
            cells.append(f'<td class="{css}">{escape(str(value))}</td>' if css else f"<td>{escape(str(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _html_section(section: Section) -> str:
    parts = [f'<h2 id="{section.key}">{escape(section.title)}</h2>', *(f"<p>{escape(n)}</p>" for n in section.notes)]
    if section.bullets:
        parts.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in section.bullets) + "</ul>")
    if section.table is not None:
        parts.append(html_table(section.table) if len(section.table) else "<p>None.</p>")
    for figure in section.figures:
        data = base64.b64encode(figure.data).decode("ascii")
        parts.append(f'<figure><img src="data:image/{figure.kind};base64,{data}" alt="{escape(figure.title)}">'
                     f"<figcaption>{escape(figure.title)}</figcaption></figure>")
    return f'<section class="{section.key}">{"".join(parts)}</section>'


def html(report: Report) -> str:
    contents = " · ".join(f'<a href="#{s.key}">{escape(s.title)}</a>' for s in report.sections)
    body = "".join(_html_section(s) for s in report.sections)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(report.title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(report.title)}</h1><p>{escape(report.subtitle)}</p>"
            f"<nav>{contents}</nav>{body}</body></html>")


def terminal(report: Report) -> str:
    """The overall table and one line per thing that needs attention."""
    overall = next(s for s in report.sections if s.key == "overall")
    return "\n".join([report.subtitle, overall.table.to_string(index=False), *report.summary])

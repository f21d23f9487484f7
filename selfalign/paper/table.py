"""A table of the paper, rendered as Markdown (paper/*.md) and LaTeX booktabs (paper/*.tex)."""
from __future__ import annotations

from dataclasses import dataclass

DASH = "—"


@dataclass
class Table:
    name: str
    caption: str
    header: list[str]
    rows: list[list]
    note: str = ""

    def cell(self, v) -> str:
        if v is None or v == "":
            return DASH
        if isinstance(v, float):
            return f"{v:.1f}"
        return str(v)   # Measured: "value ± se", "≈" when the paper's figure is within 2 SE

    def markdown(self) -> str:
        lines = [f"**{self.caption}**", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(self.cell(v) for v in r) + " |" for r in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def latex(self) -> str:
        def esc(s: str) -> str:
            for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                         ("—", "---"), ("@", "@"), ("→", r"$\rightarrow$"), ("±", r"$\pm$"), ("≈", r"$\approx$")):
                s = s.replace(a, b)
            return s
        cols = "l" + "r" * (len(self.header) - 1)
        lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{esc(self.caption)}}}", f"\\label{{tab:{self.name}}}",
                 f"\\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(esc(h) for h in self.header) + r" \\", r"\midrule"]
        lines += [" & ".join(esc(self.cell(v)) for v in r) + r" \\" for r in self.rows]
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        return "\n".join(lines) + "\n"

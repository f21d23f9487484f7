"""Markdown code blocks as the official pipeline finds and runs them.

The official parser (src/star_align/utils.py:144-192, ``find_codeblock_indices``) pairs every
```` ``` ```` with the next one whatever the opening fence's tag, so a ```` ```bash ```` block
before the Python one cannot shift the pairing; a tag filter is applied afterwards. The execution
filter (execution_filter.py:134-152) runs *every* block of a completion, each one stripped and, when
it mentions ``input``, cut at its ``if __name__ == "__main__":`` line, joined by a blank line.
"""
from __future__ import annotations

from dataclasses import dataclass

FENCE = "```"


@dataclass(frozen=True)
class Block:
    start: int        # offset of the code (after the tag line, or right after the fence when untagged)
    end: int          # offset of the closing fence
    tag: str          # the opening fence's tag, stripped ("" when untagged)


def find_blocks(text: str) -> list[Block]:
    """Every closed block, in order (utils.py:150-192): the tag is the rest of the opening fence's
    line; an untagged block starts right after the fence (its leading newline is stripped later);
    an unclosed last fence ends the search."""
    blocks: list[Block] = []
    pos = 0
    while (open_at := text.find(FENCE, pos)) != -1:
        after = open_at + len(FENCE)
        eol = text.find("\n", after)
        if eol == -1:                   # no newline after the fence: no tag line (utils.py:165-166)
            eol = after
        tag = text[after:eol].strip()
        start = eol + 1 if tag else after
        end = text.find(FENCE, start)
        if end == -1:
            break
        blocks.append(Block(start, end, tag))
        pos = end + len(FENCE)
    return blocks


def code_blocks(text: str, tag: str | None = None) -> list[str]:
    """The stripped contents of the blocks, optionally only those whose tag is ``tag``
    (case-insensitive, utils.py:144-147, 186)."""
    return [text[b.start:b.end].strip() for b in find_blocks(text)
            if tag is None or b.tag.lower() == tag.lower()]


_MAIN_KEYS = ('if __name__ == "__main__":', "if __name__ == '__main__':")


def runnable_block(code: str) -> str:
    """One block as execution_filter.py:135-149 runs it: stripped; a block that mentions ``input``
    is cut at its first ``if __name__ == "__main__":`` (either quote style, this exact spelling), so a
    main block waiting for stdin cannot block the run."""
    if "input" not in code:
        return code.strip()
    for key in _MAIN_KEYS:
        if (i := code.find(key)) != -1:
            return code[:i].strip()
    return code.strip()


def runnable_code(text: str, blocks: list[Block]) -> str:
    """The program the execution filter builds from ``blocks`` of ``text`` (execution_filter.py:151-152):
    each block made runnable, joined by a blank line."""
    return "\n\n".join(runnable_block(text[b.start:b.end]) for b in blocks)

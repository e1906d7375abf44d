"""Student text on the teacher's screen: always text, never markup.

Streamlit renders Markdown in ``st.markdown``, captions, alerts, toasts, titles, widget labels and help, expander
and popover titles, button labels, radio and segmented-control options and progress text. A response, a name, a
section name, a file name, or a label or stem built from them can hold ``**bold**``, ``:red[...]``, ``$x^2$``,
``[a link](...)`` or ``![an image](http://host/x.png)``; the last makes the teacher's browser fetch that address.
Every such string goes through ``md`` before it is put into any of those places. Tables (``st.dataframe``),
``st.text``/``st.code`` and select-box options show text as it is and need nothing.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:@&=^\"'%?/])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?<=\bmailto)(?=:)|(?<=\bxmpp)(?=:)|(?<=\w)(?=@\w)")
WORD_JOINER = "\u2060"
"""Invisible; put inside ``http://``, ``www.`` and ``a@b`` so the GFM link finder (which runs on the text after
escapes are read) does not turn them into links."""


def md(value: object) -> str:
    """A value as literal text inside Markdown: on one line, every Markdown special character backslash-escaped.

    The escaped text renders exactly as typed (``\\*`` shows ``*``), but nothing in it becomes bold, a colour, a
    formula, a link, an image, an icon, a heading or a list: ``:`` is escaped too, so ``:material/...:`` is not
    an icon, and an invisible word joiner goes inside ``http://``, ``www.`` and ``name@host`` (GitHub-flavoured
    Markdown links bare addresses after reading escapes, so escaping alone does not stop it).

    Args:
        value: any value (None shows as "").

    Returns:
        the escaped text.
    """
    text = "" if value is None else " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, text))
